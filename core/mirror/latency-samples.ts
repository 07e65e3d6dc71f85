// Latency samples of one stage over one interval, and their percentiles: the opt-in timings
// of the data path (receiver-timing.ts on SECOND, fuse/request-timing.ts on PRIM's capture)
// keep one per stage.

export interface StageFigures {
  readonly n: number;
  readonly p50_us: number;
  readonly p90_us: number;
  readonly p99_us: number;
  readonly mean_us: number;
  readonly total_ms: number;
}

/** Samples kept per stage and interval (the oldest are overwritten beyond it). */
const MAX_SAMPLES = 1 << 16;

export class LatencySamples {
  private readonly v = new Float64Array(MAX_SAMPLES);
  n = 0;
  sum_ms = 0;
  add(ms: number): void {
    this.v[this.n % MAX_SAMPLES] = ms;
    this.n++;
    this.sum_ms += ms;
  }
  figures(): StageFigures {
    const kept = this.v.slice(0, Math.min(this.n, MAX_SAMPLES)).sort();
    const q = (f: number): number => +(kept[Math.min(kept.length - 1, Math.floor(f * kept.length))]! * 1000).toFixed(1);
    return { n: this.n, p50_us: q(0.5), p90_us: q(0.9), p99_us: q(0.99), mean_us: +((this.sum_ms / this.n) * 1000).toFixed(1), total_ms: +this.sum_ms.toFixed(1) };
  }
}
