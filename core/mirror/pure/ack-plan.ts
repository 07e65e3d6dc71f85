// When SECOND (async="none") writes its cumulative ACK after applying an op. The ACK's
// meaning never changes (every op up to its seq is applied; a sync-class op's ACK also means
// that file and the directories changed since are on SECOND's disk): only how many ops one
// ACK covers. PRIM waits on the ACKs of sync-class ops (an application's fsync); the others
// only release PRIM's in-flight window and held write buffers, and an ACK per op cost both
// nodes a frame (seal, send, wake-up, open) on every small write of a bulk load, and a second
// ACK, written while SECOND's fdatasync ran, on every write + fdatasync.
//   sync-class op applied, or an op    -> now (PRIM's application waits for it)
//   PRIM flagged ACK_NOW (it waits)
//   unacked ops/bytes over the bounds  -> now (PRIM's window and buffers move on)
//   more ops queued behind this one    -> none (the ACK after them covers this one)
//   nothing queued                     -> within idle_ms (at once when 0): a write followed by
//                                         its fdatasync, which PRIM ships as a second request
//                                         a few hundred µs later, then costs one ACK; a bulk
//                                         load's writes, arriving one per socket read, one ACK
//                                         per millisecond instead of one per write
//   before SECOND answers a request    -> now, if anything is unacknowledged (PRIM reads
//                                         the ACK before the answer, as it always did)
// Time is not read here: the runner arms a timer on 'arm_idle' and feeds 'idle_timer'.

export interface AckPlanConfig {
  /** Applied ops that trigger an ACK without waiting for the queue to empty. */
  readonly every_ops: number;
  /** Applied payload bytes that trigger an ACK (PRIM holds 1 MiB write buffers until then). */
  readonly every_bytes: number;
  /** Delay of the ACK of a lone non-sync op (0: at once). */
  readonly idle_ms: number;
}

/** idle_ms 1: measured on the lab (pgbench -i): SECOND's ACKs fell from 0.9 to 0.18 per op
 *  and its CPU per op by 27 %; write + fdatasync from 1.0 to 0.72 ACKs per op. */
export const DEFAULT_ACK_PLAN: AckPlanConfig = { every_ops: 256, every_bytes: 1024 * 1024, idle_ms: 1 };

export interface AckPlanState {
  /** Applied since the last ACK. */
  readonly unacked_ops: number;
  readonly unacked_bytes: number;
  /** An idle timer is armed. */
  readonly idle_armed: boolean;
}

export const INITIAL_ACK_PLAN: AckPlanState = { unacked_ops: 0, unacked_bytes: 0, idle_armed: false };

export type AckPlanEvent =
  /** An op of the current session was applied; `sync`: a sync-class op or one PRIM waits for
   *  (FrameFlag.ACK_NOW); `queued`: work items still waiting behind it. */
  | { readonly kind: 'applied'; readonly sync: boolean; readonly bytes: number; readonly queued: number }
  /** The idle timer fired. */
  | { readonly kind: 'idle_timer' }
  /** SECOND is about to answer a request (REQ or STATE). */
  | { readonly kind: 'flush' }
  /** An ACK was written for another reason (a request answered, a new connection). */
  | { readonly kind: 'acked' };

export type AckPlanEffect = 'ack' | 'arm_idle' | 'none';

const ACKED: AckPlanState = INITIAL_ACK_PLAN;

export function ackPlanStep(st: AckPlanState, ev: AckPlanEvent, cfg: AckPlanConfig): { state: AckPlanState; effect: AckPlanEffect } {
  switch (ev.kind) {
    case 'acked':
      return { state: { ...ACKED, idle_armed: st.idle_armed }, effect: 'none' };
    case 'idle_timer':
      if (st.unacked_ops === 0) return { state: { ...st, idle_armed: false }, effect: 'none' };
      return { state: ACKED, effect: 'ack' };
    case 'flush':
      if (st.unacked_ops === 0) return { state: st, effect: 'none' };
      return { state: { ...ACKED, idle_armed: st.idle_armed }, effect: 'ack' };
    case 'applied': {
      const next: AckPlanState = { unacked_ops: st.unacked_ops + 1, unacked_bytes: st.unacked_bytes + ev.bytes, idle_armed: st.idle_armed };
      if (ev.sync || next.unacked_ops >= cfg.every_ops || next.unacked_bytes >= cfg.every_bytes) return { state: { ...ACKED, idle_armed: st.idle_armed }, effect: 'ack' };
      if (ev.queued > 0) return { state: next, effect: 'none' };
      if (cfg.idle_ms <= 0) return { state: { ...ACKED, idle_armed: st.idle_armed }, effect: 'ack' };
      if (st.idle_armed) return { state: next, effect: 'none' };
      return { state: { ...next, idle_armed: true }, effect: 'arm_idle' };
    }
  }
}
