// Opt-in timing of the SECOND's data path (receive, decode, queue, apply, sync, ACK), to find
// what a synchronous write waits for on this side. Off unless HAKIT_MIRROR_RECV_TIMING names
// a file: the receiver then appends one JSON line per second with the stages' figures for
// that second (and one at stop), and tests read `summary()` in process. Off, the receiver
// holds no instance and pays one `undefined` check per stage.
import { CpuSpan, IntervalLines, LatencySamples, type StageFigures } from './latency-samples';

export type { StageFigures } from './latency-samples';

export const RECV_TIMING_ENV = 'HAKIT_MIRROR_RECV_TIMING';

/**
 * rx_decode   socket read to frames: header checks and the AES-GCM tag (per frame)
 * op_decode   frame payload to op (validation included)
 * queue_wait  received until its apply starts (ops ahead of it being applied)
 * apply_write pwrite of one write op (page cache)
 * apply_other truncate, create, namespace and metadata ops
 * fdatasync   the data sync of an fsync op's file (thread pool hop included)
 * dir_fsync   the directory fsyncs an fsync op makes (thread pool hops included)
 * ack_wait    an op applied until the ACK covering it is written to the socket
 * ack_send    sealing and writing one ACK frame
 * turn_fsync  an fsync op's frame read until its ACK is written (SECOND's whole share)
 * turn_write  the same for a write op
 */
export const RECV_STAGES = ['rx_decode', 'op_decode', 'queue_wait', 'apply_write', 'apply_other', 'fdatasync', 'dir_fsync', 'ack_wait', 'ack_send', 'turn_fsync', 'turn_write'] as const;
export type RecvStage = (typeof RECV_STAGES)[number];

export interface TimingSummary {
  readonly stages: Partial<Record<RecvStage, StageFigures>>;
  /** Ops applied, ACK frames sent and the process's CPU time over the same span. */
  readonly ops: number;
  readonly acks: number;
  readonly cpu_us_per_op: number;
}

export class ReceiverTiming {
  private stages = new Map<RecvStage, LatencySamples>();
  private ops = 0;
  private acks = 0;
  private readonly cpu = new CpuSpan();
  private readonly lines: IntervalLines;

  /** `file`: where the per-second lines go (none: in-process `summary()` only). */
  constructor(file?: string) {
    this.lines = new IntervalLines(file, () => this.take());
  }

  /** An instance when HAKIT_MIRROR_RECV_TIMING names a file, else undefined. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): ReceiverTiming | undefined {
    const f = env[RECV_TIMING_ENV];
    return f ? new ReceiverTiming(f) : undefined;
  }

  now(): number { return performance.now(); }

  record(stage: RecvStage, ms: number): void {
    let s = this.stages.get(stage);
    if (!s) { s = new LatencySamples(); this.stages.set(stage, s); }
    s.add(ms);
  }

  /** Records `now - since_ms` and returns now. */
  since(stage: RecvStage, since_ms: number): number {
    const t = performance.now();
    this.record(stage, t - since_ms);
    return t;
  }

  countOp(): void { this.ops++; }
  countAck(): void { this.acks++; }

  summary(): TimingSummary {
    const stages: Partial<Record<RecvStage, StageFigures>> = {};
    for (const name of RECV_STAGES) {
      const s = this.stages.get(name);
      if (s && s.n > 0) stages[name] = s.figures();
    }
    return { stages, ops: this.ops, acks: this.acks, cpu_us_per_op: this.cpu.usPer(this.ops) };
  }

  /** Starts a new interval (figures of the next summary start from zero). */
  reset(): void {
    this.stages = new Map();
    this.ops = 0;
    this.acks = 0;
    this.cpu.restart();
  }

  /** The interval's figures (undefined when nothing happened), and a new interval. */
  private take(): TimingSummary | undefined {
    if (this.ops === 0 && this.stages.size === 0) return undefined;
    const s = this.summary();
    this.reset();
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
