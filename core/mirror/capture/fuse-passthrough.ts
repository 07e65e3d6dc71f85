// The file system the sync capture's FUSE mount serves: every call is served from the REAL
// directory (the private bind mount) with asynchronous fs calls only — the process serving
// a FUSE mount must never touch that mount itself, or the kernel deadlocks it.
// Mutating calls go through Replicator.perform, which returns after the local call
// succeeded and SECOND acknowledged it (or the op was recorded as dirty while ALONE).
import fs from 'node:fs';
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

export interface Replicator {
  perform<T>(op: MirrorOp, local: () => Promise<T>): Promise<T>;
  /** A change no op can describe was made (see `afterDetached`): compare everything. */
  unknownChange?(): void;
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

function msOf(t: TimeSet | undefined, current: number): number {
  if (t === undefined) return current;
  return t === 'now' ? Date.now() : t.ms;
}

/** Builds the FUSE session's operations over `real_dir`, replicating through `rep`. */
export function passthroughOps(real_dir: string, rep: Replicator): FsOps {
  const real = (path: string): string => realPathOf(real_dir, path);

  /** Files are created by the daemon (root): give them to the caller, as a local file
   *  system would, with a replicated chown when the caller is not root. */
  const ownToCaller = async (path: string, caller: Caller): Promise<void> => {
    if (caller.uid === 0 && caller.gid === 0) return;
    // In a set-group-ID directory the new entry keeps the directory's group (the file
    // system gave it already), as it would for the caller on a local file system.
    const parent = await fs.promises.lstat(real(path.slice(0, path.lastIndexOf('/')) || '/'));
    const gid = parent.mode & S_ISGID ? (await fs.promises.lstat(real(path))).gid : caller.gid;
    await rep.perform({ kind: 'chown', path, uid: caller.uid, gid }, () => fs.promises.lchown(real(path), caller.uid, gid));
  };

  /**
   * After a write, truncate or fsync through a descriptor whose name was removed: if the
   * file still has links, the change is reachable under another name that we cannot tell
   * (hard links are separate nodes), so the next re-integration compares every file.
   */
  const afterDetached = async (fd: number): Promise<void> => {
    const st = await p<fs.Stats>((c) => fs.fstat(fd, c)).catch(() => undefined);
    if (st && st.nlink > 0) rep.unknownChange?.();
  };

  const ops: FsOps = {
    getattr: (path) => fs.promises.lstat(real(path)),
    fgetattr: (fd) => p<fs.Stats>((c) => fs.fstat(fd, c)),
    access: (path, mask) => fs.promises.access(real(path), mask),
    statfs: (path) => fs.promises.statfs(real(path)),
    async readdir(path: string): Promise<DirEntry[]> {
      const list = await fs.promises.readdir(real(path), { withFileTypes: true, encoding: 'buffer' });
      return list.filter((d) => isUtf8(d.name)).map((d) => ({ name: d.name.toString('utf8'), type: direntType(d) }));
    },
    readlink: (path) => fs.promises.readlink(real(path)),

    async setattr(path: string | undefined, fd: number | undefined, change: AttrChange): Promise<void> {
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
        await rep.perform({ kind: 'chmod', path, mode }, () => withHandle(real(path), fs.constants.O_RDONLY, (fh) => fh.chmod(mode)));
      }
      if (change.uid !== undefined || change.gid !== undefined) {
        const st = await fs.promises.lstat(real(path));
        const uid = change.uid ?? st.uid;
        const gid = change.gid ?? st.gid;
        await rep.perform({ kind: 'chown', path, uid, gid }, () => fs.promises.lchown(real(path), uid, gid));
      }
      if (change.size !== undefined) {
        const size = change.size;
        await rep.perform({ kind: 'truncate', path, size }, () =>
          fd !== undefined ? p<void>((c) => fs.ftruncate(fd, size, c)) : withHandle(real(path), fs.constants.O_WRONLY, (fh) => fh.truncate(size)));
      }
      if (change.atime !== undefined || change.mtime !== undefined) {
        const st = await fs.promises.lstat(real(path));
        const atime_ms = msOf(change.atime, st.atimeMs);
        const mtime_ms = msOf(change.mtime, st.mtimeMs);
        await rep.perform({ kind: 'utimens', path, atime_ms, mtime_ms }, () => fs.promises.lutimes(real(path), atime_ms / 1000, mtime_ms / 1000));
      }
    },

    async open(path: string, flags: number): Promise<number> {
      // Opened first: a failed open (EMFILE, EACCES) must not have truncated anything.
      const fd = await p<number>((c) => fs.open(real(path), (flags & ~STRIPPED_OPEN_FLAGS) | NOFOLLOW, c));
      if (flags & fs.constants.O_TRUNC) {
        try {
          await rep.perform({ kind: 'truncate', path, size: 0 }, () => p<void>((c) => fs.ftruncate(fd, 0, c)));
        } catch (e) {
          await p<void>((c) => fs.close(fd, c)).catch(() => undefined);
          throw e;
        }
      }
      return fd;
    },

    async create(path: string, flags: number, mode: number, caller: Caller): Promise<number> {
      const perm = mode & 0o7777;
      // Read-write whatever the caller asked: the kernel may read through this descriptor.
      // O_EXCL always: the kernel asks us to create only a name it found free, so whatever
      // is there now was not made through the mount, and is not ours to open or to chown.
      // fchmod: the daemon's own umask must not narrow the mode the caller's umask gave.
      const fd = await rep.perform({ kind: 'create', path, mode: perm }, async () => {
        const n = await p<number>((c) => fs.open(real(path), fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_RDWR | NOFOLLOW, perm, c));
        await p<void>((c) => fs.fchmod(n, perm, c)).catch(() => undefined);
        return n;
      });
      try {
        await ownToCaller(path, caller);
      } catch (e) {
        await p<void>((c) => fs.close(fd, c)).catch(() => undefined);
        throw e;
      }
      return fd;
    },

    read: (fd, buf, pos) => p<number>((c) => fs.read(fd, buf, 0, buf.length, pos, c)),

    write(path: string | undefined, fd: number, data: Buffer, pos: number): Promise<number> {
      // No copy: the request buffer stays ours until we answer, and the sender answers
      // only after SECOND acknowledged the frame (so the socket is done with the bytes)
      // or the op was turned into a dirty range (which keeps no bytes).
      if (path === undefined) return writeAll(fd, data, pos).then(async (n) => { await afterDetached(fd); return n; });
      return rep.perform({ kind: 'write', path, offset: pos, data }, () => writeAll(fd, data, pos));
    },

    release: (fd) => p<void>((c) => fs.close(fd, c)),

    fsync(path: string | undefined, fd: number, datasync: boolean): Promise<void> {
      const local = (): Promise<void> => p<void>((c) => (datasync ? fs.fdatasync(fd, c) : fs.fsync(fd, c)));
      return path === undefined ? local() : rep.perform({ kind: 'fsync', path }, local);
    },

    async fsyncdir(path: string): Promise<void> {
      const fd = await p<number>((c) => fs.open(real(path), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | NOFOLLOW, c));
      try {
        await p<void>((c) => fs.fsync(fd, c));
      } finally {
        await p<void>((c) => fs.close(fd, c));
      }
    },

    async mknod(path: string, mode: number, _rdev: number, caller: Caller): Promise<void> {
      // Only regular files are replicated; devices, fifos and sockets are refused.
      if ((mode & fs.constants.S_IFMT) !== fs.constants.S_IFREG) refuse('EPERM', 1);
      const perm = mode & 0o7777;
      await rep.perform({ kind: 'create', path, mode: perm }, async () => {
        const fh = await fs.promises.open(real(path), fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY | NOFOLLOW, perm);
        try {
          await fh.chmod(perm);
        } finally {
          await fh.close();
        }
      });
      await ownToCaller(path, caller);
    },

    async mkdir(path: string, mode: number, caller: Caller): Promise<void> {
      await rep.perform({ kind: 'mkdir', path, mode: mode & 0o7777 }, async () => {
        await fs.promises.mkdir(real(path), mode & 0o7777);
        await withHandle(real(path), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY, (fh) => fh.chmod(mode & 0o7777));
      });
      await ownToCaller(path, caller);
    },

    rmdir: (path) => rep.perform({ kind: 'rmdir', path }, () => fs.promises.rmdir(real(path))),
    unlink: (path) => rep.perform({ kind: 'unlink', path }, () => fs.promises.unlink(real(path))),

    async rename(from: string, to: string, flags: number): Promise<void> {
      await rep.perform({ kind: 'rename', from, to }, async () => {
        // RENAME_NOREPLACE (mv -n, renameat2): we are the only writer of the real
        // directory, so checking first is not racy here.
        if (flags !== 0) {
          const exists = await fs.promises.lstat(real(to)).then(() => true, () => false);
          if (exists) refuse('EEXIST', 17);
        }
        await fs.promises.rename(real(from), real(to));
      });
    },

    link: (from, to) => rep.perform({ kind: 'link', from, to }, () => fs.promises.link(real(from), real(to))),

    async symlink(target: string, path: string, caller: Caller): Promise<void> {
      await rep.perform({ kind: 'symlink', target, path }, () => fs.promises.symlink(target, real(path)));
      await ownToCaller(path, caller);
    },
  };
  return ops;
}
