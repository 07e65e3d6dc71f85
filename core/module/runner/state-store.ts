// Durable per-module record (PersistedModuleState): written with write + fsync + rename +
// directory fsync, so after a crash the file holds either the old or the new record, whole.
// A record that cannot be read back is set aside and replaced by the initial one, whose
// `copyComplete: false` keeps the node from serving on its own (the safe default).
import fs from 'node:fs';
import path from 'node:path';
import { HakitError } from '../../errors/catalogue';
import type { LogSink } from '../../log/sink';
import { INITIAL_PERSISTED, type PersistedModuleState } from '../pure/types';

export const STATE_RECORD_FORMAT = 1;
/** A state record larger than this is corrupt by definition. */
export const MAX_STATE_RECORD_BYTES = 64 * 1024;

export interface StateStore {
  read(module: string): PersistedModuleState;
  /** Synchronous and durable; throws HAKIT_E_PERSIST when the record cannot be made durable. */
  write(module: string, record: PersistedModuleState): void;
}

const ROLES = new Set(['none', 'ALONE', 'PRIM', 'SECOND']);

function validRecord(r: unknown): r is PersistedModuleState {
  if (typeof r !== 'object' || r === null) return false;
  const o = r as Record<string, unknown>;
  return (
    typeof o['epoch'] === 'number' &&
    Number.isSafeInteger(o['epoch']) &&
    typeof o['copyComplete'] === 'boolean' &&
    typeof o['lastRole'] === 'string' &&
    ROLES.has(o['lastRole']) &&
    typeof o['tookOver'] === 'boolean' &&
    (o['failover'] === null || typeof o['failover'] === 'boolean') &&
    typeof o['boot'] === 'boolean' &&
    typeof o['wasStarted'] === 'boolean' &&
    // Below the largest safe integer: the next session's count (+1) must be one too, or every
    // heartbeat announcing it would be refused by the peers.
    (o['sessions'] === undefined || (typeof o['sessions'] === 'number' && Number.isSafeInteger(o['sessions']) && o['sessions'] >= 0 && o['sessions'] < Number.MAX_SAFE_INTEGER))
  );
}

export class FileStateStore implements StateStore {
  constructor(
    private readonly dir: string,
    private readonly log: LogSink,
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private file(module: string): string {
    return path.join(this.dir, `${module}.state.json`);
  }

  read(module: string): PersistedModuleState {
    const file = this.file(module);
    let text: string;
    try {
      const st = fs.statSync(file);
      if (st.size > MAX_STATE_RECORD_BYTES) throw new Error(`${st.size} bytes`);
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return INITIAL_PERSISTED;
      return this.setAside(module, file, String(e));
    }
    try {
      const parsed = JSON.parse(text) as { format?: unknown; record?: unknown };
      if (parsed.format !== STATE_RECORD_FORMAT || !validRecord(parsed.record)) throw new Error('unexpected shape');
      // A record of an older version has no session count: 0 (INITIAL_PERSISTED's).
      return { ...INITIAL_PERSISTED, ...parsed.record };
    } catch (e) {
      return this.setAside(module, file, e instanceof Error ? e.message : String(e));
    }
  }

  private setAside(module: string, file: string, why: string): PersistedModuleState {
    const aside = `${file}.corrupt-${Date.now()}`;
    try {
      fs.renameSync(file, aside);
    } catch {
      // Leave it; the next write replaces it.
    }
    this.log.error({ code: 'HAKIT_E_STATE_RECORD_UNREADABLE', module, file, aside, why }, 'HAKIT_E_STATE_RECORD_UNREADABLE: module state record unreadable: set aside, starting from the initial record (copy not known complete)');
    return INITIAL_PERSISTED;
  }

  write(module: string, record: PersistedModuleState): void {
    const file = this.file(module);
    const tmp = `${file}.tmp`;
    try {
      const fd = fs.openSync(tmp, 'w', 0o600);
      try {
        fs.writeSync(fd, JSON.stringify({ format: STATE_RECORD_FORMAT, module, record }) + '\n');
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
      const dfd = fs.openSync(this.dir, 'r');
      try {
        fs.fsyncSync(dfd);
      } finally {
        fs.closeSync(dfd);
      }
    } catch (e) {
      throw new HakitError('HAKIT_E_PERSIST', `cannot write ${file}: ${e instanceof Error ? e.message : String(e)}`, `module ${module}`);
    }
  }
}

/** The fake beside StateStore. */
export class MemoryStateStore implements StateStore {
  readonly records = new Map<string, PersistedModuleState>();
  readonly writes: Array<{ module: string; record: PersistedModuleState }> = [];
  failWrites = false;

  read(module: string): PersistedModuleState {
    return this.records.get(module) ?? INITIAL_PERSISTED;
  }

  write(module: string, record: PersistedModuleState): void {
    if (this.failWrites) throw new HakitError('HAKIT_E_PERSIST', 'disk full (fake)', `module ${module}`);
    this.records.set(module, record);
    this.writes.push({ module, record });
  }
}
