// Opt-in timing of the capture's FUSE requests, per opcode: how many the kernel sent and how
// long each took from its read to its reply, to see what an application's calls cost through
// the mount (a database's lseek becomes a GETATTR, its commit a WRITE and an FSYNC). Off
// unless HAKIT_FUSE_TIMING names a file: the session then appends one JSON line per second
// with that second's figures (and one at unmount). Off, the session holds no instance.
import { CpuSpan, IntervalLines, LatencySamples, type StageFigures } from '../latency-samples';
import { Op } from './pure/protocol';

export const FUSE_TIMING_ENV = 'HAKIT_FUSE_TIMING';

const OP_NAMES = new Map<number, string>(Object.entries(Op).map(([name, code]) => [code, name]));

export interface FuseTimingSummary {
  /** Per opcode name (unknown opcodes as `OP_<n>`). */
  readonly requests: Readonly<Record<string, StageFigures>>;
  /** The daemon's CPU time per request over the same span (all of the process's work). */
  readonly cpu_us_per_request: number;
}

export class FuseRequestTiming {
  private byOp = new Map<number, LatencySamples>();
  private count = 0;
  private readonly cpu = new CpuSpan();
  private readonly lines: IntervalLines;

  constructor(file?: string) {
    this.lines = new IntervalLines(file, () => this.take());
  }

  /** An instance when HAKIT_FUSE_TIMING names a file, else undefined. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): FuseRequestTiming | undefined {
    const f = env[FUSE_TIMING_ENV];
    return f ? new FuseRequestTiming(f) : undefined;
  }

  record(opcode: number, ms: number): void {
    let s = this.byOp.get(opcode);
    if (!s) { s = new LatencySamples(); this.byOp.set(opcode, s); }
    s.add(ms);
    this.count++;
  }

  summary(): FuseTimingSummary {
    const requests: Record<string, StageFigures> = {};
    for (const [code, s] of [...this.byOp].sort((a, b) => b[1].sum_ms - a[1].sum_ms)) requests[OP_NAMES.get(code) ?? `OP_${code}`] = s.figures();
    return { requests, cpu_us_per_request: this.cpu.usPer(this.count) };
  }

  /** The interval's figures (undefined when no request came), and a new interval. */
  private take(): FuseTimingSummary | undefined {
    if (this.count === 0) return undefined;
    const s = this.summary();
    this.byOp = new Map();
    this.count = 0;
    this.cpu.restart();
    return s;
  }

  /** Appends the interval's figures to the file and starts a new interval. */
  dump(): void {
    this.lines.write();
  }

  stop(): void {
    this.lines.stop();
  }
}
