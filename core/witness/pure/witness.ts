// The witness (split-brain arbitrator) decision: per module, at most one node holds a lease.
// A node runs a mirror module's application only while its lease is valid, so two sides of a
// cut never both serve. The witness also hands out epochs (`bump`: newest + 1, so two nodes
// never serve under the same epoch) and remembers the newest CONFIRMED epoch (one a serving
// node renewed with, so writes may exist under it): a node whose copy is older never gets
// the lease (it would serve stale data) unless the operator forces.
import type { NodeId } from '../../membership/pure/types';

export interface WitnessLease {
  readonly holder: NodeId;
  /** Witness-clock time when the lease ends unless renewed. */
  readonly until_ms: number;
  /** The holder's request that last granted it (unknown after a witness restart). */
  readonly request_id?: number;
}

export interface WitnessModuleRecord {
  readonly lease: WitnessLease | null;
  /** Newest epoch assigned. */
  readonly epoch: number;
  /** Newest epoch a node renewed with while serving: writes may exist under it. */
  readonly confirmed: number;
}

export interface WitnessState {
  /** The longest lease granted, and the length of a lease whose request names none. */
  readonly lease_ms: number;
  readonly modules: Readonly<Record<string, WitnessModuleRecord>>;
}

export interface WitnessRequestMsg {
  readonly type: 'Request';
  readonly module: string;
  readonly node: NodeId;
  readonly request_id: number;
  readonly epoch: number;
  readonly force: boolean;
  /** Assign a new epoch (newest + 1) with the grant. */
  readonly bump: boolean;
  /** Lease length the node asks for (from its heartbeat profile); capped at the state's lease_ms. */
  readonly lease_ms?: number;
}
export interface WitnessReleaseMsg {
  readonly type: 'Release';
  readonly module: string;
  readonly node: NodeId;
  /**
   * The release covers the holder's requests up to this id: a later request that overtook
   * the release on the network keeps the lease it was granted (the node counts on it).
   */
  readonly up_to_request_id?: number;
}
export type WitnessInput = WitnessRequestMsg | WitnessReleaseMsg;

export interface WitnessReply {
  readonly module: string;
  readonly node: NodeId;
  readonly request_id: number;
  readonly granted: boolean;
  readonly lease_ms: number;
  readonly epoch: number;
  /** 'challenge': not a decision; the request did not echo the witness's challenge (resend it). */
  readonly reason: 'granted' | 'held-by-other' | 'stale-epoch' | 'challenge';
}

export function initWitness(lease_ms: number): WitnessState {
  return { lease_ms, modules: {} };
}

export function witnessStep(state: WitnessState, input: WitnessInput, now_ms: number): { state: WitnessState; reply: WitnessReply | null } {
  // Own keys only: a name like "constructor" must not read Object.prototype's member.
  const rec: WitnessModuleRecord = (Object.hasOwn(state.modules, input.module) ? state.modules[input.module] : undefined) ?? { lease: null, epoch: 0, confirmed: 0 };
  if (input.type === 'Release') {
    if (rec.lease?.holder !== input.node) return { state, reply: null };
    const granted_by = rec.lease.request_id;
    if (input.up_to_request_id !== undefined && granted_by !== undefined && granted_by > input.up_to_request_id) return { state, reply: null };
    return { state: withRecord(state, input.module, { ...rec, lease: null }), reply: null };
  }
  const lease_ms = Math.min(input.lease_ms ?? state.lease_ms, state.lease_ms);
  const reply = (granted: boolean, reason: WitnessReply['reason'], epoch: number): WitnessReply => ({
    module: input.module,
    node: input.node,
    request_id: input.request_id,
    granted,
    lease_ms,
    epoch,
    reason,
  });
  const live = rec.lease !== null && rec.lease.until_ms > now_ms;
  if (live && rec.lease?.holder !== input.node) return { state, reply: reply(false, 'held-by-other', rec.epoch) };
  // A copy older than the newest confirmed epoch misses writes. An epoch assigned but never
  // confirmed (the node crashed or missed the reply) holds no writes and blocks nobody.
  if (!input.force && input.epoch < rec.confirmed) return { state, reply: reply(false, 'stale-epoch', rec.confirmed) };
  const newest = Math.max(rec.epoch, input.epoch);
  const epoch = input.bump ? newest + 1 : input.epoch;
  const next: WitnessModuleRecord = {
    lease: { holder: input.node, until_ms: now_ms + lease_ms, request_id: input.request_id },
    epoch: Math.max(newest, epoch),
    confirmed: input.bump ? rec.confirmed : Math.max(rec.confirmed, input.epoch),
  };
  return { state: withRecord(state, input.module, next), reply: reply(true, 'granted', epoch) };
}

function withRecord(state: WitnessState, module: string, rec: WitnessModuleRecord): WitnessState {
  return { ...state, modules: { ...state.modules, [module]: rec } };
}
