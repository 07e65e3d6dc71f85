// The audit log: one JSON line per command that changes something, whoever sent it (the CLI
// through the control socket, the API, a peer node on a user's behalf): who, from where,
// when, what, the result. <log dir>/audit.log, 0600, rotated once at MAX_AUDIT_BYTES to
// audit.log.1. Read by `hakit cmdlog` and GET /api/v1/nodes/NODE/audit.
import fs from 'node:fs';
import path from 'node:path';
import type { AuditRecord } from './contract/pure/types';
import { logLineTail } from './log-tail';

export const AUDIT_FILE = 'audit.log';
export const MAX_AUDIT_BYTES = 16 * 1024 * 1024;
/** Arguments longer than this (JSON) are cut in the record. */
const MAX_ARGS_CHARS = 2048;

export function auditPath(log_dir: string): string {
  return path.join(log_dir, AUDIT_FILE);
}

export class AuditLog {
  constructor(readonly file: string) {}

  append(r: AuditRecord): void {
    let args = r.args;
    if (JSON.stringify(args).length > MAX_ARGS_CHARS) args = { truncated: JSON.stringify(args).slice(0, MAX_ARGS_CHARS) };
    const line = JSON.stringify({ ...r, args }) + '\n';
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o750 });
      try {
        if (fs.statSync(this.file).size > MAX_AUDIT_BYTES) fs.renameSync(this.file, `${this.file}.1`);
      } catch {
        // No file yet.
      }
      fs.appendFileSync(this.file, line, { mode: 0o600 });
    } catch {
      // The audit never stops a command; the daemon log says the API is degraded elsewhere.
    }
  }

  /** The last n records, oldest first. */
  tail(n: number): AuditRecord[] {
    return logLineTail(this.file, n)
      .map((l) => {
        try {
          return JSON.parse(l) as AuditRecord;
        } catch {
          return null;
        }
      })
      .filter((x): x is AuditRecord => x !== null);
  }
}

/** Control-socket commands that change something (the others only read). */
export function isMutatingControl(cmd: string, args: Readonly<Record<string, unknown>>): boolean {
  if (cmd === 'level') return args['level'] !== undefined;
  return ['command', 'resource-set', 'monitor-switch', 'fullsync'].includes(cmd);
}
