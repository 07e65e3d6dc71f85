import fc from 'fast-check';
import {
  BUCKET_COUNT,
  BucketInputError,
  bucketCounts,
  bucketOwners,
  bucketQuotas,
  bucketsOf,
  canonicalMembers,
  measureChurn,
  minimumMoves,
  movedBuckets,
  type BalanceMode,
  type BucketMember,
} from '../../../filters/buckets';

const idArb = fc.string({ minLength: 1, maxLength: 12 });
const membersArb = (maxCount: number, maxPower: number): fc.Arbitrary<BucketMember[]> =>
  fc
    .uniqueArray(idArb, { minLength: 1, maxLength: maxCount })
    .chain((ids) => fc.tuple(...ids.map((id) => fc.integer({ min: 1, max: maxPower }).map((power) => ({ id, power })))));

const PROPERTY_RUNS = 60;
const MODES: BalanceMode[] = ['exact', 'rendezvous'];

describe('bucket ownership', () => {
  test.each(MODES)('%s: every bucket has exactly one owner, a member', (mode) => {
    fc.assert(
      fc.property(membersArb(10, 100), (members) => {
        const table = bucketOwners(members, mode);
        expect(table).toHaveLength(BUCKET_COUNT);
        const ids = new Set(members.map((m) => m.id));
        for (const owner of table) expect(ids.has(owner)).toBe(true);
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });

  test.each(MODES)('%s: deterministic and independent of member order', (mode) => {
    fc.assert(
      fc.property(membersArb(10, 100).chain((ms) => fc.tuple(fc.constant(ms), fc.shuffledSubarray(ms, { minLength: ms.length }))), ([members, shuffled]) => {
        expect(bucketOwners(shuffled, mode)).toEqual(bucketOwners(members, mode));
        expect(bucketOwners(members, mode)).toEqual(bucketOwners(members.map((m) => ({ ...m })), mode));
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });

  test('exact: every member owns its quota, within one bucket of 256 * power / total', () => {
    fc.assert(
      fc.property(membersArb(16, 1000), (members) => {
        const table = bucketOwners(members, 'exact');
        const total = members.reduce((s, m) => s + m.power, 0);
        const counts = bucketCounts(table);
        for (const m of members) {
          const ideal = (BUCKET_COUNT * m.power) / total;
          expect(Math.abs((counts.get(m.id) ?? 0) - ideal)).toBeLessThan(1);
        }
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });

  test('rendezvous: a leave moves exactly the leaver\'s buckets, a join only the buckets the joiner takes', () => {
    fc.assert(
      fc.property(membersArb(10, 50), idArb, fc.integer({ min: 1, max: 50 }), (members, joinerId, joinerPower) => {
        fc.pre(!members.some((m) => m.id === joinerId));
        const before = bucketOwners(members, 'rendezvous');
        const joined = bucketOwners([...members, { id: joinerId, power: joinerPower }], 'rendezvous');
        before.forEach((owner, b) => expect(joined[b] === owner || joined[b] === joinerId).toBe(true));
        expect(movedBuckets(before, joined)).toBe(minimumMoves(before, joined));
        if (members.length > 1) {
          const leaver = members[0]!.id;
          const left = bucketOwners(members.slice(1), 'rendezvous');
          before.forEach((owner, b) => {
            if (owner !== leaver) expect(left[b]).toBe(owner);
          });
          expect(movedBuckets(before, left)).toBe(bucketsOf(before, leaver).length);
        }
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });

  test('exact: a leave or join moves at most a few buckets more than the minimum', () => {
    // Worst excess measured over 3000 random clusters of 1..12 members: 19 buckets.
    const EXCESS_BOUND_BUCKETS = 32;
    fc.assert(
      fc.property(membersArb(12, 20), idArb, (members, joinerId) => {
        fc.pre(!members.some((m) => m.id === joinerId));
        const before = bucketOwners(members, 'exact');
        const joined = bucketOwners([...members, { id: joinerId, power: 1 }], 'exact');
        expect(movedBuckets(before, joined) - minimumMoves(before, joined)).toBeLessThanOrEqual(EXCESS_BOUND_BUCKETS);
        if (members.length > 1) {
          const left = bucketOwners(members.slice(1), 'exact');
          expect(movedBuckets(before, left) - minimumMoves(before, left)).toBeLessThanOrEqual(EXCESS_BOUND_BUCKETS);
          // the leaver's buckets always move
          expect(movedBuckets(before, left)).toBeGreaterThanOrEqual(bucketsOf(before, members[0]!.id).length);
        }
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });

  test('rendezvous: mean share follows the weights over 40 clusters', () => {
    // 4 members with powers 1..4: expected 25.6, 51.2, 76.8, 102.4 buckets. Averaged over 40
    // clusters the mean share must be within 5 % of the weight.
    const clusters = 40;
    const sums = [0, 0, 0, 0];
    for (let t = 0; t < clusters; t++) {
      const table = bucketOwners([1, 2, 3, 4].map((p) => ({ id: `c${t}-m${p}`, power: p })), 'rendezvous');
      [1, 2, 3, 4].forEach((p, i) => (sums[i] = (sums[i] ?? 0) + bucketsOf(table, `c${t}-m${p}`).length));
    }
    [1, 2, 3, 4].forEach((p, i) => {
      const share = (sums[i] ?? 0) / (clusters * BUCKET_COUNT);
      expect(Math.abs(share - p / 10)).toBeLessThan(0.05 * (p / 10) + 0.005);
    });
  });

  test('power chain 1, 64, 4096: 0/4/252 buckets; without the 4096 member: 4/252', () => {
    const chain = [
      { id: 'standby2', power: 1 },
      { id: 'standby1', power: 64 },
      { id: 'primary', power: 4096 },
    ];
    const counts = bucketCounts(bucketOwners(chain));
    expect([counts.get('standby2') ?? 0, counts.get('standby1'), counts.get('primary')]).toEqual([0, 4, 252]);
    const without = bucketCounts(bucketOwners(chain.slice(0, 2)));
    expect([without.get('standby2'), without.get('standby1')]).toEqual([4, 252]);
  });

  test('power chain 1, 1024, 1048576: strict standby (the strongest member owns all 256)', () => {
    const chain = [
      { id: 'c', power: 1 },
      { id: 'b', power: 1024 },
      { id: 'a', power: 1048576 },
    ];
    expect(bucketCounts(bucketOwners(chain)).get('a')).toBe(256);
    expect(bucketCounts(bucketOwners(chain.slice(0, 2))).get('b')).toBe(256);
    expect(bucketCounts(bucketOwners(chain.slice(0, 1))).get('c')).toBe(256);
  });

  test('power 0 members are spares: no buckets while a weighted member is UP, equal shares when only spares are', () => {
    const spares = [
      { id: 's1', power: 0 },
      { id: 's2', power: 0 },
    ];
    expect(bucketCounts(bucketOwners([...spares, { id: 'w', power: 3 }])).get('w')).toBe(256);
    const counts = bucketCounts(bucketOwners(spares));
    expect([counts.get('s1'), counts.get('s2')]).toEqual([128, 128]);
  });

  test('quotas sum to 256 (largest remainder)', () => {
    fc.assert(
      fc.property(membersArb(40, 1_000_000), (members) => {
        expect(bucketQuotas(canonicalMembers(members)).reduce((s, q) => s + q, 0)).toBe(BUCKET_COUNT);
      }),
      { numRuns: PROPERTY_RUNS },
    );
  });

  test('bad input is refused with BucketInputError', () => {
    expect(() => bucketOwners([])).toThrow(BucketInputError);
    expect(() => bucketOwners([{ id: 'a', power: -1 }])).toThrow(/power -1/);
    expect(() => bucketOwners([{ id: 'a', power: 1.5 }])).toThrow(BucketInputError);
    expect(() => bucketOwners([{ id: 'a', power: 1 }, { id: 'a', power: 2 }])).toThrow(/twice/);
    expect(() => bucketOwners([{ id: '', power: 1 }])).toThrow(/empty id/);
  });

  test('churn for 64 nodes (benchmark figure): rendezvous is minimal, exact moves a bounded excess', () => {
    const rendezvous = measureChurn(64, 5, 'rendezvous');
    expect(rendezvous.leave.moved).toBe(rendezvous.leave.minimum);
    expect(rendezvous.join.moved).toBe(rendezvous.join.minimum);
    const exact = measureChurn(64, 5, 'exact');
    expect(exact.leave.minimum).toBe(5 * 4);
    expect(exact.leave.worst_excess).toBeLessThanOrEqual(32);
  });
});
