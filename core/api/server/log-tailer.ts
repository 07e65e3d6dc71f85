// Follows hakitd's log and the module logs while someone listens (log events are many, so
// nobody pays for them unless a console shows them). Each file is read from where it was;
// a truncated or rotated file from its start. Bounded per round in bytes and lines.
import fs from 'node:fs';
import path from 'node:path';
import { DAEMON_LOG_FILE, MODULE_LOG_FOLDER } from '../../log/logs';
import type { LogLine } from '../contract/pure/types';
import { logLine } from '../pure/map';

export const LOG_POLL_MS = 250;
export const LOG_READ_MAX_BYTES = 1024 * 1024;
export const LOG_LINES_PER_ROUND_MAX = 2_000;

export class LogTailer {
  private timer: NodeJS.Timeout | undefined;
  private readonly pos = new Map<string, number>();
  private readonly partial = new Map<string, string>();

  constructor(
    private readonly log_dir: string,
    private readonly node: string,
    private readonly emit: (l: LogLine) => void,
  ) {}

  private files(): string[] {
    const out = [path.join(this.log_dir, DAEMON_LOG_FILE)];
    try {
      for (const f of fs.readdirSync(path.join(this.log_dir, MODULE_LOG_FOLDER))) if (f.endsWith('.log')) out.push(path.join(this.log_dir, MODULE_LOG_FOLDER, f));
    } catch {
      // No module log yet.
    }
    return out;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer) return;
    // New listeners see what comes from now on (the logs routes give the past).
    for (const f of this.files()) this.pos.set(f, this.size(f));
    this.timer = setInterval(() => this.round(), LOG_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.pos.clear();
    this.partial.clear();
  }

  private size(f: string): number {
    try {
      return fs.statSync(f).size;
    } catch {
      return 0;
    }
  }

  round(): void {
    let budget = LOG_LINES_PER_ROUND_MAX;
    for (const f of this.files()) {
      const size = this.size(f);
      let at = this.pos.get(f) ?? 0;
      if (size < at) at = 0;
      if (size === at) continue;
      const len = Math.min(size - at, LOG_READ_MAX_BYTES);
      const buf = Buffer.alloc(len);
      try {
        const fd = fs.openSync(f, 'r');
        try {
          fs.readSync(fd, buf, 0, len, at);
        } finally {
          fs.closeSync(fd);
        }
      } catch {
        continue;
      }
      this.pos.set(f, at + len);
      const lines = ((this.partial.get(f) ?? '') + buf.toString('utf8')).split('\n');
      this.partial.set(f, (lines.pop() ?? '').slice(-LOG_READ_MAX_BYTES));
      for (const t of lines) {
        if (budget-- <= 0) return;
        const l = logLine(t, this.node);
        if (l) this.emit(l);
      }
    }
  }
}
