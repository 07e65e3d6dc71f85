// Capture mode "sync": bind-mount the replicated directory to a private place, then mount
// the FUSE passthrough over the original path so that applications keep their paths while
// every mutating call is replicated before it returns. The mount is served by hakit's own
// FUSE session (../fuse/session.ts), which negotiates requests of up to 1 MiB.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { HakitError } from '../../errors/catalogue';
import { FuseSession } from '../fuse/session';
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
  const stale = staleEngineMounts(parseMountinfo(await fs.readFile('/proc/self/mountinfo', 'utf8')), dirs, real_root);
  for (const m of stale) if (isCaptureFuse(m) && Number.isInteger(m.minor)) await abortFuseConnection(m.minor).catch(() => undefined);
  const done: string[] = [];
  for (const m of stale) {
    await run('umount', ['-l', m.mountpoint]).then(() => done.push(m.mountpoint), () => undefined);
  }
  return done;
}

export interface SyncCaptureOptions {
  /** The directory applications use (the FUSE mount goes here). */
  readonly dir: string;
  /** Where the real directory is bind-mounted (PRIM's private access path). */
  readonly private_dir: string;
  readonly replicator: Replicator;
  /** Told about FUSE-level trouble that is not an application's error (logged). */
  readonly onProblem?: (e: Error) => void;
}

export class SyncCapture {
  private session: FuseSession | undefined;
  private bound = false;

  constructor(readonly opts: SyncCaptureOptions) {}

  /** Largest write request the kernel sends to this mount (1 MiB on kernels with max_pages). */
  get maxWriteBytes(): number | undefined { return this.session?.maxWriteBytes; }

  async start(): Promise<void> {
    const { dir, private_dir } = this.opts;
    try {
      await fs.mkdir(private_dir, { recursive: true });
      await run('mount', ['--bind', dir, private_dir]);
      this.bound = true;
      await run('mount', ['--make-private', private_dir]).catch(() => undefined);
      const session = await FuseSession.mount({ mountpoint: dir, fsname: CAPTURE_FSNAME, ops: passthroughOps(private_dir, this.opts.replicator) });
      this.session = session; // from here on, stop() unmounts it whatever fails next
      session.on('problem', (e) => this.opts.onProblem?.(e));
      session.connection = await fuseConnectionOf(dir);
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
    if (session) {
      // Lazy: the name goes at once; the connection ends when its last user is gone, or
      // when we abort it because a process still holds files open on it.
      await run('umount', ['-l', dir]).catch(() => undefined);
      if (!(await session.drained(DRAIN_TIMEOUT_MS)) && session.connection !== undefined) {
        await abortFuseConnection(session.connection).catch(() => undefined);
        await session.drained(DRAIN_TIMEOUT_MS);
      }
      session.close();
    }
    if (!opts.keep_bind) await this.unbind();
  }

  /** Removes the bind mount of the real directory (after stop({ keep_bind: true })). */
  async unbind(): Promise<void> {
    if (!this.bound) return;
    this.bound = false;
    await run('umount', ['-l', this.opts.private_dir]).catch(() => undefined);
  }
}
