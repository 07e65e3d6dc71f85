// Capture mode "sync": bind-mount the replicated directory to a private place, then mount
// the FUSE passthrough over the original path so that applications keep their paths while
// every mutating call is replicated before it returns. The mount is served by hakit's own
// FUSE session (../fuse/session.ts), which negotiates requests of up to 1 MiB.
import { execFile } from 'node:child_process';
import { closeSync } from 'node:fs';
import fs from 'node:fs/promises';
import { HakitError } from '../../errors/catalogue';
import path from 'node:path';
import { FuseSession } from '../fuse/session';
import { fuseFdKeeper, fuseFdName } from '../fuse/fd-keeper';
import { listSessions, readSession, recordSession, removeSession } from '../fuse/session-record';
import { reusableMounts } from '../fuse/pure/recovery';
import { passthroughOps, type Replicator } from './fuse-passthrough';
import { CAPTURE_FSNAME, isCaptureFuse, parseMountinfo, staleEngineMounts } from '../pure/mountinfo';

export const UNMOUNT_TIMEOUT_MS = 5000;
/** After the unmount, how long the session's reads may take to see the connection end. */
export const DRAIN_TIMEOUT_MS = 2000;
export const FUSECTL_DIR = '/sys/fs/fuse/connections';

function run(cmd: string, args: string[], timeout_ms = UNMOUNT_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeout_ms }, (err, _out, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve()));
  });
}

/** Kernel FUSE connection number of the FUSE mount at `mountpoint`, from mountinfo (no stat:
 *  a stat of a stuck FUSE mount would hang us too). */
export async function fuseConnectionOf(mountpoint: string): Promise<number | undefined> {
  let found: number | undefined;
  for (const m of parseMountinfo(await fs.readFile('/proc/self/mountinfo', 'utf8'))) {
    if (m.mountpoint === mountpoint && m.fstype.startsWith('fuse') && Number.isInteger(m.minor)) found = m.minor;
  }
  return found;
}

/** Aborts a stuck FUSE connection (every pending request fails with ENOTCONN). */
export async function abortFuseMount(mountpoint: string): Promise<boolean> {
  const conn = await fuseConnectionOf(mountpoint);
  if (conn === undefined) return false;
  await abortFuseConnection(conn);
  return true;
}

/** Writes 1 to the connection's `abort` (mounting fusectl first if needed). */
export async function abortFuseConnection(conn: number): Promise<void> {
  try {
    await fs.access(`${FUSECTL_DIR}/${conn}`);
  } catch {
    await run('mount', ['-t', 'fusectl', 'fusectl', FUSECTL_DIR]).catch(() => undefined);
  }
  await fs.writeFile(`${FUSECTL_DIR}/${conn}/abort`, '1');
}

/**
 * Removes what a crashed engine left mounted on `dirs` and under `real_root` (see
 * pure/mountinfo.ts): FUSE connections are aborted first (a dead server never answers),
 * then each mount is detached lazily, deepest first. Returns the mount points removed.
 */
export async function cleanStaleMounts(dirs: readonly string[], real_root: string): Promise<string[]> {
  const found = staleEngineMounts(parseMountinfo(await fs.readFile('/proc/self/mountinfo', 'utf8')), dirs, real_root);
  // A mount whose connection the fd keeper gave back is served again, not removed (SyncCapture.start).
  const keeper = fuseFdKeeper();
  const sessions = keeper.state_dir === undefined ? [] : listSessions(keeper.state_dir);
  const keep = reusableMounts(found, sessions, (c) => keeper.has(fuseFdName(c)));
  const stale = found.filter((m) => !keep.has(m.mountpoint));
  for (const m of stale) if (isCaptureFuse(m) && Number.isInteger(m.minor)) await abortFuseConnection(m.minor).catch(() => undefined);
  const done: string[] = [];
  for (const m of stale) {
    await run('umount', ['-l', m.mountpoint]).then(() => done.push(m.mountpoint), () => undefined);
  }
  return done;
}

/**
 * Creates a replicated directory that does not exist yet. A directory that is a mount point
 * is left untouched without a stat: it may be a capture mount kept from a dead daemon that
 * nobody serves until SyncCapture.start attaches it (a stat there would wait forever).
 */
export async function ensureCaptureDir(dir: string): Promise<void> {
  const mounted = parseMountinfo(await fs.readFile('/proc/self/mountinfo', 'utf8')).some((m) => m.mountpoint === dir);
  if (!mounted) await fs.mkdir(dir, { recursive: true });
}

export interface SyncCaptureOptions {
  /** The directory applications use (the FUSE mount goes here). */
  readonly dir: string;
  /** Where the real directory is bind-mounted (PRIM's private access path). */
  readonly private_dir: string;
  readonly replicator: Replicator;
  /** Ask for the kernel's writeback cache (`<rfs writeback>`, docs/mirror.md "Writeback cache"). */
  readonly writeback?: boolean;
  /** Told about FUSE-level trouble that is not an application's error (logged). */
  readonly onProblem?: (e: Error) => void;
  /** The module (recorded for the next daemon's adoption); by default from private_dir,
   *  which the engine puts at <state>/mirror/<module>/real/<n>. */
  readonly module?: string;
}

export class SyncCapture {
  private session: FuseSession | undefined;
  private bound = false;
  private record: { close(): void } | undefined;
  /** The mount was taken over from a dead predecessor instead of mounted (for status and tests). */
  recovered = false;

  constructor(readonly opts: SyncCaptureOptions) {}

  /** Largest write request the kernel sends to this mount (1 MiB on kernels with max_pages). */
  get maxWriteBytes(): number | undefined { return this.session?.maxWriteBytes; }

  async start(): Promise<void> {
    const { dir, private_dir } = this.opts;
    if (await this.recover()) return;
    try {
      await fs.mkdir(private_dir, { recursive: true });
      await run('mount', ['--bind', dir, private_dir]);
      this.bound = true;
      await run('mount', ['--make-private', private_dir]).catch(() => undefined);
      const session = await FuseSession.mount({ mountpoint: dir, fsname: CAPTURE_FSNAME, ops: passthroughOps(private_dir, this.opts.replicator), writeback_cache: this.opts.writeback === true });
      this.session = session; // from here on, stop() unmounts it whatever fails next
      session.on('problem', (e) => this.opts.onProblem?.(e));
      session.connection = await fuseConnectionOf(dir);
      await this.keep(session);
    } catch (e) {
      await this.stop().catch(() => undefined);
      throw e instanceof HakitError ? e : new HakitError('HAKIT_E_MIRROR_MOUNT', (e as Error).message, dir);
    }
  }

  /**
   * Unmounts FUSE (lazily, aborting the connection if it hangs) and, unless `keep_bind`, the
   * bind mount. The engine keeps the bind until its sender has stopped: a re-integration
   * pass still reading the real directory would otherwise find its files gone (ENOENT) and
   * take the ranges it had in hand for removed ones.
   */
  async stop(opts: { keep_bind?: boolean } = {}): Promise<void> {
    const { dir } = this.opts;
    const session = this.session;
    this.session = undefined;
    this.record?.close();
    this.record = undefined;
    if (session) {
      // Lazy: the name goes at once; the connection ends when its last user is gone, or
      // when we abort it because a process still holds files open on it.
      await run('umount', ['-l', dir]).catch(() => undefined);
      if (!(await session.drained(DRAIN_TIMEOUT_MS)) && session.connection !== undefined) {
        await abortFuseConnection(session.connection).catch(() => undefined);
        await session.drained(DRAIN_TIMEOUT_MS);
      }
      session.close();
      await this.forget(session);
    }
    if (!opts.keep_bind) await this.unbind();
  }

  private get moduleName(): string {
    return this.opts.module ?? path.basename(path.dirname(path.dirname(this.opts.private_dir)));
  }

  /** Records the session and hands its /dev/fuse descriptor to the fd keeper, so that a
   *  daemon death does not end the mount (docs/adr/0009-fuse-mount-survives-daemon.md). */
  private async keep(session: FuseSession): Promise<void> {
    const keeper = fuseFdKeeper();
    const conn = session.connection;
    if (keeper.state_dir === undefined || conn === undefined) return;
    const problem = (e: Error): void => this.opts.onProblem?.(e);
    try {
      this.record = recordSession(keeper.state_dir, session, { connection: conn, mountpoint: this.opts.dir, private_dir: this.opts.private_dir, module: this.moduleName }, problem);
      await keeper.keep(fuseFdName(conn), session.deviceFd);
    } catch (e) {
      // Serving goes on; only a daemon death would now end the mount, as before.
      problem(new Error(`the mount of ${this.opts.dir} will not outlive this daemon: ${(e as Error).message}`));
    }
  }

  private async forget(session: FuseSession): Promise<void> {
    const keeper = fuseFdKeeper();
    const conn = session.connection;
    if (keeper.state_dir === undefined || conn === undefined) return;
    removeSession(keeper.state_dir, conn);
    await keeper.drop(fuseFdName(conn)).catch(() => undefined);
  }

  /**
   * Serves again the mount a dead predecessor left at `dir` when the fd keeper gave its
   * /dev/fuse descriptor back and its record is whole; false to mount afresh (the stale
   * mount was removed by cleanStaleMounts, or is aborted here).
   */
  private async recover(): Promise<boolean> {
    const keeper = fuseFdKeeper();
    if (keeper.state_dir === undefined) return false;
    const { dir, private_dir } = this.opts;
    const conn = await fuseConnectionOf(dir);
    if (conn === undefined || !keeper.has(fuseFdName(conn))) return false;
    const rec = readSession(keeper.state_dir, conn);
    const fd = keeper.take(fuseFdName(conn));
    if (fd === undefined) return false;
    if (!rec || rec.record.mountpoint !== dir || rec.record.private_dir !== private_dir) {
      // Kept, but no trustworthy node table: end it as a dead mount would have ended.
      this.opts.onProblem?.(new Error(`mount of ${dir} (connection ${conn}) kept without a usable record: aborted`));
      await abortFuseConnection(conn).catch(() => undefined);
      await run('umount', ['-l', dir]).catch(() => undefined);
      try { closeSync(fd); } catch { /* already closed */ }
      removeSession(keeper.state_dir, conn);
      await keeper.drop(fuseFdName(conn)).catch(() => undefined);
      return false;
    }
    const session = FuseSession.attach({ mountpoint: dir, fsname: CAPTURE_FSNAME, ops: passthroughOps(private_dir, this.opts.replicator) }, fd, rec.record.params, rec.nodes);
    session.connection = conn;
    session.on('problem', (e) => this.opts.onProblem?.(e));
    this.session = session;
    this.bound = true;
    this.recovered = true;
    this.record = recordSession(keeper.state_dir, session, { connection: conn, mountpoint: dir, private_dir, module: rec.record.module }, (e) => this.opts.onProblem?.(e));
    return true;
  }

  /** Removes the bind mount of the real directory (after stop({ keep_bind: true })). */
  async unbind(): Promise<void> {
    if (!this.bound) return;
    this.bound = false;
    await run('umount', ['-l', this.opts.private_dir]).catch(() => undefined);
  }
}
