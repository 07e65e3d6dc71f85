// Latency samples of one stage over one interval, and their percentiles: the opt-in timings
// of the data path (receiver-timing.ts on SECOND, fuse/request-timing.ts on PRIM's capture)
// keep one per stage, and write their figures as one JSON line per second (IntervalLines).
import fs from 'node:fs';

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

const LINE_EVERY_MS = 1000;

/**
 * An opt-in timing's output: every second (and at stop) the figures `take` returns are
 * appended to `file` as one JSON line, and `take` starts the next interval; nothing is written
 * when `take` returns undefined (nothing happened) or without a file (in-process use).
 */
export class IntervalLines {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly file: string | undefined, private readonly take: () => object | undefined) {
    if (file) this.timer = setInterval(() => this.write(), LINE_EVERY_MS).unref();
  }

  write(): void {
    if (!this.file) return;
    const figures = this.take();
    if (!figures) return;
    try { fs.appendFileSync(this.file, `${JSON.stringify({ t: new Date().toISOString(), ...figures })}\n`); } catch { /* diagnostics only */ }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.write();
  }
}

/** The process's CPU time since the interval started, in µs per unit of work. */
export class CpuSpan {
  private from = process.cpuUsage();
  restart(): void { this.from = process.cpuUsage(); }
  usPer(units: number): number {
    const cpu = process.cpuUsage(this.from);
    return units > 0 ? Math.round((cpu.user + cpu.system) / units) : 0;
  }
}
