// What the ALONE journal already says may differ from SECOND, in coarse extents, so that most
// writes cost no journal append. DRBD's activity log works the same way: a write into an
// extent already recorded as active touches no metadata; only the first write into a new
// extent does, and it records the whole extent. Here a write of [start, end) of a file whose
// extents are all named by journal records already needs no record; otherwise its record
// names the whole extents it touches (JOURNAL_EXTENT_BYTES), so the next writes near it need
// none. After a crash the journal then over-approximates the dirty bytes by less than one
// extent per written region, which is safe (re-integration ships more, never less); the
// in-memory PendingSet that a pass ships without a crash stays exact.
// The coverage is the replay (pure/pending.ts, as journal.ts load() does) of the extent
// records written since the last rewrite, so it shrinks exactly where a replay of the whole
// journal shrinks dirty ranges (truncate, unlink, rmdir, remove, rename: noteOp), and replay
// is monotone: the whole journal's replay holds at least what the coverage holds.
import { type MirrorOp } from './ops';
import { PendingSet } from './pending';
import { type ByteRange } from './ranges';

/** Journal records of ALONE writes name whole extents of this size (DRBD: 4 MiB). 1 MiB:
 *  a 4 KiB writer appends one record per 256 writes; a crash costs at most this much extra
 *  shipping per written region. */
export const JOURNAL_EXTENT_BYTES = 1024 * 1024;
/** Files tracked at most; past it the coverage is forgotten (records are appended again). */
export const MAX_COVERED_FILES = 4096;
/** Separate covered ranges per file at most; past it no more are added for that file (its
 *  writes keep being journaled, one extent record each). Bounds the cost of a lookup. */
export const MAX_COVERED_RANGES_PER_FILE = 1024;

export class JournalCoverage {
  private covered: PendingSet;

  constructor(readonly extent_bytes = JOURNAL_EXTENT_BYTES) {
    this.covered = new PendingSet(extent_bytes);
  }

  /** Files with covered extents now. */
  get fileCount(): number { return this.covered.dirtyFileCount; }

  /**
   * The range a dirty record must name before [start, end) of `path` is written locally, or
   * undefined when records in the journal cover it already (or nothing is written). The
   * coverage grows only once that record is written (`written`).
   */
  recordFor(path: string, start: number, end: number): ByteRange | undefined {
    if (!(end > start) || start < 0) return undefined;
    if (this.covered.isDirtyCovered(path, start, end)) return undefined;
    const g = this.extent_bytes;
    return { start: Math.floor(start / g) * g, end: Math.ceil(end / g) * g };
  }

  /** A record naming `r` of `path` is in the journal now. */
  written(path: string, r: ByteRange): void {
    if (!this.covered.hasDirty(path) && this.covered.dirtyFileCount >= MAX_COVERED_FILES) this.clear();
    if (this.covered.dirtyRangeCount(path) >= MAX_COVERED_RANGES_PER_FILE) return;
    this.covered.markDirty(path, r.start, r.end);
  }

  /** An op record is being appended: what its replay takes away is no longer covered. Called
   *  before the record is written (a write after the op must not rely on what it removed). */
  noteOp(op: MirrorOp): void {
    if (op.kind === 'write' || op.kind === 'fsync') return;
    this.covered.noteLiveOp(op);
  }

  /** The journal was replaced (rewritten from PendingSet): it holds none of the records. */
  clear(): void {
    this.covered = new PendingSet(this.extent_bytes);
  }
}
