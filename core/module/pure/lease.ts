// The witness lease, node side. With a witness configured a node runs the application only
// while it holds a lease; it asks for one before serving and renews it every
// witness_renew_ms. The lease is counted from when the request was SENT on the node's own
// clock, shortened by twice the allowed clock drift, so the node always believes it ends
// before the witness does; the node starts stopping `witness_stop_margin_ms` before that.
import { persist } from './jobs';
import type { Fx, ModuleMachine } from './machine-state';
import type { WitnessReplyEvent } from './types';

export function leaseValid(m: ModuleMachine, now_ms: number): boolean {
  if (!m.policy.hasWitness) return true;
  return m.lease !== null && now_ms < m.lease.until_ms - m.policy.witness_stop_margin_ms;
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
  return { ...m, next_witness_id: id + 1, witnessReq: { id, sentAt_ms: now_ms, epoch, bump }, lastWitnessRequest_ms: now_ms, witnessDenied: false };
}

export function onWitnessReply(m: ModuleMachine, fx: Fx, ev: WitnessReplyEvent, now_ms: number): ModuleMachine {
  const req = m.witnessReq;
  if (req === null || req.id !== ev.request_id) return m;
  fx.push({ type: 'CancelTimer', id: 'witness-retry' });
  if (!ev.granted) {
    fx.push({ type: 'Log', level: 'warn', msg: `${m.policy.module}: the witness refused the lease (epoch ${req.epoch})` });
    return { ...m, witnessReq: null, witnessDenied: true, lease: null };
  }
  const until_ms = req.sentAt_ms + Math.floor(ev.lease_ms * (1 - 2 * m.policy.max_clock_drift_ratio));
  fx.push({ type: 'SetTimer', id: 'lease-expiry', at_ms: until_ms - m.policy.witness_stop_margin_ms });
  fx.push({ type: 'SetTimer', id: 'witness-renew', at_ms: now_ms + m.policy.witness_renew_ms });
  const serving = m.state === 'ALONE' || m.state === 'PRIM';
  const confirmed = !req.bump && req.epoch === ev.epoch;
  const next: ModuleMachine = { ...m, witnessReq: null, witnessDenied: false, lease: { until_ms, epoch: ev.epoch, fresh: req.bump && !serving, confirmed } };
  if (!serving || ev.epoch === m.persisted.epoch) return { ...next, epochBumpPending: next.epochBumpPending && !req.bump };
  // Serving: the epoch the witness assigned is ours from now on; the next renewal confirms it.
  fx.push({ type: 'Log', level: 'info', msg: `${m.policy.module}: the witness assigned epoch ${ev.epoch} to this node` });
  return { ...persist(next, fx, { epoch: ev.epoch, lastRole: 'ALONE' }), epochBumpPending: false, lastWitnessRequest_ms: null };
}

/** A request left unanswered for witness_renew_ms counts as a refusal. */
export function onWitnessRetry(m: ModuleMachine): ModuleMachine {
  if (m.witnessReq === null) return m;
  return { ...m, witnessReq: null, witnessDenied: true };
}

export function releaseLease(m: ModuleMachine, fx: Fx): ModuleMachine {
  if (m.lease === null && m.witnessReq === null) return m;
  fx.push({ type: 'WitnessRelease' });
  fx.push({ type: 'CancelTimer', id: 'witness-renew' });
  fx.push({ type: 'CancelTimer', id: 'lease-expiry' });
  return { ...m, lease: null, witnessReq: null };
}

/**
 * Renews the lease while the application may run, also while scripts run (a long start_prim
 * must not let the lease lapse). Called on every step.
 */
export function maintainLease(m: ModuleMachine, fx: Fx, now_ms: number): ModuleMachine {
  if (!m.policy.hasWitness || m.witnessReq !== null) return m;
  if (!(m.app || m.state === 'ALONE' || m.state === 'PRIM')) return m;
  if (m.lease === null && !m.app && m.job !== null) return m; // becoming ALONE: the bump request is on its way
  const due = m.lastWitnessRequest_ms === null || now_ms - m.lastWitnessRequest_ms >= m.policy.witness_renew_ms;
  return due ? requestLease(m, fx, now_ms, false, m.epochBumpPending) : m;
}
