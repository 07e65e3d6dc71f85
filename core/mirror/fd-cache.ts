// Open descriptors of the SECOND's copy, by replicated path, so that a stream of writes to
// one file does not reopen it each time. Bounded (LRU); any namespace change under a path
// closes its descriptors because the name may now mean another file. Every open checks the
// path with CopyRoots and never follows a symlink in the last component.
import fs, { type FileHandle } from 'node:fs/promises';
import { type CopyRoots, O_NOFOLLOW } from './copy-roots';

export const MAX_CACHED_FDS = 64;

export class FdCache {
  private readonly open = new Map<string, FileHandle>();

  constructor(private readonly roots: CopyRoots) {}

  /** Opens `path` of the copy (checked, last component not followed). */
  private async openChecked(path: string, flags: number, mode?: number): Promise<FileHandle> {
    return fs.open(await this.roots.resolve(path, `copy ${path}`), flags | O_NOFOLLOW, mode);
  }

  private async get(path: string): Promise<FileHandle> {
    const fh = this.open.get(path);
    if (fh) {
      this.open.delete(path);
      this.open.set(path, fh); // most recently used last
      return fh;
    }
    let opened: FileHandle;
    try {
      opened = await this.openChecked(path, fs.constants.O_WRONLY);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      // The create was lost with a previous connection: the data still belongs there.
      opened = await this.openChecked(path, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o600);
    }
    this.open.set(path, opened);
    if (this.open.size > MAX_CACHED_FDS) {
      const [oldPath, old] = this.open.entries().next().value as [string, FileHandle];
      this.open.delete(oldPath);
      await old.close();
    }
    return opened;
  }

  async write(path: string, data: Uint8Array, offset: number): Promise<void> {
    const fh = await this.get(path);
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
  }

  async truncate(path: string, size: number): Promise<void> {
    const fh = this.open.get(path);
    if (fh) {
      await fh.truncate(size);
      return;
    }
    const tmp = await this.openChecked(path, fs.constants.O_WRONLY);
    try {
      await tmp.truncate(size);
    } finally {
      await tmp.close();
    }
  }

  async sync(path: string): Promise<void> {
    const fh = this.open.get(path);
    if (fh) {
      await fh.datasync();
      return;
    }
    const tmp = await this.openChecked(path, fs.constants.O_RDONLY);
    try {
      await tmp.datasync();
    } finally {
      await tmp.close();
    }
  }

  async flush(_path: string): Promise<void> {
    // Writes go through the page cache, so readers already see them; nothing to do.
  }

  async syncAll(): Promise<void> {
    for (const fh of this.open.values()) await fh.sync();
  }

  async closeUnder(path: string): Promise<void> {
    for (const [p, fh] of [...this.open]) {
      if (p === path || p.startsWith(path + '/')) {
        this.open.delete(p);
        await fh.close();
      }
    }
  }

  async closeAll(): Promise<void> {
    for (const fh of this.open.values()) await fh.close().catch(() => undefined);
    this.open.clear();
  }
}
