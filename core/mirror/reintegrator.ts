// One re-integration pass: namespace first, then pending data, while the application keeps
// writing. 'journal' mode ships the journaled namespace/metadata ops and then only the
// dirty ranges; 'full' mode lists both trees, reconciles names, and compares every
// regular file by block signature. The pass ends when nothing is pending and everything it
// shipped is acknowledged.
import fs from 'node:fs/promises';
import { differingRanges } from './blocksig/signature';
import { planTree, type ManifestEntry } from './pure/tree-diff';
import { type ByteRange } from './pure/ranges';
import { listTree, realPathOf, signFile, decodeSignature } from './tree-walk';
import type { MirrorSender } from './sender';

export type ReintegrationMode = 'journal' | 'full';

/** Progress events are emitted at most this often. */
export const PROGRESS_INTERVAL_MS = 500;

export class Reintegrator {
  finished: Promise<boolean> = Promise.resolve(false);
  private shipped_bytes = 0;
  private lastProgress_ms = 0;

  constructor(private readonly s: MirrorSender, readonly mode: ReintegrationMode, private readonly gen: number) {}

  run(): Promise<boolean> {
    this.finished = this.pass().catch(() => false);
    return this.finished;
  }

  private live(): boolean { return this.s.isLinkCurrent(this.gen); }

  private async pass(): Promise<boolean> {
    const s = this.s;
    if (this.mode === 'full') {
      if (!(await this.reconcileNames())) return false;
    } else {
      for (const op of s.pending.takeOps()) void s.ship(op);
    }
    s.setPhase('syncing');
    this.progress(true);
    for (;;) {
      if (!this.live()) return false;
      const dirtyPath = s.pending.peekDirtyPath(); // ranges are taken once the file is ours
      if (dirtyPath !== undefined) {
        await this.shipDirty(dirtyPath);
        continue;
      }
      const cmp = s.pending.takeCompare();
      if (cmp !== undefined) {
        await this.compareFile(cmp);
        continue;
      }
      await s.drained();
      if (!this.live()) return false;
      if (s.pending.isEmpty) return true;
    }
  }

  private progress(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastProgress_ms < PROGRESS_INTERVAL_MS) return;
    this.lastProgress_ms = now;
    const p = this.s.pending;
    this.s.emitStatus({ state: 'syncing', mode: this.mode, shipped_bytes: this.shipped_bytes, pending_bytes: p.dirtyBytes(), pending_files: p.dirtyFileCount + p.compareCount });
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
    s.pending.clear(); // the comparison supersedes whatever the journal said
    for (const op of plan.ops) void s.ship(op);
    for (const p of plan.compare) s.pending.markCompare(p);
    return true;
  }

  private async shipDirty(path: string): Promise<void> {
    const s = this.s;
    await s.gate.acquire(path);
    try {
      const chunk = s.opts.reint_chunk_bytes ?? 1024 * 1024;
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
      return 0; // removed since: its unlink was (or will be) shipped
    }
    let size: number;
    try {
      size = (await fh.stat()).size;
      // A dirty range past PRIM's end (a write that failed here after SECOND applied it):
      // SECOND's file may be longer. We hold the file, so PRIM's size is the truth now.
      if (ranges.some((r) => r.end > size)) void s.ship({ kind: 'truncate', path, size });
      // One write op per chunk: frames stay far below MAX_PAYLOAD_BYTES and memory is bounded
      // by the sender's outbox (room()), whatever the size of a differing range.
      const chunk = s.opts.reint_chunk_bytes ?? 1024 * 1024;
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
          void s.ship({ kind: 'write', path, offset: at, data: buf.subarray(0, got) });
          this.shipped_bytes += got;
          await s.room();
          if (got < buf.length) break;
        }
      }
    } finally {
      await fh.close();
    }
    return size;
  }

  private async compareFile(path: string): Promise<void> {
    const s = this.s;
    const bs = s.opts.block_size_bytes ?? 64 * 1024;
    await s.gate.acquire(path);
    try {
      const [frames, local] = await Promise.all([
        s.request({ kind: 'sig', path, block_size: bs }),
        signFile(realPathOf(s.opts.real_dir, path), bs),
      ]);
      const f = frames[0];
      if (!f || f.payload[0] === 0x7b) throw new Error(`SECOND could not sign ${path}`);
      const remote = decodeSignature(f.payload);
      const ranges = differingRanges(local, remote);
      if (remote.size_bytes !== local.size_bytes) void s.ship({ kind: 'truncate', path, size: local.size_bytes });
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
