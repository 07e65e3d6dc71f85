// Who should be primary when both nodes decide from the same data (each node's persisted
// record as announced). Both nodes compute the same answer, so no extra round-trip is needed.
import type { NodeId } from '../../membership/pure/types';
import type { PersistedRole } from './types';

export interface Candidate {
  readonly node: NodeId;
  readonly epoch: number;
  readonly copyComplete: boolean;
  readonly lastRole: PersistedRole;
  readonly tookOver: boolean;
}

const ROLE_RANK: Record<PersistedRole, number> = { none: 0, SECOND: 1, PRIM: 2, ALONE: 3 };

/** A node may be chosen only if it knows its copy is complete and has served or replicated. */
export function eligible(c: Candidate): boolean {
  return c.copyComplete && c.lastRole !== 'none';
}

/**
 * Order: higher epoch (newer data); then the node that did NOT take over from SECOND (the
 * split-brain rule: the side that was SECOND before the cut yields); then the stronger last
 * role; then defaultprim; then the smaller node name. Returns the better candidate.
 */
export function better(a: Candidate, b: Candidate, defaultprim: NodeId | null): Candidate {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch ? a : b;
  if (a.tookOver !== b.tookOver) return a.tookOver ? b : a;
  if (ROLE_RANK[a.lastRole] !== ROLE_RANK[b.lastRole]) return ROLE_RANK[a.lastRole] > ROLE_RANK[b.lastRole] ? a : b;
  if (defaultprim === a.node || defaultprim === b.node) return defaultprim === a.node ? a : b;
  return a.node < b.node ? a : b;
}

/** The node that should become primary at start, or null (the operator must run `prim`). */
export function pickPrimary(a: Candidate, b: Candidate, defaultprim: NodeId | null): NodeId | null {
  const ea = eligible(a);
  const eb = eligible(b);
  if (!ea && !eb) return null;
  if (ea !== eb) return ea ? a.node : b.node;
  return better(a, b, defaultprim).node;
}

/** Split brain healed (both serve and see each other): the node that must yield. */
export function splitBrainLoser(a: Candidate, b: Candidate, defaultprim: NodeId | null): NodeId {
  if (a.tookOver !== b.tookOver) return a.tookOver ? a.node : b.node;
  return better(a, b, defaultprim).node === a.node ? b.node : a.node;
}
