// The file system the sync capture's FUSE mount serves: every call is served from the REAL
// directory (the private bind mount) with asynchronous fs calls only — the process serving
// a FUSE mount must never touch that mount itself, or the kernel deadlocks it.
// Mutating calls go through the Replicator under the durability contract of docs/mirror.md:
// they return once done locally and queued for SECOND; fsync, fdatasync, O_SYNC/O_DSYNC
// writes, msync, fsyncdir and syncfs return only once SECOND holds every earlier op.
import fs from 'node:fs';
import { syncFileSystem } from '../sync-fs';
import { CleanFiles } from '../pure/clean-files';
import { type MirrorOp } from '../pure/ops';
import { realPathOf } from '../tree-walk';
import { type AttrChange, type Caller, type FsOps, type TimeSet } from '../fuse/ops';
import { DirType, isUtf8, type DirEntry } from '../fuse/pure/protocol';

function direntType(d: fs.Dirent<Buffer>): number {
  if (d.isFile()) return DirType.REG;
  if (d.isDirectory()) return DirType.DIR;
  if (d.isSymbolicLink()) return DirType.LNK;
  if (d.isFIFO()) return DirType.FIFO;
  if (d.isSocket()) return DirType.SOCK;
  if (d.isCharacterDevice()) return DirType.CHR;
  if (d.isBlockDevice()) return DirType.BLK;
  return DirType.UNKNOWN;
}

export type WriteOp = Extract<MirrorOp, { kind: 'write' }>;

export interface Replicator {
  /** `wait: false`: return once the op is queued for SECOND (default: once acknowledged). */
  perform<T>(op: MirrorOp, local: () => Promise<T>, opts?: { wait?: boolean }): Promise<T>;
  /** write(2): see MirrorSender.write (`hold` gets what `data` must outlive). */
  write(op: WriteOp, local: () => Promise<number>, sync: boolean, hold: (until: Promise<void>) => void): Promise<number>;
  /** fsync and its kin: see MirrorSender.sync. */
  sync(path: string, local: () => Promise<void>): Promise<void>;
  /** A change no op can describe was made (see `afterDetached`): compare everything. */
  unknownChange?(): void;
  /** `from` loses its name, `to` names the same file: see MirrorSender.carryPending. */
  carryPending?(from: string, to: string): Promise<void>;
  /** See MirrorSender.hasPending. */
  hasPending?(path: string): boolean;
}

/** Flags the kernel handles itself; passing them to the real open would double-apply them. */
const STRIPPED_OPEN_FLAGS = fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_TRUNC |
  // The application's O_DIRECT is the kernel's business on the mount; on our descriptor it
  // would make every read or write of an unaligned Node buffer fail with EINVAL.
  fs.constants.O_DIRECT;
/**
 * We act by path, as root. The kernel resolves symlinks on the mount itself before it calls
 * us, so the last component we get is never meant to be followed; if it is a symlink now
 * (swapped in since the lookup), following it could reach outside the directory. Every
 * call that names the last component therefore opens it with O_NOFOLLOW (ELOOP otherwise)
 * or uses a call that does not follow (lstat, lchown, lutimes, unlink, rename, ...).
 */
const NOFOLLOW = fs.constants.O_NOFOLLOW;
/** O_SYNC includes O_DSYNC's bit: either makes every write(2) a synchronous one. */
const DSYNC = fs.constants.O_DSYNC;
/** Metadata and namespace ops: queued for SECOND, not awaited (a later fsync covers them). */
const QUEUED = { wait: false } as const;
const S_ISGID = 0o2000;

/** Runs `f` on a descriptor of `file` opened without following a symlink there. */
async function withHandle<T>(file: string, flags: number, f: (fh: fs.promises.FileHandle) => Promise<T>): Promise<T> {
  const fh = await fs.promises.open(file, flags | NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    return await f(fh);
  } finally {
    await fh.close();
  }
}

function p<T>(f: (cb: (err: NodeJS.ErrnoException | null, v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));
}

function refuse(code: string, errno: number): never {
  throw Object.assign(new Error(code), { code, errno: -errno });
}

async function writeAll(fd: number, data: Buffer, pos: number): Promise<number> {
  let done = 0;
  while (done < data.length) {
    const n = await p<number>((cb) => fs.write(fd, data, done, data.length - done, pos + done, cb));
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** fsync of a directory of the real tree (its entries made durable on PRIM's disk). The open
 *  and close are synchronous (page-cache work, see getattr in passthroughOps): only the flush
 *  takes a thread-pool hop, not three. */
async function syncDir(dir: string): Promise<void> {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | NOFOLLOW);
  try {
    await p<void>((c) => fs.fsync(fd, c));
  } finally {
    fs.closeSync(fd);
  }
}

/** Bound of the capture's starting syncfs (see CleanFiles); past it, every fsync runs. */
export const BASELINE_SYNCFS_TIMEOUT_MS = 60_000;

/** Writes up to this size are done with a synchronous pwrite (see getattr in passthroughOps). */
const SYNC_WRITE_MAX_BYTES = 64 * 1024;

/**
 * A file's flush is done at once on the event loop (after its fsync op is on its way to
 * SECOND) when at most this much was written to it since its last flush started: the disk
 * work is that of a small O_DSYNC write, which the capture does on the loop already, and a
 * flush in libuv's pool costs two thread wake-ups more (75-300 µs on a loaded 2-core node,
 * measured under pgbench: the FSYNC request took 650 µs with the hop, 410 µs without). A
 * bigger flush (a checkpoint's data file) stays in the pool: on the loop it would hold every
 * other request of the mount, and the replication link, for as long as the disk takes.
 */
export const SYNC_FLUSH_MAX_BYTES = 64 * 1024;

function writeAllSync(fd: number, data: Buffer, pos: number): number {
  let done = 0;
  while (done < data.length) {
    const n = fs.writeSync(fd, data, done, data.length - done, pos + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

function msOf(t: TimeSet | undefined, current: number): number {
  if (t === undefined) return current;
  return t === 'now' ? Date.now() : t.ms;
}

/** Builds the FUSE session's operations over `real_dir`, replicating through `rep`. */
export function passthroughOps(real_dir: string, rep: Replicator): FsOps {
  const real = (path: string): string => realPathOf(real_dir, path);
  // What is on disk as it is (pure/clean-files.ts): after one syncfs of the real file system
  // (coreutils' `sync -f`; Node has no binding), a path no change touched needs no local
  // fdatasync. Changes are marked from now on, so those made while it runs stay dirty.
  const clean = new CleanFiles();
  void syncFileSystem(real_dir, BASELINE_SYNCFS_TIMEOUT_MS).then((ok) => { if (ok) clean.baselineDone(); });
  // HAKIT_FUSE_POOL_FLUSH=1: every flush in the pool, as before SYNC_FLUSH_MAX_BYTES (kept for comparison).
  const poolFlushes = process.env.HAKIT_FUSE_POOL_FLUSH === '1';

  /** Files are created by the daemon (root): give them to the caller, as a local file
   *  system would, with a replicated chown when the caller is not root. */
  const ownToCaller = async (path: string, caller: Caller): Promise<void> => {
    if (caller.uid === 0 && caller.gid === 0) return;
    // In a set-group-ID directory the new entry keeps the directory's group (the file
    // system gave it already), as it would for the caller on a local file system.
    const parent = await fs.promises.lstat(real(path.slice(0, path.lastIndexOf('/')) || '/'));
    const gid = parent.mode & S_ISGID ? (await fs.promises.lstat(real(path))).gid : caller.gid;
    await rep.perform({ kind: 'chown', path, uid: caller.uid, gid }, () => fs.promises.lchown(real(path), caller.uid, gid), QUEUED);
  };

  /**
   * After a write, truncate or fsync through a descriptor whose name was removed: if the
   * file still has links, the change is reachable under another name that we cannot tell
   * (hard links are separate nodes), so the next re-integration compares every file.
   */
  const afterDetached = async (fd: number): Promise<void> => {
    clean.touch('/');
    const st = await p<fs.Stats>((c) => fs.fstat(fd, c)).catch(() => undefined);
    if (st && st.nlink > 0) rep.unknownChange?.();
  };

  /**
   * `path` is about to lose its name (unlink, renamed over). A write through it that SECOND
   * has yet to get is pending under this name only, and would be dropped with it while the
   * file lives on under another (a hard link). `other`: another name of the file the session
   * has seen; the pending state is carried to it. Without one, a file that still has links
   * we never saw, with something pending: true, the caller then owes a full comparison.
   */
  const keepPendingOf = async (path: string, other: string | undefined): Promise<boolean> => {
    if (!rep.hasPending?.(path)) return false;
    if (other !== undefined) {
      await rep.carryPending?.(path, other);
      return false;
    }
    const st = await fs.promises.lstat(real(path)).catch(() => undefined);
    return st !== undefined && st.isFile() && st.nlink > 1;
  };

  const ops: FsOps = {
    // Attribute reads, opens, small writes and closes are synchronous calls on the REAL
    // directory (never on our mount, so no deadlock): each is page-cache work of a few µs,
    // while a hop through libuv's pool costs ~100 µs on a loaded 2-core node, several per
    // file created (a small-file workload was bound by them). Syncs, reads, big writes and
    // directory listings stay in the pool.
    getattr: async (path) => fs.lstatSync(real(path)),
    fgetattr: async (fd) => fs.fstatSync(fd),
    access: (path, mask) => fs.promises.access(real(path), mask),
    statfs: (path) => fs.promises.statfs(real(path)),
    async readdir(path: string): Promise<DirEntry[]> {
      const list = await fs.promises.readdir(real(path), { withFileTypes: true, encoding: 'buffer' });
      return list.filter((d) => isUtf8(d.name)).map((d) => ({ name: d.name.toString('utf8'), type: direntType(d) }));
    },
    readlink: (path) => fs.promises.readlink(real(path)),

    async setattr(path: string | undefined, fd: number | undefined, change: AttrChange): Promise<void> {
      clean.touch(path ?? '/');
      // Unlinked while open: the change concerns a file SECOND no longer has.
      if (path === undefined) {
        if (fd === undefined) refuse('ENOENT', 2);
        if (change.mode !== undefined) await p<void>((c) => fs.fchmod(fd, change.mode!, c));
        if (change.uid !== undefined || change.gid !== undefined) await p<void>((c) => fs.fchown(fd, change.uid ?? -1, change.gid ?? -1, c));
        if (change.size !== undefined) await p<void>((c) => fs.ftruncate(fd, change.size!, c));
        if (change.atime !== undefined || change.mtime !== undefined) {
          const st = await p<fs.Stats>((c) => fs.fstat(fd, c));
          await p<void>((c) => fs.futimes(fd, msOf(change.atime, st.atimeMs) / 1000, msOf(change.mtime, st.mtimeMs) / 1000, c));
        }
        await afterDetached(fd);
        return;
      }
      if (change.mode !== undefined) {
        const mode = change.mode;
        await rep.perform({ kind: 'chmod', path, mode }, () => withHandle(real(path), fs.constants.O_RDONLY, (fh) => fh.chmod(mode)), QUEUED);
      }
      if (change.uid !== undefined || change.gid !== undefined) {
        const st = fs.lstatSync(real(path));
        const uid = change.uid ?? st.uid;
        const gid = change.gid ?? st.gid;
        await rep.perform({ kind: 'chown', path, uid, gid }, () => fs.promises.lchown(real(path), uid, gid), QUEUED);
      }
      if (change.size !== undefined) {
        const size = change.size;
        await rep.perform({ kind: 'truncate', path, size }, () =>
          fd !== undefined ? p<void>((c) => fs.ftruncate(fd, size, c)) : withHandle(real(path), fs.constants.O_WRONLY, (fh) => fh.truncate(size)), QUEUED);
      }
      if (change.atime !== undefined || change.mtime !== undefined) {
        // Synchronous (page-cache work): with the writeback cache the kernel sends the times
        // it kept before every fsync of a written file, on that fsync's path.
        const st = fs.lstatSync(real(path));
        const atime_ms = msOf(change.atime, st.atimeMs);
        const mtime_ms = msOf(change.mtime, st.mtimeMs);
        await rep.perform({ kind: 'utimens', path, atime_ms, mtime_ms }, async () => fs.lutimesSync(real(path), atime_ms / 1000, mtime_ms / 1000), QUEUED);
      }
    },

    async open(path: string, flags: number): Promise<number> {
      // Opened first: a failed open (EMFILE, EACCES) must not have truncated anything.
      // O_NONBLOCK: a FIFO never blocks us (the open is synchronous, see getattr).
      const fd = fs.openSync(real(path), (flags & ~STRIPPED_OPEN_FLAGS) | NOFOLLOW | fs.constants.O_NONBLOCK);
      if (flags & fs.constants.O_TRUNC) {
        clean.touch(path);
        try {
          await rep.perform({ kind: 'truncate', path, size: 0 }, () => p<void>((c) => fs.ftruncate(fd, 0, c)), QUEUED);
        } catch (e) {
          await p<void>((c) => fs.close(fd, c)).catch(() => undefined);
          throw e;
        }
      }
      return fd;
    },

    async create(path: string, flags: number, mode: number, caller: Caller): Promise<number> {
      const perm = mode & 0o7777;
      clean.touch(path);
      // Read-write whatever the caller asked: the kernel may read through this descriptor.
      // O_EXCL always: the kernel asks us to create only a name it found free, so whatever
      // is there now was not made through the mount, and is not ours to open or to chown.
      // fchmod: the daemon's own umask must not narrow the mode the caller's umask gave.
      const fd = await rep.perform({ kind: 'create', path, mode: perm }, async () => {
        const n = fs.openSync(real(path), fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_RDWR | NOFOLLOW, perm);
        try { fs.fchmodSync(n, perm); } catch { /* the mode stays the umask's */ }
        return n;
      }, QUEUED);
      try {
        await ownToCaller(path, caller);
      } catch (e) {
        await p<void>((c) => fs.close(fd, c)).catch(() => undefined);
        throw e;
      }
      return fd;
    },

    read: (fd, buf, pos) => p<number>((c) => fs.read(fd, buf, 0, buf.length, pos, c)),

    write(path: string | undefined, fd: number, data: Buffer, pos: number, flags: number, hold: (until: Promise<void>) => void): Promise<number> {
      // `data` is the request buffer: the session keeps it until `hold`'s promises settle
      // (SECOND acknowledged the bytes, or they became a dirty range).
      if (path === undefined) return writeAll(fd, data, pos).then(async (n) => { await afterDetached(fd); return n; });
      clean.touch(path, data.length);
      const local = data.length <= SYNC_WRITE_MAX_BYTES ? async (): Promise<number> => writeAllSync(fd, data, pos) : () => writeAll(fd, data, pos);
      return rep.write({ kind: 'write', path, offset: pos, data }, local, (flags & DSYNC) !== 0, hold);
    },

    release: async (fd) => fs.closeSync(fd),

    fsync(path: string | undefined, fd: number, datasync: boolean): Promise<void> {
      const flush = (): Promise<void> => p<void>((c) => (datasync ? fs.fdatasync(fd, c) : fs.fsync(fd, c)));
      if (path === undefined) return flush();
      // What this flush has to write is known from our own count only for a file with one
      // name: one with other names may have been changed through them (links made before the
      // mount are not known here).
      const known = clean.unsyncedBytes(path) <= SYNC_FLUSH_MAX_BYTES && fs.fstatSync(fd).nlink <= 1;
      // Unchanged since it was last on disk: nothing to flush here (SECOND still gets the barrier).
      if (known && clean.isClean(path)) return rep.sync(path, async () => undefined);
      const now = known && !poolFlushes;
      const gen = clean.startSync(path);
      return rep.sync(path, async () => {
        try {
          if (!now) await flush();
          else if (datasync) fs.fdatasyncSync(fd);
          else fs.fsyncSync(fd);
        } catch (e) {
          clean.syncFailed(path);
          throw e;
        }
        clean.synced(path, gen);
      });
    },

    fsyncdir(path: string): Promise<void> {
      return rep.sync(path, () => syncDir(real(path)));
    },

    syncfs(): Promise<void> {
      return rep.sync('/', () => syncDir(real('/')));
    },

    async mknod(path: string, mode: number, _rdev: number, caller: Caller): Promise<void> {
      // Only regular files are replicated; devices, fifos and sockets are refused.
      if ((mode & fs.constants.S_IFMT) !== fs.constants.S_IFREG) refuse('EPERM', 1);
      const perm = mode & 0o7777;
      clean.touch(path);
      await rep.perform({ kind: 'create', path, mode: perm }, async () => {
        const fh = await fs.promises.open(real(path), fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | NOFOLLOW, perm);
        try {
          await fh.chmod(perm);
        } finally {
          await fh.close();
        }
      }, QUEUED);
      await ownToCaller(path, caller);
    },

    async mkdir(path: string, mode: number, caller: Caller): Promise<void> {
      await rep.perform({ kind: 'mkdir', path, mode: mode & 0o7777 }, async () => {
        await fs.promises.mkdir(real(path), mode & 0o7777);
        await withHandle(real(path), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY, (fh) => fh.chmod(mode & 0o7777));
      }, QUEUED);
      await ownToCaller(path, caller);
    },

    rmdir: (path) => rep.perform({ kind: 'rmdir', path }, () => fs.promises.rmdir(real(path)), QUEUED),
    async unlink(path: string, other?: string): Promise<void> {
      const left = await keepPendingOf(path, other);
      await rep.perform({ kind: 'unlink', path }, () => fs.promises.unlink(real(path)), QUEUED);
      if (left) rep.unknownChange?.();
    },

    async rename(from: string, to: string, flags: number, otherOfTo?: string): Promise<void> {
      const left = otherOfTo === from ? false : await keepPendingOf(to, otherOfTo);
      clean.moved(from, to);
      await rep.perform({ kind: 'rename', from, to }, async () => {
        // RENAME_NOREPLACE (mv -n, renameat2): we are the only writer of the real
        // directory, so checking first is not racy here.
        if (flags !== 0) {
          const exists = await fs.promises.lstat(real(to)).then(() => true, () => false);
          if (exists) refuse('EEXIST', 17);
        }
        await fs.promises.rename(real(from), real(to));
      }, QUEUED);
      if (left) rep.unknownChange?.();
    },

    link: (from, to) => { clean.touch(to, Infinity); clean.touch(from); return rep.perform({ kind: 'link', from, to }, () => fs.promises.link(real(from), real(to)), QUEUED); },

    async symlink(target: string, path: string, caller: Caller): Promise<void> {
      await rep.perform({ kind: 'symlink', target, path }, () => fs.promises.symlink(target, real(path)), QUEUED);
      await ownToCaller(path, caller);
    },
  };
  return ops;
}
