// The pure farm share rules (core/farm/pure/share.ts, filter-config.ts): members,
// release-before-take, and the leave hand-over condition.
import { farmShare, peersReleased, type FarmPeer } from '../../../core/farm/pure/share';
import { parseWire } from '../../../core/farm/pure/share';

const powers = { node1: 1, node2: 1, node3: 1 };
const up = (node: string, applied: string[] | null, leaving = false): FarmPeer => ({ node, reachable: true, state: 'UP', status: 'Ready', farm: { leaving, applied } });
const all = ['node1', 'node2', 'node3'];

describe('farmShare', () => {
  test('three settled members split the 256 buckets with no overlap', () => {
    const shares = all.map((self) => farmShare({ self, state: 'UP', status: 'Ready', leaving: false, powers, peers: all.filter((n) => n !== self).map((n) => up(n, all)) }));
    const owned = shares.flatMap((s) => s.owned);
    expect(new Set(owned).size).toBe(256);
    expect(owned.length).toBe(256);
    expect(shares.map((s) => s.owned.length).sort()).toEqual([85, 85, 86]);
  });

  test('a node whose application is not up yet, or that is leaving, owns nothing', () => {
    expect(farmShare({ self: 'node1', state: 'UP', status: 'Transient', leaving: false, powers, peers: [] }).owned).toEqual([]);
    expect(farmShare({ self: 'node1', state: 'UP', status: 'Ready', leaving: true, powers, peers: [] }).owned).toEqual([]);
  });

  test('a joiner waits for the old owners to let go (no two nodes accept one bucket)', () => {
    const old = ['node1', 'node2'];
    const joiner = farmShare({ self: 'node3', state: 'UP', status: 'Ready', leaving: false, powers, peers: [up('node1', old), up('node2', old)] });
    expect(joiner.members).toEqual(all);
    expect(joiner.assigned.length).toBe(85);
    expect(joiner.owned).toEqual([]);
    expect(joiner.waiting_for).toEqual(['node1', 'node2']);
    const later = farmShare({ self: 'node3', state: 'UP', status: 'Ready', leaving: false, powers, peers: [up('node1', all), up('node2', old)] });
    expect(later.owned.length).toBeGreaterThan(0);
    expect(later.owned.length).toBeLessThan(85);
    expect(later.waiting_for).toEqual(['node2']);
  });

  test('a dead peer holds nothing (its leases ran out before the timeout): survivors take its buckets at once', () => {
    const dead: FarmPeer = { node: 'node3', reachable: false, state: 'UP', status: 'Ready', farm: { leaving: false, applied: all } };
    const s = farmShare({ self: 'node1', state: 'UP', status: 'Ready', leaving: false, powers, peers: [up('node2', ['node1', 'node2']), dead] });
    expect(s.members).toEqual(['node1', 'node2']);
    expect(s.owned.length).toBe(128);
  });

  test('while this node has not listened for a timeout yet, a silent peer may hold any bucket', () => {
    const silent: FarmPeer = { node: 'node3', reachable: false, state: null, status: null, farm: null };
    const early = farmShare({ self: 'node1', state: 'UP', status: 'Ready', leaving: false, powers, peers: [up('node2', ['node1', 'node2']), silent], listening: true });
    expect(early.assigned.length).toBe(128);
    expect(early.owned).toEqual([]);
    expect(early.waiting_for).toEqual(['node3']);
    const later = farmShare({ self: 'node1', state: 'UP', status: 'Ready', leaving: false, powers, peers: [up('node2', ['node1', 'node2']), silent], listening: false });
    expect(later.owned.length).toBe(128);
  });

  test('a leaving peer is no member; its buckets are taken once it announces none', () => {
    const holding = farmShare({ self: 'node1', state: 'UP', status: 'Ready', leaving: false, powers, peers: [up('node2', ['node1', 'node2']), up('node3', all, true)] });
    expect(holding.members).toEqual(['node1', 'node2']);
    expect(holding.waiting_for).toEqual(['node3']);
    const released = farmShare({ self: 'node1', state: 'UP', status: 'Ready', leaving: false, powers, peers: [up('node2', ['node1', 'node2']), up('node3', null, true)] });
    expect(released.owned.length).toBe(128);
  });

  test('a node unknown to the config is a coded member error, nothing owned', () => {
    const s = farmShare({ self: 'node1', state: 'UP', status: 'Ready', leaving: false, powers: { node1: 1 }, peers: [up('nodeX', ['nodeX'])] });
    expect(s.owned).toEqual([]);
    expect(s.error).toMatch(/nodeX/);
  });

  test('power chain 1/64/4096 gives 0/4/252', () => {
    const p = { node1: 1, node2: 64, node3: 4096 };
    const s = (self: string) => farmShare({ self, state: 'UP', status: 'Ready', leaving: false, powers: p, peers: all.filter((n) => n !== self).map((n) => up(n, all)) }).owned.length;
    expect(all.map(s)).toEqual([0, 4, 252]);
  });
});

describe('leave hand-over', () => {
  test('done once every reachable member applies a list without the leaver', () => {
    expect(peersReleased('node3', [up('node1', all), up('node2', ['node1', 'node2'])])).toEqual({ done: false, pending: ['node1'] });
    expect(peersReleased('node3', [up('node1', ['node1', 'node2']), up('node2', ['node1', 'node2'])]).done).toBe(true);
    expect(peersReleased('node3', [{ ...up('node1', all), reachable: false }]).done).toBe(true);
  });

  test('a malformed farm field of a peer counts as absent', () => {
    expect(parseWire({ leaving: 'yes', applied: [] })).toBeNull();
    expect(parseWire({ leaving: false, applied: [1] })).toBeNull();
    expect(parseWire({ leaving: true, applied: null })).toEqual({ leaving: true, applied: null });
  });
});
