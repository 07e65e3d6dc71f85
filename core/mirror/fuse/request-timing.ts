// Opt-in timing of the capture's FUSE requests, per opcode: how many the kernel sent and how
// long each took from its read to its reply, to see what an application's calls cost through
// the mount (a database's lseek becomes a GETATTR, its commit a WRITE and an FSYNC). Off
// unless HAKIT_FUSE_TIMING names a file: the session then appends one JSON line per second
// with that second's figures (and one at unmount). Off, the session holds no instance.
import fs from 'node:fs';
import { LatencySamples, type StageFigures } from '../latency-samples';
import { Op } from './pure/protocol';

export const FUSE_TIMING_ENV = 'HAKIT_FUSE_TIMING';

const DUMP_EVERY_MS = 1000;
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
  private cpu = process.cpuUsage();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly file?: string) {
    if (file) this.timer = setInterval(() => this.dump(), DUMP_EVERY_MS).unref();
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
    const cpu = process.cpuUsage(this.cpu);
    return { requests, cpu_us_per_request: this.count > 0 ? Math.round((cpu.user + cpu.system) / this.count) : 0 };
  }

  /** Appends the interval's figures to the file and starts a new interval. */
  dump(): void {
    if (!this.file || this.count === 0) return;
    const line = JSON.stringify({ t: new Date().toISOString(), ...this.summary() });
    this.byOp = new Map();
    this.count = 0;
    this.cpu = process.cpuUsage();
    try { fs.appendFileSync(this.file, line + '\n'); } catch { /* diagnostics only */ }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.dump();
  }
}
