// State changes to syslog/journal when present: one datagram per line to /dev/log (RFC 3164
// framing, facility daemon), through the `logger` binary so no native socket code is needed.
// Best effort: a missing /dev/log or logger only costs the line, never the daemon.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

export const DEV_LOG = '/dev/log';
/** Lines waiting for a logger process at once; beyond that lines are dropped and counted. */
export const MAX_SYSLOG_IN_FLIGHT = 16;

export class Syslog {
  private inFlight = 0;
  dropped = 0;

  constructor(
    private readonly tag = 'hakit',
    private readonly dev_log = DEV_LOG,
  ) {}

  present(): boolean {
    try {
      return fs.statSync(this.dev_log).isSocket();
    } catch {
      return false;
    }
  }

  send(line: string, priority: 'daemon.info' | 'daemon.warning' | 'daemon.err' = 'daemon.info'): void {
    if (!this.present()) return;
    if (this.inFlight >= MAX_SYSLOG_IN_FLIGHT) {
      this.dropped++;
      return;
    }
    this.inFlight++;
    const p = spawn('logger', ['-t', this.tag, '-p', priority, '-u', this.dev_log, '--', line], { stdio: 'ignore' });
    let counted = false;
    const done = (): void => {
      if (counted) return;
      counted = true;
      this.inFlight--;
    };
    p.once('error', done);
    p.once('exit', done);
  }
}
