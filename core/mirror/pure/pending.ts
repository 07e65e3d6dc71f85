// What SECOND's copy is missing, as PRIM knows it: ordered namespace/metadata operations
// not yet shipped, dirty byte ranges per file, and (during a full comparison) the files
// still to compare. Pure bookkeeping: the sender runner feeds it operations and asks it
// what to ship next; the journal persists the same events so that it can be rebuilt.
import { type MirrorOp, isNamespaceOp } from './ops';
import { DIRTY_GRANULARITY_BYTES, RangeSet, type ByteRange } from './ranges';

/** Above this many journaled non-write operations the journal stops being trusted and the
 *  next re-integration compares every file instead (bounded memory while ALONE). */
export const MAX_PENDING_OPS = 200_000;

function under(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === '/' ? '/' : dir + '/');
}

function moved(path: string, from: string, to: string): string {
  return path === from ? to : to + path.slice(from.length);
}

export class PendingSet {
  /** `granularity_bytes`: what dirty ranges are rounded out to (RangeSet; 4 KiB by default). */
  constructor(readonly granularity_bytes = DIRTY_GRANULARITY_BYTES) {}

  private ops: MirrorOp[] = [];
  private readonly dirty = new Map<string, RangeSet>();
  private readonly compare = new Set<string>();
  /** True once the op list overflowed: only a full comparison can restore the copy. */
  overflowed = false;

  get opCount(): number { return this.ops.length; }
  get dirtyFileCount(): number { return this.dirty.size; }
  get compareCount(): number { return this.compare.size; }
  get isEmpty(): boolean { return this.ops.length === 0 && this.dirty.size === 0 && this.compare.size === 0; }

  dirtyBytes(): number {
    let n = 0;
    for (const r of this.dirty.values()) n += r.totalBytes();
    return n;
  }

  isDirtyOverlap(path: string, start: number, end: number): boolean {
    return this.dirty.get(path)?.overlaps(start, end) ?? false;
  }

  /** Is all of [start, end) already dirty (so the journal holds it already)? */
  isDirtyCovered(path: string, start: number, end: number): boolean {
    return this.dirty.get(path)?.covers(start, end) ?? false;
  }

  hasDirty(path: string): boolean { return this.dirty.has(path); }
  /** Separate dirty ranges of `path` (0 when none). */
  dirtyRangeCount(path: string): number { return this.dirty.get(path)?.count ?? 0; }
  needsCompare(path: string): boolean { return this.compare.has(path); }

  markDirty(path: string, start: number, end: number): void {
    let r = this.dirty.get(path);
    if (!r) { r = new RangeSet(this.granularity_bytes); this.dirty.set(path, r); }
    r.add(start, end);
    if (r.isEmpty) this.dirty.delete(path);
  }

  markCompare(path: string): void { this.compare.add(path); }

  /**
   * `from` is about to lose its name (unlink, renamed over) while `to` names the same file (a
   * hard link): what is pending for `from` is pending for `to` too, or its removal would drop
   * it (SECOND's copy of `to` would then lack writes made through `from`). Returns the dirty
   * ranges carried (the caller journals them).
   */
  carry(from: string, to: string): readonly ByteRange[] {
    if (this.compare.has(from)) this.compare.add(to);
    const ranges = this.dirty.get(from)?.list() ?? [];
    for (const r of ranges) this.markDirty(to, r.start, r.end);
    return ranges;
  }

  /**
   * Records an op that SECOND has not received (ALONE, or lost in flight). Writes become
   * dirty ranges; other ops are kept in order and also adjust the dirty map.
   */
  recordUnshipped(op: MirrorOp): void {
    if (op.kind === 'write') {
      this.markDirty(op.path, op.offset, op.offset + op.data.length);
      return;
    }
    if (op.kind === 'fsync') return;
    this.noteLiveOp(op);
    if (this.ops.length >= MAX_PENDING_OPS) {
      this.overflowed = true;
      this.ops = [];
      return;
    }
    if (!this.overflowed) this.ops.push(op);
  }

  /** Keeps dirty/compare entries pointing at the right names after a shipped op. */
  noteLiveOp(op: MirrorOp): void {
    switch (op.kind) {
      case 'truncate': this.dirty.get(op.path)?.clipTo(op.size); return;
      case 'unlink':
      case 'rmdir':
      case 'remove':
        this.dropUnder(op.path);
        return;
      case 'rename': {
        this.dropUnder(op.to);
        this.renameUnder(op.from, op.to);
        return;
      }
      default:
        return;
    }
  }

  private dropUnder(path: string): void {
    for (const k of [...this.dirty.keys()]) if (under(k, path)) this.dirty.delete(k);
    for (const k of [...this.compare]) if (under(k, path)) this.compare.delete(k);
  }

  private renameUnder(from: string, to: string): void {
    for (const [k, v] of [...this.dirty]) {
      if (!under(k, from)) continue;
      this.dirty.delete(k);
      const prev = this.dirty.get(moved(k, from, to));
      if (prev) for (const r of v.list()) prev.add(r.start, r.end);
      else this.dirty.set(moved(k, from, to), v);
    }
    for (const k of [...this.compare]) {
      if (!under(k, from)) continue;
      this.compare.delete(k);
      this.compare.add(moved(k, from, to));
    }
  }

  /** Removes and returns every pending non-write op, in order (they ship first). */
  takeOps(): MirrorOp[] {
    const out = this.ops;
    this.ops = [];
    return out;
  }

  /** Next file with dirty ranges and up to `max_bytes` of them, removed from the set. */
  takeDirty(max_bytes: number): { path: string; ranges: ByteRange[] } | undefined {
    const first = this.dirty.entries().next();
    if (first.done) return undefined;
    const [path, set] = first.value;
    const ranges = set.takeFront(max_bytes);
    if (set.isEmpty) this.dirty.delete(path);
    return { path, ranges };
  }

  /** The file takeDirty would serve next, without taking anything. */
  peekDirtyPath(): string | undefined {
    const first = this.dirty.keys().next();
    return first.done ? undefined : first.value;
  }

  /** Up to `n` files still to compare, in order, left in the set (writes to them stay local
   *  until the re-integrator takes each one with unmarkCompare). */
  peekCompare(n: number): string[] {
    const out: string[] = [];
    for (const p of this.compare) {
      if (out.length >= n) break;
      out.push(p);
    }
    return out;
  }

  /** Removes one file from the compare set; false when it was not (or no longer) there. */
  unmarkCompare(path: string): boolean { return this.compare.delete(path); }

  takeCompare(): string | undefined {
    const first = this.compare.values().next();
    if (first.done) return undefined;
    this.compare.delete(first.value);
    return first.value;
  }

  /** Everything still pending, as journal events that rebuild this set. */
  snapshot(): { ops: MirrorOp[]; dirty: Array<{ path: string; ranges: ByteRange[] }>; compare: string[]; overflowed: boolean } {
    return {
      ops: this.ops.slice(),
      dirty: [...this.dirty].map(([path, r]) => ({ path, ranges: r.list().slice() })),
      compare: [...this.compare],
      overflowed: this.overflowed,
    };
  }

  /**
   * Activity mode (pure/activity.ts): the listing reconciles names, so the journaled
   * namespace ops go; dirty ranges stay (they ship as in journal mode). Returns the files
   * that were still to compare (the pass compares them again), and forgets them here.
   */
  keepOnlyDirty(): string[] {
    const was = [...this.compare];
    this.ops = [];
    this.compare.clear();
    this.overflowed = false;
    return was;
  }

  clear(): void {
    this.ops = [];
    this.dirty.clear();
    this.compare.clear();
    this.overflowed = false;
  }
}

export { isNamespaceOp };
