// Bucket ownership as an idempotent effect (core/farm/pure/ownership.ts): the plan names the
// desired owned set; once applied, planning again asks for nothing until a renewal is due.
import { FILTER_RETRY_MAX_MS, filterRetryDelay, leaseLost, mayHoldUntil, ownershipPlan, type OwnershipInput } from '../../../core/farm/pure/ownership';
import { farmShare } from '../../../core/farm/pure/share';

const powers = { node1: 1, node2: 1 };
const share = farmShare({ self: 'node1', state: 'UP', status: 'Ready', leaving: false, powers, peers: [{ node: 'node2', reachable: true, state: 'UP', status: 'Ready', farm: { leaving: false, applied: ['node1', 'node2'] } }] });
const base: OwnershipInput = { self: 'node1', now_ms: 10_000, share, owned: [], leaseStart_ms: 0, holdUntil_ms: 0, lease: { lease_ms: 1_800, renew_ms: 600 } };

describe('ownershipPlan', () => {
  test('desired set → apply; applying it again changes nothing until the renewal is due', () => {
    const first = ownershipPlan(base);
    expect(first.apply).toBe(true);
    expect(first.want).toEqual(share.owned);
    expect(first.want.length).toBe(128);
    expect(first.applied).toEqual(['node1', 'node2']);
    const applied: OwnershipInput = { ...base, owned: first.want, leaseStart_ms: base.now_ms };
    expect(ownershipPlan(applied)).toEqual({ ...first, apply: false });
    expect(ownershipPlan({ ...applied, now_ms: base.now_ms + 299 }).apply).toBe(false);
    // Half a renewal interval later the same set is applied again: only its expiry moves.
    const renew = ownershipPlan({ ...applied, now_ms: base.now_ms + 300 });
    expect(renew).toEqual({ ...first, apply: true });
  });

  test('without a lease an applied set is never re-applied', () => {
    expect(ownershipPlan({ ...base, lease: null, owned: share.owned, now_ms: 1e9 }).apply).toBe(false);
  });

  test('after a lost lease: own nothing and announce nothing until the hold ends', () => {
    const held = ownershipPlan({ ...base, owned: share.owned, holdUntil_ms: base.now_ms + 1 });
    expect(held).toEqual({ want: [], apply: true, applied: null });
    expect(ownershipPlan({ ...base, owned: [], holdUntil_ms: base.now_ms + 1 }).apply).toBe(false);
    expect(ownershipPlan({ ...base, owned: [], holdUntil_ms: base.now_ms }).want).toEqual(share.owned);
  });
});

describe('leaseLost', () => {
  const ok = { now_ms: 10_000, lastRenewTick_ms: 9_500, leaseStart_ms: 9_500, owned: 128, lease_ms: 1_800 };
  test('a renewal within the lease keeps it', () => expect(leaseLost(ok)).toBeNull());
  test('a stalled event loop loses it', () => expect(leaseLost({ ...ok, lastRenewTick_ms: 8_200 })).toMatch(/event loop stalled/));
  test('a slow renewal of a held set loses it; an empty set has nothing to lose', () => {
    expect(leaseLost({ ...ok, leaseStart_ms: 8_200 })).toMatch(/last renewal started 1800 ms ago/);
    expect(leaseLost({ ...ok, leaseStart_ms: 8_200, owned: 0 })).toBeNull();
  });
});

describe('after filter failures', () => {
  test('the retry delay doubles from one renewal interval and stays bounded', () => {
    expect([1, 2, 3, 4].map((n) => filterRetryDelay(n, 583))).toEqual([583, 1166, 2332, 4664]);
    expect(filterRetryDelay(5, 583)).toBe(FILTER_RETRY_MAX_MS);
    expect(filterRetryDelay(1000, 583)).toBe(FILTER_RETRY_MAX_MS);
    expect(filterRetryDelay(3, 6_000)).toBe(6_000); // never faster than the renewals
  });

  test('the kernel may hold buckets until the last call with elements could have committed, plus a lease', () => {
    expect(mayHoldUntil(1_000, 1_750, 10_000)).toBe(12_750);
    expect(mayHoldUntil(Number.NEGATIVE_INFINITY, 1_750, 10_000)).toBe(Number.NEGATIVE_INFINITY);
  });
});
