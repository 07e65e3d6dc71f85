// Bucket ownership: a pure function of the UP members and their powers. Every node computes
// the same table from the same member list, in any order.
//
// Each (member, bucket) pair gets a weighted rendezvous score ln(power) - ln(-ln(u)), u uniform
// from hash(member, bucket); the member with the highest score for a bucket would win it with
// probability power / total (plain weighted rendezvous hashing).
//
// 'exact' (default): pairs are taken from the highest score down and a bucket goes to the first
// member that still has room under its exact quota (bucketQuotas). Shares are exact (±1 bucket);
// a leave or join moves a few buckets more than the minimum (measured by churn.ts).
// 'rendezvous': every bucket goes to its top-scoring member. A leave moves exactly the leaver's
// buckets, a join exactly the joiner's, but shares are only proportional on average
// (3 equal members: 85 ± 7 buckets each).
import { hashString32, unitInterval } from './hash';
import { BUCKET_COUNT, canonicalMembers, loadMembers, type BucketMember } from './members';
import { bucketQuotas } from './quotas';

export type BalanceMode = 'exact' | 'rendezvous';

/** Owner id of each bucket: index = bucket number 0..255. */
export type BucketTable = readonly string[];

const MEMBER_SEED_A = 0x68616b31; // 'hak1'
const MEMBER_SEED_B = 0x68616b32; // 'hak2'

/** Score matrix: scores[bucket][memberIndex]. */
function scoreMatrix(members: readonly BucketMember[]): number[][] {
  const keys = members.map((m) => ({
    a: hashString32(m.id, MEMBER_SEED_A),
    b: hashString32(m.id, MEMBER_SEED_B),
    logPower: Math.log(m.power),
  }));
  const scores: number[][] = [];
  for (let bucket = 0; bucket < BUCKET_COUNT; bucket++) {
    scores.push(keys.map((k) => k.logPower - Math.log(-Math.log(unitInterval(k.a, k.b, bucket)))));
  }
  return scores;
}

function rendezvousOwners(scores: readonly (readonly number[])[]): number[] {
  return scores.map((row) => {
    let best = 0;
    for (let i = 1; i < row.length; i++) if ((row[i] ?? -Infinity) > (row[best] ?? -Infinity)) best = i;
    return best;
  });
}

function exactOwners(scores: readonly (readonly number[])[], quotas: readonly number[]): number[] {
  const pairs: { score: number; bucket: number; member: number }[] = [];
  scores.forEach((row, bucket) => row.forEach((score, member) => pairs.push({ score, bucket, member })));
  // Ties (never seen in practice) fall back to bucket then member order so the result stays total.
  pairs.sort((x, y) => y.score - x.score || x.bucket - y.bucket || x.member - y.member);
  const owner = new Array<number>(BUCKET_COUNT).fill(-1);
  const taken = quotas.map(() => 0);
  let assigned = 0;
  for (const p of pairs) {
    if (owner[p.bucket] !== -1 || (taken[p.member] ?? 0) >= (quotas[p.member] ?? 0)) continue;
    owner[p.bucket] = p.member;
    taken[p.member] = (taken[p.member] ?? 0) + 1;
    if (++assigned === BUCKET_COUNT) break;
  }
  return owner;
}

/** Owner of each of the 256 buckets. Throws BucketInputError on an empty or bad member list. */
export function bucketOwners(members: readonly BucketMember[], balance: BalanceMode = 'exact'): BucketTable {
  const sorted = loadMembers(canonicalMembers(members));
  const scores = scoreMatrix(sorted);
  const owners = balance === 'exact' ? exactOwners(scores, bucketQuotas(sorted)) : rendezvousOwners(scores);
  return owners.map((index) => {
    const m = sorted[index];
    if (!m) throw new Error(`bucket ownership left a bucket without owner (index ${index})`);
    return m.id;
  });
}

/** The buckets `id` owns in `table`, ascending. */
export function bucketsOf(table: BucketTable, id: string): number[] {
  const owned: number[] = [];
  table.forEach((owner, bucket) => {
    if (owner === id) owned.push(bucket);
  });
  return owned;
}

/** Number of buckets per owner. */
export function bucketCounts(table: BucketTable): Map<string, number> {
  const counts = new Map<string, number>();
  for (const owner of table) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  return counts;
}
