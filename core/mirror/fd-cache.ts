// Open descriptors of the SECOND's copy, by replicated path, so that a stream of writes to
// one file does not reopen it each time. Bounded (LRU); any namespace change under a path
// closes its descriptors because the name may now mean another file. Every open checks the
// path with CopyRoots and never follows a symlink in the last component.
// Opens, writes, truncates and closes are synchronous: the receiver applies one op at a
// time, and a hop through libuv's thread pool (~100 µs on a loaded 2-core node) per call
// bounded small-op workloads; these calls hit the page cache and take µs. Only the syncs
// (fdatasync/fsync: real disk time) go through the pool.
import fs from 'node:fs';
import { type CopyRoots, O_NOFOLLOW } from './copy-roots';

export const MAX_CACHED_FDS = 64;

function p<T>(f: (cb: (err: NodeJS.ErrnoException | null, v?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => f((err, v) => (err ? reject(err) : resolve(v as T))));
}

export class FdCache {
  private readonly open = new Map<string, number>();

  constructor(private readonly roots: CopyRoots) {}

  /** Opens `path` of the copy (checked, last component not followed). */
  private openChecked(path: string, flags: number, mode?: number): number {
    return fs.openSync(this.roots.resolveSync(path, `copy ${path}`), flags | O_NOFOLLOW, mode);
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
    this.open.set(path, opened);
    if (this.open.size > MAX_CACHED_FDS) {
      const [oldPath, old] = this.open.entries().next().value as [string, number];
      this.open.delete(oldPath);
      fs.closeSync(old);
    }
    return opened;
  }

  async write(path: string, data: Uint8Array, offset: number): Promise<void> {
    const fd = this.get(path);
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, offset + done);
  }

  async truncate(path: string, size: number): Promise<void> {
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
      await p<void>((cb) => fs.fdatasync(fd, cb));
      return;
    }
    const tmp = this.openChecked(path, fs.constants.O_RDONLY);
    try {
      await p<void>((cb) => fs.fdatasync(tmp, cb));
    } finally {
      fs.closeSync(tmp);
    }
  }

  async flush(_path: string): Promise<void> {
    // Writes go through the page cache, so readers already see them; nothing to do.
  }

  async syncAll(): Promise<void> {
    for (const fd of [...this.open.values()]) await p<void>((cb) => fs.fsync(fd, cb));
  }

  async closeUnder(path: string): Promise<void> {
    for (const [q, fd] of [...this.open]) {
      if (q === path || q.startsWith(path + '/')) {
        this.open.delete(q);
        fs.closeSync(fd);
      }
    }
  }

  async closeAll(): Promise<void> {
    for (const fd of this.open.values()) { try { fs.closeSync(fd); } catch { /* already gone */ } }
    this.open.clear();
  }
}
