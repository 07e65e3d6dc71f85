// One re-integration pass: namespace first, then pending data, while the application keeps
// writing. 'journal' mode ships the journaled namespace/metadata ops and then only the
// dirty ranges; 'full' mode lists both trees, reconciles names, and compares every
// regular file by block signature. The pass ends when nothing is pending and everything it
// shipped is acknowledged.
import fs from 'node:fs/promises';
import { differingRanges } from './blocksig/signature';
import { planTree, type ManifestEntry } from './pure/tree-diff';
import { activityCompare, type ActivitySummary, type ReintegrationChoice } from './pure/activity';
import { type ByteRange } from './pure/ranges';
import { type MirrorOp } from './pure/ops';
import { type PendingSet } from './pure/pending';
import { type ExcludeRules } from './pure/exclude';
import { type SenderStatus } from './pure/link';
import { listTree, realPathOf, signFile } from './tree-walk';
import { joinSignature } from './response-chunks';
import type { PathGate } from './path-gate';
import type { Frame } from './stream/frame';
import type { Clock } from '../module/runner/clock';

export type ReintegrationMode = ReintegrationChoice;

/**
 * What a pass needs from the link's runner (MirrorSender implements it). The pass is handed
 * this port instead of importing the sender, so the two do not depend on each other.
 */
export interface ReintegrationPort {
  readonly clock: Clock;
  now_ms(): number;
  readonly opts: { readonly real_dir: string; readonly block_size_bytes?: number };
  readonly rules: ExcludeRules;
  readonly pending: PendingSet;
  readonly gate: PathGate;
  /** The returning SECOND's activity record, for an 'activity' pass. */
  readonly sessionActivity: ActivitySummary | undefined;
  /** Changes with every namespace op queued (see MirrorSender.namespaceGen). */
  readonly namespaceGen: number;
  /** Is link generation `gen` still the attached, sending one? */
  isLinkCurrent(gen: number): boolean;
  /** Queues an op; resolves when SECOND acknowledged it or it became pending. */
  ship(op: MirrorOp): Promise<void>;
  /** A request after every op queued before it; resolves with its response frames. */
  request(body: Record<string, unknown>): Promise<Frame[]>;
  /** Resolves when every op queued so far is complete. */
  drained(): Promise<void>;
  /** Resolves when the outbox has room (back-pressure for bulk shipping). */
  room(): Promise<void>;
  /** Bandwidth cap: resolves when `bytes` may be queued. */
  throttle(bytes: number): Promise<void>;
  reintChunkBytes(): number;
  emitStatus(s: SenderStatus): void;
  /** Both trees listed (link generation `gen`): namespace ops may ship again. */
  namesReconciled(gen: number): void;
}

/** Progress events are emitted at most this often. */
export const PROGRESS_INTERVAL_MS = 500;
/** Signature requests in flight during a full comparison (one round trip per file made a
 *  100 000-file comparison take minutes). */
export const SIG_PIPELINE_DEPTH = 64;

export class Reintegrator {
  finished: Promise<boolean> = Promise.resolve(false);
  private shipped_bytes = 0;
  /** Bytes dealt with: shipped, or compared and found equal (what the rate counts). */
  private done_bytes = 0;
  /** Sizes of the files a full comparison still has to compare (known after the listing). */
  private readonly compareSizes = new Map<string, number>();
  private compare_bytes = 0;
  private lastProgress_ms = 0;
  /** Files this pass shipped content of (read from PRIM's page cache): made durable on PRIM
   *  before SECOND is told it is complete (MirrorSender.startReintegration). */
  readonly shippedPaths = new Set<string>();
  private started_ms = 0;

  constructor(private readonly s: ReintegrationPort, readonly mode: ReintegrationMode, private readonly gen: number) {}

  run(): Promise<boolean> {
    this.started_ms = this.s.now_ms();
    // Progress from the first second, whatever the pass is doing (listing, waiting for acks).
    let live = true;
    const tick = (): void => { if (!live) return; this.progress(true); this.s.clock.setTimer(tick, PROGRESS_INTERVAL_MS); };
    this.progress(true);
    this.s.clock.setTimer(tick, PROGRESS_INTERVAL_MS);
    this.finished = this.pass().catch(() => false).finally(() => { live = false; });
    return this.finished;
  }

  /** Progress figures (also for `state -v`, collect and the API through the status event). */
  figures(): { shipped_bytes: number; pending_bytes: number; pending_files: number; rate_bytes_per_s: number; eta_s: number | null } {
    const p = this.s.pending;
    const pending_bytes = p.dirtyBytes() + this.compare_bytes;
    const elapsed_s = Math.max(0.001, (this.s.now_ms() - this.started_ms) / 1000);
    const rate_bytes_per_s = Math.round(this.done_bytes / elapsed_s);
    const eta_s = pending_bytes === 0 ? 0 : rate_bytes_per_s > 0 ? Math.ceil(pending_bytes / rate_bytes_per_s) : null;
    return { shipped_bytes: this.shipped_bytes, pending_bytes, pending_files: p.dirtyFileCount + p.compareCount, rate_bytes_per_s, eta_s };
  }

  private live(): boolean { return this.s.isLinkCurrent(this.gen); }

  private async pass(): Promise<boolean> {
    const s = this.s;
    if (this.mode !== 'journal') {
      if (!(await this.reconcileNames())) return false;
    } else {
      for (const op of s.pending.takeOps()) void s.ship(op);
    }
    s.namesReconciled(this.gen);
    this.progress(true);
    for (;;) {
      if (!this.live()) return false;
      const dirtyPath = s.pending.peekDirtyPath(); // ranges are taken once the file is ours
      if (dirtyPath !== undefined) {
        await this.shipDirty(dirtyPath);
        continue;
      }
      const batch = s.pending.peekCompare(SIG_PIPELINE_DEPTH);
      if (batch.length > 0) {
        await this.compareBatch(batch);
        continue;
      }
      await s.drained();
      if (!this.live()) return false;
      if (s.pending.isEmpty) return true;
    }
  }

  private progress(force = false): void {
    const now = this.s.now_ms();
    if (!force && now - this.lastProgress_ms < PROGRESS_INTERVAL_MS) return;
    if (!this.live()) return;
    this.lastProgress_ms = now;
    this.s.emitStatus({ state: 'syncing', mode: this.mode, ...this.figures() });
  }

  private async reconcileNames(): Promise<boolean> {
    const s = this.s;
    // Namespace ops wait in 'walking', so both listings describe one moment of PRIM.
    const [remoteFrames, local] = await Promise.all([
      s.request({ kind: 'manifest' }),
      listTree(s.opts.real_dir, s.rules),
    ]);
    if (!this.live()) return false;
    const remote: ManifestEntry[] = [];
    for (const f of remoteFrames) {
      const body = JSON.parse(f.payload.toString('utf8')) as { entries?: ManifestEntry[]; error?: string };
      if (body.error) throw new Error(body.error);
      remote.push(...(body.entries ?? []));
    }
    const plan = planTree(local, remote, s.rules);
    let compare = plan.compare;
    if (this.mode === 'activity') {
      // Names come from the listings; content is compared only where it may differ
      // (pure/activity.ts); PRIM's own dirty ranges since it took over ship as in journal mode.
      const also = new Set(s.pending.keepOnlyDirty());
      compare = activityCompare(plan.compare, local, remote, new Set(s.sessionActivity?.hot ?? []), also, plan.otherNames);
    } else {
      s.pending.clear(); // the comparison supersedes whatever the journal said
    }
    for (const op of plan.ops) void s.ship(op);
    const sizes = new Map(local.map((e) => [e.path, e.size] as const));
    for (const p of compare) {
      s.pending.markCompare(p);
      const n = sizes.get(p) ?? 0;
      this.compareSizes.set(p, n);
      this.compare_bytes += n;
    }
    this.progress(true);
    return true;
  }

  private async shipDirty(path: string): Promise<void> {
    const s = this.s;
    await s.gate.acquire(path);
    try {
      const chunk = s.reintChunkBytes();
      const got = s.pending.takeDirty(chunk);
      if (!got || got.path !== path) {
        if (got) for (const r of got.ranges) s.pending.markDirty(got.path, r.start, r.end);
        return;
      }
      await this.shipRanges(path, got.ranges);
    } finally {
      s.gate.release();
    }
    this.progress();
  }

  private async shipRanges(path: string, ranges: readonly ByteRange[]): Promise<number> {
    const s = this.s;
    let fh;
    try {
      fh = await fs.open(realPathOf(s.opts.real_dir, path), 'r');
    } catch {
      // Removed since: its unlink was (or will be) shipped. Unless the pass is over (the
      // module stopping): then the ranges in hand stay pending for the next start.
      if (!this.live()) for (const r of ranges) s.pending.markDirty(path, r.start, r.end);
      return 0;
    }
    let size: number;
    try {
      size = (await fh.stat()).size;
      // A dirty range past PRIM's end (a write that failed here after SECOND applied it):
      // SECOND's file may be longer. We hold the file, so PRIM's size is the truth now.
      if (ranges.some((r) => r.end > size)) void s.ship({ kind: 'truncate', path, size });
      // One write op per chunk: frames stay far below MAX_PAYLOAD_BYTES and memory is bounded
      // by the sender's outbox (room()), whatever the size of a differing range.
      const chunk = s.reintChunkBytes();
      for (const r of ranges) {
        const end = Math.min(r.end, size);
        for (let at = r.start; at < end; at += chunk) {
          const buf = Buffer.allocUnsafe(Math.min(chunk, end - at));
          let got = 0;
          while (got < buf.length) {
            const { bytesRead } = await fh.read(buf, got, buf.length - got, at + got);
            if (bytesRead === 0) break;
            got += bytesRead;
          }
          if (got === 0) break;
          await s.throttle(got);
          void s.ship({ kind: 'write', path, offset: at, data: buf.subarray(0, got) });
          this.shippedPaths.add(path);
          this.shipped_bytes += got;
          this.done_bytes += got;
          await s.room();
          if (got < buf.length) break;
        }
      }
    } finally {
      await fh.close();
    }
    return size;
  }

  /**
   * Asks SECOND for the signatures of a batch of files at once, then compares them one by
   * one. The files stay in the compare set meanwhile, so writes to them stay local and
   * SECOND's copies do not change under the answers; a namespace op shipped since the
   * requests (a rename over one of them) makes the answers stale: that file is asked again.
   */
  private async compareBatch(paths: readonly string[]): Promise<void> {
    const s = this.s;
    const bs = s.opts.block_size_bytes ?? 64 * 1024;
    const gen = s.namespaceGen;
    const answers = paths.map((p) => s.request({ kind: 'sig', path: p, block_size: bs }));
    for (const a of answers) a.catch(() => undefined); // awaited below, or dropped with the link
    for (const [i, p] of paths.entries()) {
      if (!this.live()) return;
      await this.compareFile(p, answers[i]!, gen);
    }
  }

  private async compareFile(path: string, asked: Promise<Frame[]>, gen: number): Promise<void> {
    const s = this.s;
    const bs = s.opts.block_size_bytes ?? 64 * 1024;
    await s.gate.acquire(path);
    try {
      const size = this.compareSizes.get(path) ?? 0;
      this.compareSizes.delete(path);
      this.compare_bytes -= size;
      // Renamed or removed since the request: its compare mark moved with it (or went).
      if (!s.pending.unmarkCompare(path)) return;
      const answer = gen === s.namespaceGen ? asked : s.request({ kind: 'sig', path, block_size: bs });
      const [frames, local] = await Promise.all([answer, signFile(realPathOf(s.opts.real_dir, path), bs)]);
      if (frames.length === 0 || frames[0]!.payload[0] === 0x7b) throw new Error(`SECOND could not sign ${path}`);
      const remote = joinSignature(frames.map((f) => f.payload));
      const ranges = differingRanges(local, remote);
      if (remote.size_bytes !== local.size_bytes) void s.ship({ kind: 'truncate', path, size: local.size_bytes });
      this.done_bytes += Math.max(0, size - ranges.reduce((n, r) => n + (r.end - r.start), 0));
      await this.shipRanges(path, ranges);
    } catch (e) {
      if (this.live()) s.pending.markCompare(path);
      throw e;
    } finally {
      s.gate.release();
    }
    this.progress();
  }
}
