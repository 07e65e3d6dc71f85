import { BUCKET_COUNT, type BucketMember } from './members';

/**
 * Exact share of each member (largest remainder method): floor(256 * power / total), then the
 * buckets left over go one each to the largest fractional parts, ties to the smaller id.
 * `members` must be canonical (sorted by id).
 */
export function bucketQuotas(members: readonly BucketMember[]): number[] {
  const total = members.reduce((sum, m) => sum + m.power, 0);
  const exact = members.map((m) => (BUCKET_COUNT * m.power) / total);
  const quotas = exact.map((x) => Math.floor(x));
  const leftover = BUCKET_COUNT - quotas.reduce((sum, q) => sum + q, 0);
  const byRemainder = exact
    .map((x, index) => ({ index, remainder: x - Math.floor(x) }))
    .sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (let k = 0; k < leftover; k++) {
    const pick = byRemainder[k];
    if (pick) quotas[pick.index] = (quotas[pick.index] ?? 0) + 1;
  }
  return quotas;
}
