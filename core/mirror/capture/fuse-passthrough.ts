// The FUSE passthrough of the sync capture: every call on the mount is served from the
// REAL directory (the private bind mount) with asynchronous fs calls only — the process
// serving a FUSE mount must never touch that mount itself, or the kernel deadlocks it.
// Mutating calls go through MirrorSender.perform, which returns after the local call
// succeeded and SECOND acknowledged it (or the op was recorded as dirty while ALONE).
import fs from 'node:fs';
import { type MirrorOp } from '../pure/ops';
import { realPathOf } from '../tree-walk';

export interface Replicator {
  perform<T>(op: MirrorOp, local: () => Promise<T>): Promise<T>;
}

type Cb = (code: number, ...rest: unknown[]) => void;

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

function errnoOf(e: unknown): number {
  const n = (e as NodeJS.ErrnoException | undefined)?.errno;
  return typeof n === 'number' && n < 0 ? n : -5; // EIO
}

function p<T>(f: (cb: (err: NodeJS.ErrnoException | null, v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v))));
}

function reply<T>(cb: Cb, work: Promise<T>, map: (v: T) => unknown[] = () => []): void {
  work.then((v) => cb(0, ...map(v)), (e: unknown) => cb(errnoOf(e)));
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

/** Builds the fuse-native operation table over `real_dir`, replicating through `rep`. */
export function passthroughOps(real_dir: string, rep: Replicator): Record<string, (...args: never[]) => void> {
  const real = (path: string): string => realPathOf(real_dir, path);
  const ops = {
    getattr(path: string, cb: Cb) { reply(cb, fs.promises.lstat(real(path)), (st) => [st]); },
    fgetattr(_path: string, fd: number, cb: Cb) { reply(cb, p<fs.Stats>((c) => fs.fstat(fd, c)), (st) => [st]); },
    access(path: string, mode: number, cb: Cb) { reply(cb, fs.promises.access(real(path), mode)); },
    statfs(path: string, cb: Cb) {
      reply(cb, fs.promises.statfs(real(path)), (s) => [{
        bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail,
        files: s.files, ffree: s.ffree, favail: s.ffree, fsid: 0, flag: 0, namemax: 255,
      }]);
    },
    readdir(path: string, cb: Cb) { reply(cb, fs.promises.readdir(real(path)), (names) => [names]); },
    readlink(path: string, cb: Cb) { reply(cb, fs.promises.readlink(real(path)), (t) => [t]); },
    open(path: string, flags: number, cb: Cb) {
      const work = (async () => {
        if (flags & fs.constants.O_TRUNC) {
          await rep.perform({ kind: 'truncate', path, size: 0 }, () => withHandle(real(path), fs.constants.O_WRONLY, (fh) => fh.truncate(0)));
        }
        return p<number>((c) => fs.open(real(path), (flags & ~STRIPPED_OPEN_FLAGS) | NOFOLLOW, c));
      })();
      reply(cb, work, (fd) => [fd]);
    },
    opendir(_path: string, _flags: number, cb: Cb) { cb(0, 0); },
    releasedir(_path: string, _fd: number, cb: Cb) { cb(0); },
    create(path: string, mode: number, cb: Cb) {
      const perm = mode & 0o7777;
      reply(cb, rep.perform({ kind: 'create', path, mode: perm }, () =>
        p<number>((c) => fs.open(real(path), fs.constants.O_CREAT | fs.constants.O_RDWR | NOFOLLOW, perm, c))), (fd) => [fd]);
    },
    read(_path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) {
      fs.read(fd, buf, 0, len, pos, (err, n) => cb(err ? errnoOf(err) : n));
    },
    write(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void) {
      // No copy: the native buffer stays valid until we answer, and the sender answers
      // only after SECOND acknowledged the frame (so the socket is done with the bytes)
      // or the op was turned into a dirty range (which keeps no bytes).
      const data = buf.length === len ? buf : buf.subarray(0, len);
      rep.perform({ kind: 'write', path, offset: pos, data }, () => writeAll(fd, data, pos)).then(
        (n) => cb(n), (e: unknown) => cb(errnoOf(e)));
    },
    release(_path: string, fd: number, cb: Cb) { fs.close(fd, (err) => cb(err ? errnoOf(err) : 0)); },
    flush(_path: string, _fd: number, cb: Cb) { cb(0); },
    fsync(path: string, datasync: number, fd: number, cb: Cb) {
      reply(cb, rep.perform({ kind: 'fsync', path }, () => p<void>((c) => (datasync ? fs.fdatasync(fd, c) : fs.fsync(fd, c)))));
    },
    fsyncdir(_path: string, _datasync: number, _fd: number, cb: Cb) { cb(0); },
    truncate(path: string, size: number, cb: Cb) {
      reply(cb, rep.perform({ kind: 'truncate', path, size }, () => withHandle(real(path), fs.constants.O_WRONLY, (fh) => fh.truncate(size))));
    },
    ftruncate(path: string, fd: number, size: number, cb: Cb) {
      reply(cb, rep.perform({ kind: 'truncate', path, size }, () => p<void>((c) => fs.ftruncate(fd, size, c))));
    },
    utimens(path: string, atime_ms: number, mtime_ms: number, cb: Cb) {
      reply(cb, rep.perform({ kind: 'utimens', path, atime_ms, mtime_ms }, () => fs.promises.lutimes(real(path), atime_ms / 1000, mtime_ms / 1000)));
    },
    chmod(path: string, mode: number, cb: Cb) {
      reply(cb, rep.perform({ kind: 'chmod', path, mode: mode & 0o7777 }, () => withHandle(real(path), fs.constants.O_RDONLY, (fh) => fh.chmod(mode & 0o7777))));
    },
    chown(path: string, uid: number, gid: number, cb: Cb) {
      reply(cb, rep.perform({ kind: 'chown', path, uid, gid }, () => fs.promises.lchown(real(path), uid, gid)));
    },
    mknod(path: string, mode: number, _dev: number, cb: Cb) {
      // Only regular files are replicated; devices, fifos and sockets are refused.
      if ((mode & fs.constants.S_IFMT) !== fs.constants.S_IFREG) { cb(-1); return; }
      const perm = mode & 0o7777;
      reply(cb, rep.perform({ kind: 'create', path, mode: perm }, async () => {
        const fh = await fs.promises.open(real(path), fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, perm);
        await fh.close();
      }));
    },
    mkdir(path: string, mode: number, cb: Cb) {
      reply(cb, rep.perform({ kind: 'mkdir', path, mode: mode & 0o7777 }, () => fs.promises.mkdir(real(path), mode & 0o7777)));
    },
    rmdir(path: string, cb: Cb) { reply(cb, rep.perform({ kind: 'rmdir', path }, () => fs.promises.rmdir(real(path)))); },
    unlink(path: string, cb: Cb) { reply(cb, rep.perform({ kind: 'unlink', path }, () => fs.promises.unlink(real(path)))); },
    rename(from: string, to: string, cb: Cb) {
      reply(cb, rep.perform({ kind: 'rename', from, to }, () => fs.promises.rename(real(from), real(to))));
    },
    link(from: string, to: string, cb: Cb) {
      reply(cb, rep.perform({ kind: 'link', from, to }, () => fs.promises.link(real(from), real(to))));
    },
    symlink(target: string, path: string, cb: Cb) {
      reply(cb, rep.perform({ kind: 'symlink', target, path }, () => fs.promises.symlink(target, real(path))));
    },
  };
  return ops as unknown as Record<string, (...args: never[]) => void>;
}
