// Several arbitrators with a majority rule (docs/geo.md). A node asks every arbitrator for a
// module's ticket (lease) and holds it only when a majority granted it. Two majorities always
// share an arbitrator, and an arbitrator grants a live ticket to one node at a time, so two
// sites never both hold it; an epoch confirmed at a majority is seen by at least one member of
// any later majority, which refuses an older copy (the stale-copy rule holds too).
//
// The combined answer, as the node counts it from its request's send time:
// - granted: a majority granted; the lease is the shortest of their grants (each is valid from
//   that arbitrator's receipt, after the send), the epoch the highest they returned (a bump
//   is the newest + 1 at each; a renewal names the node's own epoch);
// - refused: so many refused or failed that a majority can no longer grant.

/** One arbitrator's answer, or the combined one (the shape of the runner's TicketAnswer). */
export interface TicketAnswer {
  readonly granted: boolean;
  readonly lease_ms: number;
  readonly epoch: number;
}

export function majorityOf(n: number): number {
  return Math.floor(n / 2) + 1;
}

export interface QuorumTally {
  readonly n: number;
  readonly grants: readonly TicketAnswer[];
  readonly refusals: number;
  /** Arbitrators that did not answer in time (or whose client failed). */
  readonly failures: number;
  /** Highest epoch any answer carried (for a refusal's epoch). */
  readonly epoch: number;
  /** Arbitrators (by index) already counted: a duplicated answer counts once. */
  readonly answered: readonly number[];
}

export function newTally(n: number, epoch: number): QuorumTally {
  return { n, grants: [], refusals: 0, failures: 0, epoch, answered: [] };
}

/** Counts arbitrator `arb`'s answer once; a second answer of the same arbitrator changes nothing. */
export function addAnswer(t: QuorumTally, arb: number, answer: TicketAnswer | 'failed'): QuorumTally {
  if (arb < 0 || arb >= t.n || t.answered.includes(arb)) return t;
  const answered = [...t.answered, arb];
  if (answer === 'failed') return { ...t, failures: t.failures + 1, answered };
  const epoch = Math.max(t.epoch, answer.epoch);
  return answer.granted ? { ...t, grants: [...t.grants, answer], epoch, answered } : { ...t, refusals: t.refusals + 1, epoch, answered };
}

export type QuorumDecision = { readonly kind: 'granted' | 'refused'; readonly grant: TicketAnswer } | { readonly kind: 'unanswered' } | null;

/** The combined answer once it is known; null while a majority may still grant. */
export function decide(t: QuorumTally): QuorumDecision {
  const need = majorityOf(t.n);
  if (t.grants.length >= need) {
    return {
      kind: 'granted',
      grant: { granted: true, lease_ms: Math.min(...t.grants.map((g) => g.lease_ms)), epoch: Math.max(...t.grants.map((g) => g.epoch)) },
    };
  }
  const lost = t.refusals + t.failures;
  if (t.n - lost >= need) return null;
  // No majority can grant any more: a refusal if anyone refused, else nobody answered.
  return t.refusals > 0 ? { kind: 'refused', grant: { granted: false, lease_ms: 0, epoch: t.epoch } } : { kind: 'unanswered' };
}
