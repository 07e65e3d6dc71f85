// Which files of PRIM's real tree are known to be on disk as they are (pure bookkeeping for
// the capture's fsync). When the capture starts, one syncfs of the real directory's file
// system makes everything durable; from then on every change reaches the real tree through
// the capture, which marks the path dirty here. An fsync of a path no change touched since
// that syncfs, or since its own last completed local sync, has nothing to write: the capture
// skips its local fdatasync (a database's start-up sync of a thousand clean files then costs
// no thread-pool hop and no disk flush per file). Replication is not affected: the fsync op
// still goes to SECOND as the barrier the durability contract promises.
/** Paths tracked one by one; beyond, every fsync runs (until the capture restarts). */
export const MAX_DIRTY_PATHS = 100_000;

export class CleanFiles {
  /** Until the capture's starting syncfs completed, nothing is known to be durable. */
  private baseline = false;
  private readonly dirty = new Map<string, number>();
  private gen = 0;

  /** The starting syncfs completed: unchanged paths are durable from now on. */
  baselineDone(): void { this.baseline = true; }

  /** A change to the content or metadata of `p` (or, for a directory, its entries); '/' for
   *  a change no path names. Past MAX_DIRTY_PATHS everything counts as dirty (bounded memory). */
  touch(p: string): void {
    if (this.dirty.has('/')) return;
    if (p === '/' || this.dirty.size >= MAX_DIRTY_PATHS) {
      this.dirty.clear();
      this.dirty.set('/', ++this.gen);
      return;
    }
    this.dirty.set(p, ++this.gen);
  }

  /** A rename or link: `to` is dirty, and so is everything under it when `from` was a directory. */
  moved(from: string, to: string): void {
    this.touch(to);
    for (const k of [...this.dirty.keys()]) if (k.startsWith(from + '/')) this.touch(to + k.slice(from.length));
  }

  /** True when a local sync of `p` has nothing to make durable. A file's data does not
   *  change when a directory above it is renamed; the rename itself is the directory's to
   *  sync (fsyncdir is never skipped), as on a local file system. */
  isClean(p: string): boolean {
    return this.baseline && !this.dirty.has(p) && !this.dirty.has('/');
  }

  /** The generation a sync of `p` starts at (pass it to `synced`). */
  startSync(p: string): number { return this.dirty.get(p) ?? 0; }

  /** A local sync of `p` that started at `gen` completed: clean unless changed since. */
  synced(p: string, gen: number): void {
    if (this.dirty.get(p) === gen) this.dirty.delete(p);
  }

  get dirtyCount(): number { return this.dirty.size; }
}
