// The witness lease, node side. With a witness configured a node runs the application only
// while it holds a lease; it asks for one before serving and renews it every
// witness_renew_ms. The lease is counted from when the request was SENT on the node's own
// clock, shortened by twice the allowed clock drift, so the node always believes it ends
// before the witness does; the node starts stopping `witness_stop_margin_ms` before that.
//
// Replies may come late (a starved CPU, a lossy path): a grant for ANY recent request is
// valid, counted from THAT request's send time, so a late reply can only give a shorter
// lease than a prompt one, never a longer one. Requests go out at most once per renewal
// period whether or not earlier ones were answered, so a lease of (timeout + period + margin)
// gets about timeout / period + 1 chances to be renewed before the node starts stopping.
import { persist } from './jobs';
import type { Fx, ModuleMachine, WitnessRequestInFlight } from './machine-state';
import type { WitnessReplyEvent } from './types';

/**
 * Requests whose answer the node still accepts. One per renewal period, and only requests
 * whose grant could still be valid are kept (lease minus stop margin: about 6 periods for
 * both profiles), so this bound is reached only when the policy's lease is unusually long.
 */
export const MAX_OUTSTANDING_WITNESS_REQUESTS = 8;

export function leaseValid(m: ModuleMachine, now_ms: number): boolean {
  if (!m.policy.hasWitness) return true;
  return m.lease !== null && now_ms < m.lease.until_ms - m.policy.witness_stop_margin_ms;
}

/** Where a grant of `lease_ms` for a request sent at `sentAt_ms` ends on this node's clock. */
function leaseEnd(m: ModuleMachine, sentAt_ms: number, lease_ms: number): number {
  return sentAt_ms + Math.floor(lease_ms * (1 - 2 * m.policy.max_clock_drift_ratio));
}

/** A request whose grant would already be past the stop point is worth nothing: forget it. */
function stillUseful(m: ModuleMachine, r: WitnessRequestInFlight, now_ms: number): boolean {
  return now_ms < leaseEnd(m, r.sentAt_ms, m.policy.witness_lease_ms) - m.policy.witness_stop_margin_ms;
}

/** A request asking for a new epoch is outstanding (its grant will carry one). */
export function bumpInFlight(m: ModuleMachine): boolean {
  return m.witnessRecent.some((r) => r.bump);
}

/** Sends a lease request unless one was sent less than witness_renew_ms ago. */
export function requestLease(m: ModuleMachine, fx: Fx, now_ms: number, force: boolean, bump: boolean): ModuleMachine {
  if (m.lastWitnessRequest_ms !== null && now_ms - m.lastWitnessRequest_ms < m.policy.witness_renew_ms) {
    // Too soon to ask again: make sure something wakes the machine when it may.
    fx.push({ type: 'SetTimer', id: 'witness-retry', at_ms: m.lastWitnessRequest_ms + m.policy.witness_renew_ms });
    return m;
  }
  const id = m.next_witness_id;
  const epoch = m.persisted.epoch;
  fx.push({ type: 'WitnessRequest', request_id: id, epoch, force, bump, lease_ms: m.policy.witness_lease_ms });
  fx.push({ type: 'SetTimer', id: 'witness-retry', at_ms: now_ms + m.policy.witness_renew_ms });
  const req: WitnessRequestInFlight = { id, sentAt_ms: now_ms, epoch, bump };
  const recent = [...m.witnessRecent.filter((r) => stillUseful(m, r, now_ms)), req].slice(-MAX_OUTSTANDING_WITNESS_REQUESTS);
  return { ...m, next_witness_id: id + 1, witnessReq: req, witnessRecent: recent, lastWitnessRequest_ms: now_ms, witnessDenied: false };
}

export function onWitnessReply(m: ModuleMachine, fx: Fx, ev: WitnessReplyEvent, now_ms: number): ModuleMachine {
  const req = m.witnessRecent.find((r) => r.id === ev.request_id);
  if (req === undefined) return onUnwantedReply(m, fx, ev);
  // This answer supersedes every older request; newer ones may still bring a longer lease.
  const awaited = m.witnessReq !== null && m.witnessReq.id > req.id ? m.witnessReq : null;
  if (awaited === null) fx.push({ type: 'CancelTimer', id: 'witness-retry' });
  const cur: ModuleMachine = { ...m, witnessReq: awaited, witnessRecent: m.witnessRecent.filter((r) => r.id > req.id) };
  // Older news than the lease we hold (answers overtook each other): nothing to learn.
  if (m.lease !== null && m.lease.request_id > req.id) return cur;
  if (!ev.granted) {
    fx.push({ type: 'Log', level: 'warn', msg: `${m.policy.module}: the witness refused the lease (epoch ${req.epoch}, request ${req.id})` });
    return { ...cur, witnessDenied: true, lease: null };
  }
  return onGrant(cur, fx, req, ev, now_ms);
}

function onGrant(m: ModuleMachine, fx: Fx, req: WitnessRequestInFlight, ev: WitnessReplyEvent, now_ms: number): ModuleMachine {
  const until_ms = leaseEnd(m, req.sentAt_ms, ev.lease_ms);
  fx.push({ type: 'SetTimer', id: 'lease-expiry', at_ms: until_ms - m.policy.witness_stop_margin_ms });
  fx.push({ type: 'SetTimer', id: 'witness-renew', at_ms: (m.lastWitnessRequest_ms ?? now_ms) + m.policy.witness_renew_ms });
  if (now_ms - req.sentAt_ms > m.policy.witness_renew_ms) {
    fx.push({ type: 'Log', level: 'debug', msg: `${m.policy.module}: late witness grant (request ${req.id}, ${now_ms - req.sentAt_ms} ms): lease counted from its send time` });
  }
  const serving = m.state === 'ALONE' || m.state === 'PRIM';
  // A renewal confirms the epoch it named; only a bump assigns a new one.
  const confirmed = !req.bump && req.epoch === ev.epoch;
  const next: ModuleMachine = { ...m, witnessDenied: false, lease: { until_ms, epoch: ev.epoch, fresh: req.bump && !serving, confirmed, request_id: req.id } };
  // Serving, an epoch bump was wanted and the witness assigned a newer epoch: it is ours from
  // now on, and the next renewal (sent at once) confirms it. A bump answered after another one
  // was adopted, or after the bump became moot, only extends the lease: epochs never go back.
  const adopt = serving && req.bump && m.epochBumpPending && ev.epoch > m.persisted.epoch;
  if (!adopt) return { ...next, epochBumpPending: next.epochBumpPending && !(req.bump && !serving) };
  fx.push({ type: 'Log', level: 'info', msg: `${m.policy.module}: the witness assigned epoch ${ev.epoch} to this node` });
  return { ...persist(next, fx, { epoch: ev.epoch, lastRole: 'ALONE' }), epochBumpPending: false, lastWitnessRequest_ms: null };
}

/**
 * A grant for a request the node no longer waits for (it dropped its lease meanwhile): if the
 * node wants no lease now, release it at once so that the witness does not hold it for
 * nobody and refuse the peer until it runs out.
 */
function onUnwantedReply(m: ModuleMachine, fx: Fx, ev: WitnessReplyEvent): ModuleMachine {
  const wantsNone = m.lease === null && m.witnessRecent.length === 0 && !m.app && m.state !== 'ALONE' && m.state !== 'PRIM';
  if (ev.granted && wantsNone && ev.request_id < m.next_witness_id) fx.push({ type: 'WitnessRelease', up_to_request_id: m.next_witness_id - 1 });
  return m;
}

/**
 * The newest request unanswered for witness_renew_ms: the next one may go (it counts as
 * refused for a takeover). A timer that fired early is set again.
 */
export function onWitnessRetry(m: ModuleMachine, fx: Fx, now_ms: number): ModuleMachine {
  const req = m.witnessReq;
  if (req === null) return m;
  const at_ms = req.sentAt_ms + m.policy.witness_renew_ms;
  if (now_ms < at_ms) {
    fx.push({ type: 'SetTimer', id: 'witness-retry', at_ms });
    return m;
  }
  return { ...m, witnessReq: null, witnessDenied: true };
}

export function releaseLease(m: ModuleMachine, fx: Fx): ModuleMachine {
  if (m.lease === null && m.witnessReq === null && m.witnessRecent.length === 0) return m;
  fx.push({ type: 'WitnessRelease', up_to_request_id: m.next_witness_id - 1 });
  fx.push({ type: 'CancelTimer', id: 'witness-renew' });
  fx.push({ type: 'CancelTimer', id: 'lease-expiry' });
  return { ...m, lease: null, witnessReq: null, witnessRecent: [] };
}

/**
 * Renews the lease while the application may run, also while scripts run (a long start_prim
 * must not let the lease lapse). Called on every step.
 *
 * When the next renewal is not due yet, the wake-up for it is set again: a timer may fire a
 * little early (Node counts timers from the event loop's cached time, which lags under CPU
 * load), and a machine that then waited for "the next event" renewed nothing until its lease
 * ran out: the false failovers of the loaded soak (issue 4 item 10).
 */
export function maintainLease(m: ModuleMachine, fx: Fx, now_ms: number): ModuleMachine {
  if (!m.policy.hasWitness) return m;
  if (!(m.app || m.state === 'ALONE' || m.state === 'PRIM')) return m;
  // Likewise the expiry: an early wake-up found the lease still valid and set nothing. (Once
  // past, the state handler stops serving; a timer in the past would only spin meanwhile.)
  const stop_ms = m.lease === null ? null : m.lease.until_ms - m.policy.witness_stop_margin_ms;
  if (stop_ms !== null && stop_ms > now_ms) fx.push({ type: 'SetTimer', id: 'lease-expiry', at_ms: stop_ms });
  if (m.witnessReq !== null) return m;
  if (m.lease === null && !m.app && m.job !== null) return m; // becoming ALONE: the bump request is on its way
  const last = m.lastWitnessRequest_ms;
  if (last === null || now_ms - last >= m.policy.witness_renew_ms) return requestLease(m, fx, now_ms, false, m.epochBumpPending);
  fx.push({ type: 'SetTimer', id: 'witness-renew', at_ms: last + m.policy.witness_renew_ms });
  return m;
}
