// A set of byte ranges [start, end) of one file, kept sorted, disjoint and merged, with
// boundaries rounded out to a granularity (4 KiB by default): dirty tracking never needs
// finer detail, and coarse ranges keep the set small under random small writes.

export const DIRTY_GRANULARITY_BYTES = 4 * 1024;

export interface ByteRange { readonly start: number; readonly end: number }

export class RangeSet {
  private ranges: ByteRange[] = [];

  constructor(readonly granularity_bytes = DIRTY_GRANULARITY_BYTES) {}

  static of(ranges: readonly ByteRange[], granularity_bytes = DIRTY_GRANULARITY_BYTES): RangeSet {
    const s = new RangeSet(granularity_bytes);
    for (const r of ranges) s.add(r.start, r.end);
    return s;
  }

  get isEmpty(): boolean { return this.ranges.length === 0; }
  get count(): number { return this.ranges.length; }
  list(): readonly ByteRange[] { return this.ranges; }

  totalBytes(): number {
    let n = 0;
    for (const r of this.ranges) n += r.end - r.start;
    return n;
  }

  /** Adds [start, end) rounded out to the granularity. Empty ranges are ignored. */
  add(start: number, end: number): void {
    if (!(end > start) || start < 0) return;
    const g = this.granularity_bytes;
    let s = Math.floor(start / g) * g;
    let e = Math.ceil(end / g) * g;
    const out: ByteRange[] = [];
    let placed = false;
    for (const r of this.ranges) {
      if (r.end < s) out.push(r);
      else if (r.start > e) {
        if (!placed) { out.push({ start: s, end: e }); placed = true; }
        out.push(r);
      } else {
        s = Math.min(s, r.start);
        e = Math.max(e, r.end);
      }
    }
    if (!placed) out.push({ start: s, end: e });
    this.ranges = out;
  }

  /** True when [start, end) lies wholly inside the set (ranges are merged: inside one range). */
  covers(start: number, end: number): boolean {
    return this.ranges.some((r) => r.start <= start && end <= r.end);
  }

  overlaps(start: number, end: number): boolean {
    return this.ranges.some((r) => r.start < end && start < r.end);
  }

  /** Drops everything at or beyond `size` (a truncate made those bytes meaningless). */
  clipTo(size_bytes: number): void {
    const out: ByteRange[] = [];
    for (const r of this.ranges) {
      if (r.start >= size_bytes) continue;
      out.push({ start: r.start, end: Math.min(r.end, size_bytes) });
    }
    this.ranges = out;
  }

  /** Removes and returns about `max_bytes` from the front (never less than one granule). */
  takeFront(max_bytes: number): ByteRange[] {
    const g = this.granularity_bytes;
    const taken: ByteRange[] = [];
    let budget = max_bytes;
    while (this.ranges.length > 0 && budget > 0) {
      const r = this.ranges[0]!;
      const len = r.end - r.start;
      const cut = len <= budget ? len : Math.min(len, Math.max(g, Math.floor(budget / g) * g));
      taken.push({ start: r.start, end: r.start + cut });
      if (cut === len) this.ranges.shift();
      else this.ranges[0] = { start: r.start + cut, end: r.end };
      budget -= cut;
    }
    return taken;
  }
}
