// Rate-limited reporting of dropped packets: a flood of garbage must not flood the log.
// At most one line per interval, carrying the counts since the previous line. Counts still
// pending when the flood stops are written by the next tick() past the interval, so a flood
// followed by silence is logged too.
import type { LogSink } from '../../log/sink';
import type { DropReason } from '../wire/codec';

/** At most one "dropped heartbeats" log line per this interval. */
export const DROP_LOG_INTERVAL_MS = 10_000;
/** Distinct (reason, LAN, source) keys kept between two lines; the rest are summed as "other". */
export const DROP_LOG_MAX_KEYS = 64;

export class DropLog {
  private pending = new Map<string, number>();
  private last_line_at_ms = -Infinity;

  constructor(
    private readonly log: LogSink,
    private readonly interval_ms = DROP_LOG_INTERVAL_MS,
  ) {}

  /** Counts one drop; writes a summary line when the interval has passed. */
  record(reason: DropReason, lan: number, from: string, now_ms: number): void {
    let key = `${reason} lan=${lan} from=${from}`;
    if (!this.pending.has(key) && this.pending.size >= DROP_LOG_MAX_KEYS) key = 'other';
    this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
    this.tick(now_ms);
  }

  /** Writes the pending counts when the interval has passed; call it periodically. */
  tick(now_ms: number): void {
    if (this.pending.size === 0 || now_ms - this.last_line_at_ms < this.interval_ms) return;
    this.last_line_at_ms = now_ms;
    const drops = Object.fromEntries(this.pending);
    this.pending = new Map();
    this.log.warn({ code: 'HAKIT_E_WIRE_DROPPED', drops, interval_ms: this.interval_ms }, 'HAKIT_E_WIRE_DROPPED: dropped heartbeat packets (counts since the last such line)');
  }
}
