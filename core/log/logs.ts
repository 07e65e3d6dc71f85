// hakitd's logs: pino JSON lines, one daemon log and one log per module, in
// /var/log/hakit (HAKIT_LOG_DIR overrides):
//   <dir>/hakitd.log            the daemon (membership, control socket, runners)
//   <dir>/modules/<module>.log  one module: its state changes and its scripts' output
// One level for all of them, changeable at runtime (`hakit level`). Writes are synchronous
// so the last lines before a crash are on disk. Logs may carry secrets (scripts print what
// they like): files are 0640 with the `hakit` group when it exists, else 0600 (file-access.ts).
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { HakitError } from '../errors/catalogue';
import type { LogLevel } from './levels';
import { applySecretAccess, secretAccess } from './file-access';

export const DEFAULT_LOG_DIR = '/var/log/hakit';
export const DAEMON_LOG_FILE = 'hakitd.log';
export const MODULE_LOG_FOLDER = 'modules';
const MODULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function logDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['HAKIT_LOG_DIR'] || DEFAULT_LOG_DIR;
}

export function moduleLogPath(dir: string, module: string): string {
  if (!MODULE_NAME.test(module)) throw new HakitError('HAKIT_E_USAGE', `"${module}" is not a valid module name`, 'module log');
  return path.join(dir, MODULE_LOG_FOLDER, `${module}.log`);
}

export interface LogsOptions {
  readonly dir: string;
  readonly level: LogLevel;
  readonly node: string;
}

export class HakitLogs {
  readonly daemon: pino.Logger;
  private readonly modules = new Map<string, pino.Logger>();
  private readonly destinations: pino.DestinationStream[] = [];
  private current: LogLevel;

  constructor(private readonly opts: LogsOptions) {
    const access = secretAccess();
    fs.mkdirSync(path.join(opts.dir, MODULE_LOG_FOLDER), { recursive: true, mode: access.dir_mode });
    try {
      applySecretAccess(path.join(opts.dir, MODULE_LOG_FOLDER), access, true);
    } catch (e) {
      throw new HakitError('HAKIT_E_LOG_FILE', `cannot restrict access: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, path.join(opts.dir, MODULE_LOG_FOLDER));
    }
    this.current = opts.level;
    this.daemon = this.open(path.join(opts.dir, DAEMON_LOG_FILE), { node: opts.node, src: 'hakitd' });
  }

  private open(file: string, base: Record<string, string>): pino.Logger {
    // Created (or an older file fixed) with the secret access before the first line is written.
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: secretAccess().dir_mode });
      fs.closeSync(fs.openSync(file, 'a', secretAccess().file_mode));
      applySecretAccess(file);
    } catch (e) {
      throw new HakitError('HAKIT_E_LOG_FILE', `cannot create the log with restricted access: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, file);
    }
    const dest = pino.destination({ dest: file, sync: true, mkdir: true });
    this.destinations.push(dest);
    return pino({ level: this.current, base, timestamp: pino.stdTimeFunctions.isoTime }, dest);
  }

  /** The log of one module (created on first use). */
  module(name: string): pino.Logger {
    let l = this.modules.get(name);
    if (!l) {
      l = this.open(moduleLogPath(this.opts.dir, name), { node: this.opts.node, module: name });
      this.modules.set(name, l);
    }
    return l;
  }

  get level(): LogLevel {
    return this.current;
  }

  setLevel(level: LogLevel): void {
    this.current = level;
    this.daemon.level = level;
    for (const l of this.modules.values()) l.level = level;
  }

  /** Flushes and closes every file (daemon shutdown). */
  close(): void {
    for (const d of this.destinations.splice(0)) {
      const s = d as unknown as { flushSync?: () => void; end?: () => void };
      try {
        s.flushSync?.();
      } catch {
        // Nothing buffered (sync mode) or already closed.
      }
      s.end?.();
    }
  }
}
