// Re-integration's bandwidth cap (`<rfs bandwidth>`) as a pure decision: a token bucket
// refilled continuously at the cap, holding at most a 100 ms burst. Only the re-integrator
// asks it, before it queues a chunk; live ops never do, so the cap cannot hold an
// application's write (as SafeKit's and DRBD's resync rates leave application I/O alone).
// The runner (sender.ts throttle) sleeps `wait_ms` on its Clock port and asks again.

/** The bucket holds at most this share of a second of traffic. */
export const CAP_BURST_S = 0.1;
/** Smallest chunk a capped pass writes (a smaller one would cost more frames than it saves). */
export const CAP_MIN_CHUNK_BYTES = 64 * 1024;
/** Longest single sleep: a stop or an ALONE transition is noticed within it. */
export const CAP_MAX_WAIT_MS = 100;

export interface CapBucket {
  readonly tokens: number;
  readonly at_ms: number;
}

export const EMPTY_CAP_BUCKET: CapBucket = { tokens: 0, at_ms: 0 };

export interface CapDecision {
  readonly bucket: CapBucket;
  /** 0: queue the chunk now (its bytes are taken); else sleep this long and ask again. */
  readonly wait_ms: number;
}

/**
 * May `bytes` be queued at `now_ms` under `cap_bytes_per_s`? `force` (the link went ALONE, or
 * the sender stops: the pass is about to end anyway) takes them at once. A chunk larger than
 * the burst waits only for a full bucket, then goes (the bucket runs into debt).
 */
export function capTake(b: CapBucket, bytes: number, now_ms: number, cap_bytes_per_s: number, force = false): CapDecision {
  const burst = cap_bytes_per_s * CAP_BURST_S;
  const tokens = Math.min(burst, b.tokens + (Math.max(0, now_ms - b.at_ms) * cap_bytes_per_s) / 1000);
  const need = Math.min(bytes, burst);
  if (tokens >= need || force) return { bucket: { tokens: tokens - bytes, at_ms: now_ms }, wait_ms: 0 };
  const wait_ms = Math.ceil(((need - tokens) * 1000) / cap_bytes_per_s);
  return { bucket: { tokens, at_ms: now_ms }, wait_ms: Math.max(1, Math.min(wait_ms, CAP_MAX_WAIT_MS)) };
}

/** Bytes per re-integration write: with a cap, at most one burst (CAP_MIN_CHUNK_BYTES at
 *  least), so a throttled chunk holds its file's gate (and the application's ops on it) ≤ ~100 ms. */
export function capChunkBytes(chunk_bytes: number, cap_bytes_per_s: number | undefined): number {
  return cap_bytes_per_s ? Math.min(chunk_bytes, Math.max(CAP_MIN_CHUNK_BYTES, Math.floor(cap_bytes_per_s * CAP_BURST_S))) : chunk_bytes;
}
