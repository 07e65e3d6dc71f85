// How many buckets a membership change moves, against the least possible. Used by the
// property tests and by the farm benchmark (`npm run bench -- farm`).
import { type BucketMember } from './members';
import { bucketCounts, bucketOwners, type BalanceMode, type BucketTable } from './ownership';

/** Buckets whose owner differs between two tables. */
export function movedBuckets(before: BucketTable, after: BucketTable): number {
  let moved = 0;
  before.forEach((owner, bucket) => {
    if (after[bucket] !== owner) moved++;
  });
  return moved;
}

/**
 * The least number of buckets any reassignment must move to turn `before` into a table with
 * the per-member counts of `after`: every member that ends with fewer buckets than it had
 * (a leaver ends with 0) must give the difference away.
 */
export function minimumMoves(before: BucketTable, after: BucketTable): number {
  const had = bucketCounts(before);
  const has = bucketCounts(after);
  let minimum = 0;
  for (const [id, count] of had) minimum += Math.max(0, count - (has.get(id) ?? 0));
  return minimum;
}

export interface ChurnFigures {
  readonly events: number;
  readonly moved: number;
  readonly minimum: number;
  readonly worst_excess: number;
}

export interface ChurnReport {
  readonly node_count: number;
  readonly balance: BalanceMode;
  readonly leave: ChurnFigures;
  readonly join: ChurnFigures;
}

function tally(pairs: readonly { moved: number; minimum: number }[]): ChurnFigures {
  return {
    events: pairs.length,
    moved: pairs.reduce((s, p) => s + p.moved, 0),
    minimum: pairs.reduce((s, p) => s + p.minimum, 0),
    worst_excess: pairs.reduce((w, p) => Math.max(w, p.moved - p.minimum), 0),
  };
}

/**
 * For `trials` clusters of `nodeCount` equal members (names vary per trial), one member
 * leaves, and separately one new member joins: buckets moved vs the minimum.
 */
export function measureChurn(nodeCount: number, trials: number, balance: BalanceMode = 'exact'): ChurnReport {
  const leaves: { moved: number; minimum: number }[] = [];
  const joins: { moved: number; minimum: number }[] = [];
  for (let t = 0; t < trials; t++) {
    const members: BucketMember[] = Array.from({ length: nodeCount }, (_, i) => ({ id: `node-${t}-${i}`, power: 1 }));
    const before = bucketOwners(members, balance);
    if (nodeCount > 1) {
      const after = bucketOwners(members.filter((_, i) => i !== t % nodeCount), balance);
      leaves.push({ moved: movedBuckets(before, after), minimum: minimumMoves(before, after) });
    }
    const joined = bucketOwners([...members, { id: `joiner-${t}`, power: 1 }], balance);
    joins.push({ moved: movedBuckets(before, joined), minimum: minimumMoves(before, joined) });
  }
  return { node_count: nodeCount, balance, leave: tally(leaves), join: tally(joins) };
}

