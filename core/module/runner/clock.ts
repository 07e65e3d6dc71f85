// The Clock port: monotonic time for the pure machines and timers that feed TimerFired back.
// Wall-clock time is for logs only (docs/architecture.md, rule 2).
export interface Clock {
  now_ms(): number;
  setTimer(fn: () => void, delay_ms: number): unknown;
  clearTimer(handle: unknown): void;
}

const origin_ns = process.hrtime.bigint();

export const REAL_CLOCK: Clock = {
  now_ms: () => Number((process.hrtime.bigint() - origin_ns) / 1_000_000n),
  setTimer: (fn, delay_ms) => setTimeout(fn, delay_ms),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};
