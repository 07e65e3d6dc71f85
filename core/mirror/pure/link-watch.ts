// The replication link's timing decisions as a pure machine: when the link is dead (no
// acknowledgement progress, or silence), when to ping, and when a new connection may be
// tried after SECOND failed to apply an op (doubling back-off). Time is an input (the
// sender passes its monotonic Clock port's now_ms), so a wall-clock step cannot cut a
// healthy link or hide a dead one. The link machine (link.ts) owns this one: it feeds the
// events and turns the effects into its own (closing the channel, sending a PING).

export interface LinkTimes {
  /** Last frame received from SECOND. */
  readonly lastRx_ms: number;
  /** Last time the cumulative ACK moved (or the first op went in flight). */
  readonly lastAckProgress_ms: number;
  /** No new connection before this time (after an apply error). */
  readonly retryAt_ms: number;
  /** Current apply-error back-off (0: none). */
  readonly applyBackoff_ms: number;
  /** Last PING sent. */
  readonly lastPing_ms: number;
}

export const INITIAL_LINK_TIMES: LinkTimes = { lastRx_ms: 0, lastAckProgress_ms: 0, retryAt_ms: 0, applyBackoff_ms: 0, lastPing_ms: 0 };

export interface LinkWatchConfig {
  readonly ack_timeout_ms: number;
  readonly idle_ping_ms: number;
  readonly apply_retry_ms: number;
  readonly apply_retry_max_ms: number;
}

export type WatchEvent =
  /** A channel was attached (new connection or resumed one). */
  | { readonly kind: 'attached' }
  /** Any frame arrived from SECOND. */
  | { readonly kind: 'frame' }
  /** The cumulative ACK moved. */
  | { readonly kind: 'ack_progress' }
  /** An op was sent while none was in flight: its ACK is awaited from now on. */
  | { readonly kind: 'first_in_flight' }
  /** Watchdog tick, with the number of ops in flight. */
  | { readonly kind: 'tick'; readonly in_flight_ops: number }
  /** The connection closed; `apply_error` when SECOND could not apply an op. */
  | { readonly kind: 'closed'; readonly apply_error: boolean }
  /** In sync again: the back-off is forgotten. */
  | { readonly kind: 'in_sync' }
  /** An administrator asked for a new pass (fullsync): connect at once. */
  | { readonly kind: 'retry_now' };

export type WatchEffect =
  | { readonly kind: 'close'; readonly code: 'HAKIT_E_MIRROR_PEER_LOST'; readonly message: string }
  | { readonly kind: 'ping' };

export interface WatchStepResult {
  readonly state: LinkTimes;
  readonly effects: readonly WatchEffect[];
}

export function watchStep(s: LinkTimes, e: WatchEvent, now_ms: number, cfg: LinkWatchConfig): WatchStepResult {
  switch (e.kind) {
    case 'attached':
      return { state: { ...s, lastRx_ms: now_ms, lastAckProgress_ms: now_ms, lastPing_ms: now_ms }, effects: [] };
    case 'frame':
      return { state: { ...s, lastRx_ms: now_ms }, effects: [] };
    case 'ack_progress':
    case 'first_in_flight':
      return { state: { ...s, lastAckProgress_ms: now_ms }, effects: [] };
    case 'tick': {
      if (e.in_flight_ops > 0 && now_ms - s.lastAckProgress_ms > cfg.ack_timeout_ms) {
        return { state: s, effects: [{ kind: 'close', code: 'HAKIT_E_MIRROR_PEER_LOST', message: `no acknowledgement for ${cfg.ack_timeout_ms} ms (stream stalled)` }] };
      }
      if (now_ms - s.lastRx_ms > cfg.ack_timeout_ms) {
        return { state: s, effects: [{ kind: 'close', code: 'HAKIT_E_MIRROR_PEER_LOST', message: `SECOND silent for ${cfg.ack_timeout_ms} ms` }] };
      }
      // A PING every idle_ping_ms, whatever else flows: SECOND gives up a connection that carries
      // nothing for its silence bound (receiver.ts), and while SECOND streams to us (a manifest,
      // signatures) we may have nothing else to send. Announced in HELLO (keepalive_ms).
      if (now_ms - s.lastPing_ms >= cfg.idle_ping_ms) return { state: { ...s, lastPing_ms: now_ms }, effects: [{ kind: 'ping' }] };
      return { state: s, effects: [] };
    }
    case 'closed': {
      if (!e.apply_error) return { state: s, effects: [] };
      // SECOND cannot take our data (disk full, permissions): retrying at once would ship the
      // same bytes into the same wall. Back off, doubling; space freed is found within a minute.
      const backoff = Math.min(cfg.apply_retry_max_ms, s.applyBackoff_ms ? s.applyBackoff_ms * 2 : cfg.apply_retry_ms);
      return { state: { ...s, applyBackoff_ms: backoff, retryAt_ms: now_ms + backoff }, effects: [] };
    }
    case 'in_sync':
      return { state: { ...s, applyBackoff_ms: 0 }, effects: [] };
    case 'retry_now':
      return { state: { ...s, retryAt_ms: 0 }, effects: [] };
  }
}

/** May a new connection be tried now? */
export function mayConnect(s: LinkTimes, now_ms: number): boolean {
  return now_ms >= s.retryAt_ms;
}
