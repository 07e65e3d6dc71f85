// Which files of PRIM's real tree are known to be on disk as they are (pure bookkeeping for
// the capture's fsync). When the capture starts, one syncfs of the real directory's file
// system makes everything durable; from then on every change reaches the real tree through
// the capture, which marks the path dirty here. An fsync of a path no change touched since
// that syncfs, or since its own last completed local sync, has nothing to write: the capture
// skips its local fdatasync (a database's start-up sync of a thousand clean files then costs
// no thread-pool hop and no disk flush per file). Replication is not affected: the fsync op
// still goes to SECOND as the barrier the durability contract promises.
// It also counts the bytes written to each dirty path since its last local sync started, so
// that the capture can tell a small flush (run at once on the event loop) from one that may
// take long (run in the thread pool).
/** Paths tracked one by one; beyond, every fsync runs (until the capture restarts). */
export const MAX_DIRTY_PATHS = 100_000;

/** A dirty path: the generation of its last change, and the bytes written to it since its
 *  last local sync started (Infinity: unknown). */
interface Dirty { readonly gen: number; readonly bytes: number }

export class CleanFiles {
  /** Until the capture's starting syncfs completed, nothing is known to be durable. */
  private baseline = false;
  private readonly dirty = new Map<string, Dirty>();
  private gen = 0;

  /** The starting syncfs completed: unchanged paths are durable from now on. */
  baselineDone(): void { this.baseline = true; }

  /** A change to the content or metadata of `p` (or, for a directory, its entries); '/' for
   *  a change no path names. `bytes`: how much content it wrote (0: metadata or entries only,
   *  whose flush is one journal commit). Past MAX_DIRTY_PATHS everything counts as dirty
   *  (bounded memory). */
  touch(p: string, bytes = 0): void {
    if (this.dirty.has('/')) return;
    if (p === '/' || this.dirty.size >= MAX_DIRTY_PATHS) {
      this.dirty.clear();
      this.dirty.set('/', { gen: ++this.gen, bytes: Infinity });
      return;
    }
    this.dirty.set(p, { gen: ++this.gen, bytes: (this.dirty.get(p)?.bytes ?? 0) + bytes });
  }

  /** A rename or link: `to` is dirty, and so is everything under it when `from` was a
   *  directory; how much of their content is unsynced is not followed across names. */
  moved(from: string, to: string): void {
    this.touch(to, Infinity);
    for (const k of [...this.dirty.keys()]) if (k.startsWith(from + '/')) this.touch(to + k.slice(from.length), Infinity);
  }

  /** True when a local sync of `p` has nothing to make durable. A file's data does not
   *  change when a directory above it is renamed; the rename itself is the directory's to
   *  sync (fsyncdir is never skipped), as on a local file system. */
  isClean(p: string): boolean {
    return this.baseline && !this.dirty.has(p) && !this.dirty.has('/');
  }

  /** Bytes written to `p` since its last local sync started, as far as known here
   *  (Infinity: unknown, e.g. before the starting syncfs completed). 0 for a clean path; a
   *  path with other names may still have been written through them. */
  unsyncedBytes(p: string): number {
    if (!this.baseline || this.dirty.has('/')) return Infinity;
    return this.dirty.get(p)?.bytes ?? 0;
  }

  /** The generation a sync of `p` starts at (pass it to `synced`); the bytes written from
   *  now on are the next sync's. */
  startSync(p: string): number {
    const d = this.dirty.get(p);
    if (d === undefined) return 0;
    this.dirty.set(p, { gen: d.gen, bytes: 0 });
    return d.gen;
  }

  /** A local sync of `p` that started at `gen` completed: clean unless changed since. */
  synced(p: string, gen: number): void {
    if (this.dirty.get(p)?.gen === gen) this.dirty.delete(p);
  }

  /** A local sync of `p` failed: what it was to write is still unsynced, by an unknown amount. */
  syncFailed(p: string): void {
    const d = this.dirty.get(p);
    if (d !== undefined) this.dirty.set(p, { gen: d.gen, bytes: Infinity });
  }

  get dirtyCount(): number { return this.dirty.size; }
}
