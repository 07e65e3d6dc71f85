// The file system the sync capture's FUSE mount serves: every call is served from the REAL
// directory (the private bind mount) with asynchronous fs calls only — the process serving
// a FUSE mount must never touch that mount itself, or the kernel deadlocks it.
// Mutating calls go through Replicator.perform, which returns after the local call
// succeeded and SECOND acknowledged it (or the op was recorded as dirty while ALONE).
import fs from 'node:fs';
import { type MirrorOp } from '../pure/ops';
import { realPathOf } from '../tree-walk';
import { type AttrChange, type Caller, type FsOps, type TimeSet } from '../fuse/ops';

export interface Replicator {
  perform<T>(op: MirrorOp, local: () => Promise<T>): Promise<T>;
}

/** Flags the kernel handles itself; passing them to the real open would double-apply them. */
const STRIPPED_OPEN_FLAGS = fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_TRUNC;
/**
 * We act by path, as root. The kernel resolves symlinks on the mount itself before it calls
 * us, so the last component we get is never meant to be followed; if it is a symlink now
 * (swapped in since the lookup), following it could reach outside the directory. Every
 * call that names the last component therefore opens it with O_NOFOLLOW (ELOOP otherwise)
 * or uses a call that does not follow (lstat, lchown, lutimes, unlink, rename, ...).
 */
const NOFOLLOW = fs.constants.O_NOFOLLOW;

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
    await rep.perform({ kind: 'chown', path, uid: caller.uid, gid: caller.gid }, () => fs.promises.lchown(real(path), caller.uid, caller.gid));
  };

  const ops: FsOps = {
    getattr: (path) => fs.promises.lstat(real(path)),
    fgetattr: (fd) => p<fs.Stats>((c) => fs.fstat(fd, c)),
    access: (path, mask) => fs.promises.access(real(path), mask),
    statfs: (path) => fs.promises.statfs(real(path)),
    readdir: (path) => fs.promises.readdir(real(path), { withFileTypes: true }),
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
      if (flags & fs.constants.O_TRUNC) {
        await rep.perform({ kind: 'truncate', path, size: 0 }, () => withHandle(real(path), fs.constants.O_WRONLY, (fh) => fh.truncate(0)));
      }
      return p<number>((c) => fs.open(real(path), (flags & ~STRIPPED_OPEN_FLAGS) | NOFOLLOW, c));
    },

    async create(path: string, flags: number, mode: number, caller: Caller): Promise<number> {
      const perm = mode & 0o7777;
      // Read-write whatever the caller asked: the kernel may read through this descriptor.
      const fd = await rep.perform({ kind: 'create', path, mode: perm }, () =>
        p<number>((c) => fs.open(real(path), fs.constants.O_CREAT | (flags & fs.constants.O_EXCL) | fs.constants.O_RDWR | NOFOLLOW, perm, c)));
      await ownToCaller(path, caller);
      return fd;
    },

    read: (fd, buf, pos) => p<number>((c) => fs.read(fd, buf, 0, buf.length, pos, c)),

    write(path: string | undefined, fd: number, data: Buffer, pos: number): Promise<number> {
      // No copy: the request buffer stays ours until we answer, and the sender answers
      // only after SECOND acknowledged the frame (so the socket is done with the bytes)
      // or the op was turned into a dirty range (which keeps no bytes).
      if (path === undefined) return writeAll(fd, data, pos); // unlinked while open: nothing to replicate
      return rep.perform({ kind: 'write', path, offset: pos, data }, () => writeAll(fd, data, pos));
    },

    release: (fd) => p<void>((c) => fs.close(fd, c)),

    fsync(path: string | undefined, fd: number, datasync: boolean): Promise<void> {
      const local = (): Promise<void> => p<void>((c) => (datasync ? fs.fdatasync(fd, c) : fs.fsync(fd, c)));
      return path === undefined ? local() : rep.perform({ kind: 'fsync', path }, local);
    },

    async mknod(path: string, mode: number, _rdev: number, caller: Caller): Promise<void> {
      // Only regular files are replicated; devices, fifos and sockets are refused.
      if ((mode & fs.constants.S_IFMT) !== fs.constants.S_IFREG) refuse('EPERM', 1);
      const perm = mode & 0o7777;
      await rep.perform({ kind: 'create', path, mode: perm }, async () => {
        const fh = await fs.promises.open(real(path), fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, perm);
        await fh.close();
      });
      await ownToCaller(path, caller);
    },

    async mkdir(path: string, mode: number, caller: Caller): Promise<void> {
      await rep.perform({ kind: 'mkdir', path, mode: mode & 0o7777 }, () => fs.promises.mkdir(real(path), mode & 0o7777));
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
