// Open descriptors of the SECOND's copy, by replicated path, so that a stream of writes to
// one file does not reopen it each time. Bounded (LRU); any namespace change under a path
// closes its descriptors because the name may now mean another file. Every open checks the
// path with CopyRoots and never follows a symlink in the last component, never blocks (a
// FIFO without a reader would hold the event loop: O_NONBLOCK, which regular files ignore)
// and keeps only a regular file: PRIM replicates no FIFO, socket or device, so one found in
// the copy (left from before the mirror, say) is not written through; a create replaces it.
// Opens, writes, truncates and closes are synchronous: the receiver applies one op at a
// time, and a hop through libuv's thread pool (~100 µs on a loaded 2-core node) per call
// bounded small-op workloads; these calls hit the page cache and take µs. Only the syncs
// (fdatasync/fsync: real disk time, which may stall for seconds) go through the pool, so
// that the daemon's event loop (heartbeats, other modules) never waits for the disk.
import fs from 'node:fs';
import { type CopyRoots, O_NOFOLLOW } from './copy-roots';

export const MAX_CACHED_FDS = 64;

/** The errno-like code of a path that is there but not a regular file. */
export const NOT_REGULAR = 'ENOTREG';

/** Errors of opening a path to sync it that say no file of it is left there to make durable. */
export const GONE_CODES: ReadonlySet<string> = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', NOT_REGULAR]);

function notRegular(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${path} is not a regular file in this copy (a FIFO, socket or device): not written through`), { code: NOT_REGULAR });
}

/** A callback-style fs call as a promise (one thread-pool hop). */
export function viaPool<T>(f: (cb: (err: NodeJS.ErrnoException | null, v?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))));
}

export class FdCache {
  private readonly open = new Map<string, number>();

  constructor(private readonly roots: CopyRoots) {}

  /** Opens `path` of the copy (checked, last component not followed), a regular file only. */
  private openChecked(path: string, flags: number, mode?: number): number {
    const fd = fs.openSync(this.roots.resolveSync(path, `copy ${path}`), flags | O_NOFOLLOW | fs.constants.O_NONBLOCK, mode);
    let regular = false;
    try {
      regular = fs.fstatSync(fd).isFile();
    } finally {
      if (!regular) fs.closeSync(fd);
    }
    if (!regular) throw notRegular(path);
    return fd;
  }

  private get(path: string): number {
    const fd = this.open.get(path);
    if (fd !== undefined) {
      this.open.delete(path);
      this.open.set(path, fd); // most recently used last
      return fd;
    }
    let opened: number;
    try {
      opened = this.openChecked(path, fs.constants.O_WRONLY);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      // The create was lost with a previous connection: the data still belongs there.
      opened = this.openChecked(path, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o600);
    }
    this.keep(path, opened);
    return opened;
  }

  /**
   * Creates `path` (or opens it if it exists) with exactly `mode`, whatever this daemon's
   * umask, and keeps the descriptor: the writes that follow a create (a new file's content)
   * find it open instead of checking the path and opening it again.
   */
  create(path: string, mode: number): void {
    let fd: number;
    try {
      fd = this.openChecked(path, fs.constants.O_CREAT | fs.constants.O_WRONLY, mode);
    } catch (e) {
      // A FIFO or socket (ENXIO without a reader) or a device where PRIM creates a file.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENXIO' && code !== NOT_REGULAR) throw e;
      fs.unlinkSync(this.roots.resolveSync(path, `copy ${path}`));
      fd = this.openChecked(path, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, mode);
    }
    try {
      fs.fchmodSync(fd, mode);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    this.keep(path, fd);
  }

  /** Caches `fd` as the descriptor of `path` (most recently used), closing the one it replaces
   *  and the least recently used beyond MAX_CACHED_FDS. */
  private keep(path: string, fd: number): void {
    const old = this.open.get(path);
    if (old !== undefined) {
      this.open.delete(path);
      fs.closeSync(old);
    }
    this.open.set(path, fd);
    if (this.open.size > MAX_CACHED_FDS) {
      const [oldPath, oldFd] = this.open.entries().next().value as [string, number];
      this.open.delete(oldPath);
      fs.closeSync(oldFd);
    }
  }

  write(path: string, data: Uint8Array, offset: number): void {
    const fd = this.get(path);
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, offset + done);
  }

  /**
   * Consecutive writes to one file, back to back from `offset`, in one pwritev (one syscall
   * instead of one per op). Returns normally when every byte is written; on a failure the
   * error carries `written_bytes`, how many bytes of the run did reach the file.
   */
  writev(path: string, parts: readonly Uint8Array[], offset: number): void {
    const fd = this.get(path);
    let done = 0;
    let bufs: readonly Uint8Array[] = parts;
    let total = 0;
    for (const b of parts) total += b.length;
    while (done < total) {
      let n: number;
      try {
        n = fs.writevSync(fd, bufs as Uint8Array[], offset + done);
      } catch (e) {
        (e as { written_bytes?: number }).written_bytes = done;
        throw e;
      }
      done += n;
      if (done < total) bufs = remainder(parts, done); // a short write (rare): the rest again
    }
  }

  truncate(path: string, size: number): void {
    const fd = this.open.get(path);
    if (fd !== undefined) {
      fs.ftruncateSync(fd, size);
      return;
    }
    const tmp = this.openChecked(path, fs.constants.O_WRONLY);
    try {
      fs.ftruncateSync(tmp, size);
    } finally {
      fs.closeSync(tmp);
    }
  }

  async sync(path: string): Promise<void> {
    const fd = this.open.get(path);
    if (fd !== undefined) {
      await viaPool<void>((cb) => fs.fdatasync(fd, cb));
      return;
    }
    let tmp: number;
    try {
      tmp = this.openChecked(path, fs.constants.O_RDONLY);
    } catch (e) {
      // No such file at this point of the stream: an op before this fsync renamed or removed
      // it (PRIM's syncs of files it has recorded hot name the path they were written under,
      // and the stream is PRIM's history in order). There is nothing of it to make durable;
      // the directories changed since the last fsync are synced beside this call. Likewise
      // when the name is now a symlink (ELOOP), under a file (ENOTDIR) or not a regular file.
      if (GONE_CODES.has((e as NodeJS.ErrnoException).code ?? '')) return;
      throw e;
    }
    try {
      await viaPool<void>((cb) => fs.fdatasync(tmp, cb));
    } finally {
      fs.closeSync(tmp);
    }
  }

  async flush(_path: string): Promise<void> {
    // Writes go through the page cache, so readers already see them; nothing to do.
  }

  /** fsync of every open descriptor, all at once (the pool runs them side by side and the
   *  file system joins them in one journal commit). */
  async syncAll(): Promise<void> {
    await Promise.all([...this.open.values()].map((fd) => viaPool<void>((cb) => fs.fsync(fd, cb))));
  }

  closeUnder(path: string): void {
    for (const [q, fd] of [...this.open]) {
      if (q === path || q.startsWith(path + '/')) {
        this.open.delete(q);
        fs.closeSync(fd);
      }
    }
  }

  closeAll(): void {
    for (const fd of this.open.values()) { try { fs.closeSync(fd); } catch { /* already gone */ } }
    this.open.clear();
  }
}

/** The bytes of `parts` after the first `skip` bytes, as views (no copy). */
function remainder(parts: readonly Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let left = skip;
  for (const b of parts) {
    if (left >= b.length) { left -= b.length; continue; }
    out.push(left > 0 ? b.subarray(left) : b);
    left = 0;
  }
  return out;
}
