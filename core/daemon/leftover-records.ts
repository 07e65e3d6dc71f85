// The run-dir record of what each module announced last, read back by the next daemon of the
// same boot to adopt a module its dead predecessor left running (core/module/pure/adopt.ts).
// It lives in the run dir (/run/hakit, a tmpfs): a reboot clears it, so a record is only
// ever found after a daemon death on a machine that kept running. A clean stop removes it.
import fs from 'node:fs';
import path from 'node:path';
import type { LogSink } from '../log/sink';
import { MODULE_STATE_NAMES, SUB_STATUSES, type LeftoverState } from '../module/pure/types';
import { keepsCapture } from '../module/pure/adopt';
import { fuseFdKeeper, fuseFdName } from '../mirror/fuse/fd-keeper';
import { listSessions, removeSession, type SessionRecord } from '../mirror/fuse/session-record';
import { abortFuseConnection } from '../mirror/capture/sync-capture';
import { parseMountinfo } from '../mirror/pure/mountinfo';

const RECORD_FOLDER = 'modules';
const RECORD_SUFFIX = '.last-state.json';

export class LeftoverRecords {
  private readonly dir: string;
  private readonly written = new Map<string, string>();

  constructor(run_dir: string, private readonly log: LogSink) {
    this.dir = path.join(run_dir, RECORD_FOLDER);
  }

  private file(module: string): string {
    return path.join(this.dir, `${module}${RECORD_SUFFIX}`);
  }

  /** The record a previous daemon left, or undefined; a malformed record is logged and ignored. */
  read(module: string): LeftoverState | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.file(module), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const j = JSON.parse(text) as { state?: unknown; status?: unknown };
      const state = MODULE_STATE_NAMES.find((s) => s === j.state);
      const status = SUB_STATUSES.find((s) => s === j.status);
      if (state !== undefined && status !== undefined) return this.withCapture(module, { state, status });
    } catch {
      // fall through
    }
    this.log.warn({ module, file: this.file(module) }, 'ignoring a malformed leftover state record');
    return undefined;
  }

  /**
   * Mirror: whether every capture mount the dead daemon recorded for `module` is still
   * mounted and its /dev/fuse descriptor came back from the fd keeper. When the module will
   * not be adopted as serving with them (core/module/pure/adopt.ts keepsCapture), they are
   * aborted now: the application gets ENOTCONN at once, as when nothing was kept, instead of
   * waiting on a mount nobody will serve (docs/adr/0009-fuse-mount-survives-daemon.md).
   */
  private withCapture(module: string, left: LeftoverState): LeftoverState {
    const keeper = fuseFdKeeper();
    if (keeper.state_dir === undefined) return left;
    const sessions = listSessions(keeper.state_dir).filter((s) => s.module === module);
    if (sessions.length === 0) return left;
    const mounted = this.fuseMounts();
    const alive = (s: SessionRecord): boolean => keeper.has(fuseFdName(s.connection)) && mounted.get(s.mountpoint) === s.connection;
    const candidate: LeftoverState = { ...left, capture_kept: sessions.every(alive) };
    if (keepsCapture(candidate)) return candidate;
    for (const s of sessions) {
      // Only a connection still mounted where the record says is ours to abort: connection
      // numbers are global and reused, and another file system (another module, sshfs, a
      // GlusterFS client) may hold this one now.
      if (mounted.get(s.mountpoint) === s.connection) {
        this.log.warn({ module, mountpoint: s.mountpoint, connection: s.connection }, 'capture mount kept by the fd store is not adopted: aborting it');
        void abortFuseConnection(s.connection).catch(() => undefined);
      }
      removeSession(keeper.state_dir, s.connection);
      const fd = keeper.take(fuseFdName(s.connection));
      if (fd !== undefined) try { fs.closeSync(fd); } catch { /* not open */ }
      void keeper.drop(fuseFdName(s.connection)).catch(() => undefined);
    }
    return { ...left, capture_kept: false };
  }

  /** FUSE mount point -> connection number, from this process's mountinfo. */
  private fuseMounts(): Map<string, number> {
    const out = new Map<string, number>();
    try {
      for (const m of parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'))) if (m.fstype.startsWith('fuse')) out.set(m.mountpoint, m.minor);
    } catch {
      // no mountinfo: nothing is mounted that we could serve
    }
    return out;
  }

  /** Records the module's announced state (STOP and settled: no record). Synchronous: it must be there if we die next. */
  record(module: string, state: LeftoverState): void {
    const stopped = state.state === 'STOP' && state.status !== 'Transient';
    const text = stopped ? '' : JSON.stringify(state);
    if (this.written.get(module) === text) return;
    try {
      if (stopped) {
        fs.rmSync(this.file(module), { force: true });
      } else {
        fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        const tmp = `${this.file(module)}.tmp`;
        fs.writeFileSync(tmp, text, { mode: 0o600 });
        fs.renameSync(tmp, this.file(module));
      }
      this.written.set(module, text);
    } catch (e) {
      this.log.warn({ module, err: e instanceof Error ? e.message : String(e) }, 'cannot write the leftover state record');
    }
  }
}
