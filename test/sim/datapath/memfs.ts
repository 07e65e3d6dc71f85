// An in-memory file system of one simulated node with page-cache semantics: what a reader
// sees (the page cache) and what survives a power cut (the disk) are kept apart.
//  - File data is durable once its file is fsynced (fdatasync: the data and the size).
//  - Namespace changes (create, unlink, rename, mkdir) are journaled in order, as ext4 does:
//    an fsync (of a file or a directory) commits every earlier one, as ext4's journal commit
//    does; a power cut keeps a prefix of the uncommitted ones.
//  - A power cut keeps, per file with unsynced data, each 4 KiB block either as it was on
//    disk or as it was in the page cache (a torn write), and either size.
//  - `full` makes every call that needs new space fail with ENOSPC (a full disk).
// Paths are '/'-rooted; directories form a plain tree under '/'.
import type { Prng } from '../prng';

export const FS_BLOCK_BYTES = 4096;

export class FsError extends Error {
  constructor(readonly code: 'ENOENT' | 'EEXIST' | 'ENOSPC' | 'EISDIR' | 'ENOTDIR' | 'ENOTEMPTY', what: string) {
    super(`${code}: ${what}`);
  }
}

interface Inode {
  readonly type: 'f' | 'd';
  data: Uint8Array;
  mode: number;
}

/** One change of which names exist, replayable on a names map. */
type NsChange =
  | { readonly kind: 'set'; readonly path: string; readonly ino: number }
  | { readonly kind: 'del'; readonly path: string }
  | { readonly kind: 'move'; readonly from: string; readonly to: string };

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function applyNs(names: Map<string, number>, c: NsChange): void {
  if (c.kind === 'set') names.set(c.path, c.ino);
  else if (c.kind === 'del') names.delete(c.path);
  else {
    const ino = names.get(c.from);
    if (ino === undefined) return;
    names.delete(c.from);
    names.set(c.to, ino);
  }
}

export interface TreeEntry {
  readonly path: string;
  readonly type: 'f' | 'd';
  readonly mode: number;
  readonly data: Uint8Array;
}

export class MemFs {
  /** Page-cache view. */
  private names = new Map<string, number>([['/', 0]]);
  private inodes = new Map<number, Inode>([[0, { type: 'd', data: new Uint8Array(0), mode: 0o755 }]]);
  /** Disk view. */
  private diskNames = new Map<string, number>([['/', 0]]);
  private diskData = new Map<number, Uint8Array>();
  private nsLog: NsChange[] = [];
  private readonly dirty = new Set<number>();
  private nextIno = 1;
  /** Disk-full fault: calls that need space fail with ENOSPC. */
  full = false;
  /** Counters for the figures. */
  fsyncs = 0;
  /** Bumped at every change of the page-cache view / of the disk view (the checker
   *  re-checks only after one). */
  cacheVersion = 0;
  diskVersion = 0;

  private ino(path: string): Inode | undefined {
    const i = this.names.get(path);
    return i === undefined ? undefined : this.inodes.get(i);
  }

  private fileOf(path: string): { id: number; node: Inode } {
    const id = this.names.get(path);
    const node = id === undefined ? undefined : this.inodes.get(id);
    if (id === undefined || !node) throw new FsError('ENOENT', path);
    if (node.type !== 'f') throw new FsError('EISDIR', path);
    return { id, node };
  }

  private needDir(path: string): void {
    const d = this.ino(parentOf(path));
    if (!d) throw new FsError('ENOENT', parentOf(path));
    if (d.type !== 'd') throw new FsError('ENOTDIR', parentOf(path));
  }

  private ns(c: NsChange): void {
    this.cacheVersion++;
    applyNs(this.names, c);
    this.nsLog.push(c);
  }

  /** A copy of the page-cache view alone (the checker applies SECOND's apply queue to it). */
  cacheCopy(): MemFs {
    const c = new MemFs();
    c.names = new Map(this.names);
    c.inodes = new Map([...this.inodes].map(([i, n]) => [i, { ...n, data: n.data.slice() }]));
    c.nextIno = this.nextIno;
    return c;
  }

  exists(path: string): boolean { return this.names.has(path); }
  typeOf(path: string): 'f' | 'd' | undefined { return this.ino(path)?.type; }
  /** Identity of the file a name points to (for the checker; not a replicated property). */
  inoOf(path: string): number | undefined { return this.names.get(path); }

  read(path: string): Uint8Array {
    return this.fileOf(path).node.data;
  }

  size(path: string): number { return this.fileOf(path).node.data.length; }

  create(path: string, mode: number, exclusive = false): void {
    this.needDir(path);
    const cur = this.ino(path);
    if (cur) {
      if (exclusive) throw new FsError('EEXIST', path);
      if (cur.type !== 'f') throw new FsError('EISDIR', path);
      cur.mode = mode;
      return;
    }
    if (this.full) throw new FsError('ENOSPC', path);
    const id = this.nextIno++;
    this.inodes.set(id, { type: 'f', data: new Uint8Array(0), mode });
    this.ns({ kind: 'set', path, ino: id });
  }

  mkdir(path: string, mode: number): void {
    this.needDir(path);
    if (this.names.has(path)) throw new FsError('EEXIST', path);
    if (this.full) throw new FsError('ENOSPC', path);
    const id = this.nextIno++;
    this.inodes.set(id, { type: 'd', data: new Uint8Array(0), mode });
    this.ns({ kind: 'set', path, ino: id });
  }

  /** pwrite; a missing file is created when `create` (the receiver's O_CREAT). */
  write(path: string, offset: number, data: Uint8Array, create = false): void {
    if (create && !this.names.has(path)) this.create(path, 0o600);
    const { id, node } = this.fileOf(path);
    const end = offset + data.length;
    if (this.full && end > node.data.length) throw new FsError('ENOSPC', path);
    if (end > node.data.length) {
      const grown = new Uint8Array(end);
      grown.set(node.data);
      node.data = grown;
    } else {
      node.data = node.data.slice(); // copy on write: the disk view may share the old array
    }
    node.data.set(data, offset);
    this.dirty.add(id);
    this.cacheVersion++;
  }

  truncate(path: string, size: number): void {
    const { id, node } = this.fileOf(path);
    if (this.full && size > node.data.length) throw new FsError('ENOSPC', path);
    const next = new Uint8Array(size);
    next.set(node.data.subarray(0, Math.min(size, node.data.length)));
    node.data = next;
    this.dirty.add(id);
    this.cacheVersion++;
  }

  unlink(path: string): void {
    const n = this.ino(path);
    if (!n) throw new FsError('ENOENT', path);
    if (n.type === 'd') throw new FsError('EISDIR', path);
    this.ns({ kind: 'del', path });
  }

  rmdir(path: string): void {
    const n = this.ino(path);
    if (!n) throw new FsError('ENOENT', path);
    if (n.type !== 'd') throw new FsError('ENOTDIR', path);
    for (const p of this.names.keys()) if (p.startsWith(path + '/')) throw new FsError('ENOTEMPTY', path);
    this.ns({ kind: 'del', path });
  }

  /** Removes a path of any type with everything under it. */
  remove(path: string): void {
    for (const p of [...this.names.keys()].sort().reverse()) if (p === path || p.startsWith(path + '/')) this.ns({ kind: 'del', path: p });
  }

  /** rename(2) of a file over a file or onto a free name (directories are not renamed here). */
  rename(from: string, to: string): void {
    const n = this.ino(from);
    if (!n) throw new FsError('ENOENT', from);
    if (n.type === 'd') throw new FsError('EISDIR', from);
    this.needDir(to);
    const over = this.ino(to);
    if (over && over.type === 'd') throw new FsError('EISDIR', to);
    if (from === to) return;
    this.ns({ kind: 'move', from, to });
  }

  chmod(path: string, mode: number): void {
    const n = this.ino(path);
    if (!n) throw new FsError('ENOENT', path);
    n.mode = mode;
    this.cacheVersion++;
  }

  /** fsync/fdatasync of a file: its data and size are on disk, and (ext4's journal commit)
   *  every earlier namespace change. */
  fsyncFile(path: string): void {
    const { id, node } = this.fileOf(path);
    this.diskData.set(id, node.data);
    this.dirty.delete(id);
    this.fsyncDir();
  }

  /** fsync of a directory: the namespace journal is committed (every earlier change). */
  fsyncDir(): void {
    for (const c of this.nsLog) applyNs(this.diskNames, c);
    this.nsLog = [];
    this.fsyncs++;
    this.diskVersion++;
  }

  /** syncfs: everything. */
  syncAll(): void {
    for (const id of [...this.dirty]) {
      const n = this.inodes.get(id);
      if (n) this.diskData.set(id, n.data);
    }
    this.dirty.clear();
    this.fsyncDir();
  }

  /** A power cut: the page cache is lost; what the disk keeps (see the header) becomes the view. */
  powerCut(rng: Prng): void {
    this.cacheVersion++;
    this.diskVersion++;
    const keep = rng.int(0, this.nsLog.length);
    for (const c of this.nsLog.slice(0, keep)) applyNs(this.diskNames, c);
    this.nsLog = [];
    for (const id of this.dirty) {
      const n = this.inodes.get(id);
      if (!n || n.type !== 'f') continue;
      const old = this.diskData.get(id) ?? new Uint8Array(0);
      const size = rng.chance(0.5) ? old.length : n.data.length;
      const out = new Uint8Array(size);
      for (let b = 0; b < size; b += FS_BLOCK_BYTES) {
        const src = rng.chance(0.5) ? old : n.data;
        const end = Math.min(size, b + FS_BLOCK_BYTES);
        if (b < src.length) out.set(src.subarray(b, Math.min(end, src.length)), b);
      }
      this.diskData.set(id, out);
    }
    this.dirty.clear();
    this.names = new Map(this.diskNames);
    const inodes = new Map<number, Inode>();
    for (const id of new Set(this.names.values())) {
      const was = this.inodes.get(id);
      if (!was) continue;
      inodes.set(id, { type: was.type, data: was.type === 'f' ? (this.diskData.get(id) ?? new Uint8Array(0)) : new Uint8Array(0), mode: was.mode });
    }
    this.inodes = inodes;
  }

  /** The durable view, as a power cut right now would leave it at best (for the checker). */
  diskRead(path: string): Uint8Array | undefined {
    const id = this.diskNames.get(path);
    if (id === undefined) return undefined;
    const n = this.inodes.get(id);
    if (!n || n.type !== 'f') return undefined;
    return this.diskData.get(id) ?? new Uint8Array(0);
  }

  diskPaths(): string[] { return [...this.diskNames.keys()]; }
  paths(): string[] { return [...this.names.keys()]; }

  /** Every entry of the page-cache view, sorted by path. */
  tree(): TreeEntry[] {
    const out: TreeEntry[] = [];
    for (const [path, id] of [...this.names].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      const n = this.inodes.get(id);
      if (n) out.push({ path, type: n.type, mode: n.mode, data: n.data });
    }
    return out;
  }
}
