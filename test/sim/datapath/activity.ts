// PRIM's activity record in the simulation (core/mirror/activity-record.ts over the in-memory
// file system): what a node's disk holds of it (`ActivityDisk`, which outlives its daemon and a
// power cut, since every change of it is synced before the change it announces) and the
// record's rules: a path is durably hot BEFORE the local change; a record the full disk
// refuses is removed (the return of this node then compares every file) and nothing more is
// recorded until a new session opens it; cooling rewrites it compactly, and a rewrite the full
// disk refuses leaves the old (larger, still safe) record. The decisions are the real ones
// (pure/activity.ts: isCovered, and the runner's coolingPlan and chooseReintegration).
import { isCovered, type ActivitySummary } from '../../../core/mirror/pure/activity';
import type { MemFs } from './memfs';

/** The record file as a node's disk holds it (undefined: no file). */
export interface ActivityDisk {
  image: { base_copy: string; hot: ReadonlySet<string>; all: boolean } | undefined;
}

/** receiver.ts loadActivity: what a returning node's WELCOME says. */
export function summaryOf(disk: ActivityDisk): ActivitySummary | undefined {
  const i = disk.image;
  return i ? { base_copy: i.base_copy, hot: i.all ? [] : [...i.hot], all: i.all } : undefined;
}

/** ActivityRecord: the daemon's view of the record, written through to `disk` at once. */
export class SimActivityRecord {
  private base = '';
  private readonly hot = new Set<string>();
  private all = false;

  /** load(): what an earlier life of this PRIM left stays hot. */
  constructor(private readonly disk: ActivityDisk, private readonly fs: MemFs) {
    const i = disk.image;
    if (!i) return;
    this.base = i.base_copy;
    this.all = i.all;
    for (const p of i.hot) this.hot.add(p);
  }

  get isOpen(): boolean { return this.base !== ''; }
  hotPaths(): string[] { return [...this.hot]; }

  covers(p: string): boolean {
    return this.all || isCovered(this.hot, p);
  }

  /** A session with the copy `base_copy` starts (a rewrite; refused by a full disk: discarded). */
  open(base_copy: string): void {
    if (base_copy === this.base && this.disk.image) return;
    this.base = base_copy;
    if (!this.rewrite()) this.discard();
  }

  /** markHot with sender.ts's fall-back: an append the full disk refuses removes the record.
   *  Returns what happened, for the trace. */
  markHot(p: string): 'recorded' | 'discarded' | 'none' {
    if (!this.isOpen || this.covers(p)) return 'none';
    if (this.fs.full) { this.discard(); return 'discarded'; }
    this.hot.add(p);
    // An append: what the file held stays (paths a refused rewrite could not drop included).
    this.disk.image = { base_copy: this.base, hot: new Set([...(this.disk.image?.hot ?? []), p]), all: this.all };
    return 'recorded';
  }

  /** Drops cooled paths; the compact rewrite needs new space. */
  cool(paths: readonly string[]): void {
    if (paths.length === 0 || this.all) return;
    for (const p of paths) this.hot.delete(p);
    this.rewrite();
  }

  private rewrite(): boolean {
    if (this.fs.full) return false;
    this.disk.image = { base_copy: this.base, hot: new Set(this.hot), all: this.all };
    return true;
  }

  private discard(): void {
    this.base = '';
    this.hot.clear();
    this.all = false;
    this.disk.image = undefined;
  }
}
