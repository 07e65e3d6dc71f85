// The farm filter with real nftables in namespaces (prefix hf): 3 nodes and a client on a
// bridge, the VIP on every node, one tiny server per node answering its name.
import { bucketOwners, bucketsOf, type BucketMember } from '../../filters/buckets';
import { NftFilterBackend, spawnRunner, type FilterBackend } from '../../filters/nft';
import { validateFarmFilter, type ValidFarmFilter } from '../../filters/pure';
import {
  CLIENT_ADDR,
  CLIENT_EXTRA_ADDRS,
  farmNetUp,
  PORT_ON_ADDR,
  PORT_ON_PORT,
  PORT_UDP,
  PORT_UNLISTED,
  VIP,
  type ClientDriver,
  type FarmNet,
} from './netns-fixture';

interface BurstResult {
  counts: Record<string, number>;
  errors: Record<string, number>;
}
interface ProbeResult {
  same?: number;
  by_node: Record<string, number>;
  [other: string]: unknown;
}

const SPREAD_CONNECTIONS = 3000;
const SPREAD_TOLERANCE = 0.05; // ±5 percentage points of the total around each node's share
const LONG_LIVED_CONNECTIONS = 90;
const MEMBERS: BucketMember[] = [1, 2, 3].map((i) => ({ id: `node${i}`, power: 1 }));

let net: FarmNet;
let client: ClientDriver;
let filter: ValidFarmFilter;
const backends: FilterBackend[] = [];
const timings: { transaction_ms: number; elapsed_ms: number }[] = [];

function config(): ValidFarmFilter {
  const r = validateFarmFilter({
    module: 'hfweb',
    interface: 'eth0',
    groups: [
      {
        vips: [VIP],
        rules: [
          { proto: 'tcp', ports: [PORT_ON_PORT], balance: 'on_port' },
          { proto: 'tcp', ports: [PORT_ON_ADDR], balance: 'on_addr' },
          { proto: 'udp', ports: [PORT_UDP], balance: 'on_port' },
        ],
      },
    ],
  });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.filter;
}

async function applyOwnership(members: readonly BucketMember[]): Promise<Map<string, number[]>> {
  const table = bucketOwners(members);
  const owned = new Map(MEMBERS.map((m) => [m.id, bucketsOf(table, m.id)]));
  // One node after the other, as each real node would on its own cores (this machine's two
  // cores are shared by every namespace).
  for (const [i, b] of backends.entries()) {
    const report = await b.setOwned(filter, owned.get(`node${i + 1}`) ?? []);
    timings.push({ transaction_ms: report.transaction_ms, elapsed_ms: report.elapsed_ms });
  }
  return owned;
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((s, n) => s + n, 0);
}

beforeAll(async () => {
  net = farmNetUp('hf', 3);
  await net.startServers();
  filter = config();
  const table = bucketOwners(MEMBERS);
  for (const [i, ns] of net.nodes.entries()) {
    const b = new NftFilterBackend({ run: spawnRunner(net.inNs(ns)) });
    backends.push(b);
    await b.load(filter, bucketsOf(table, `node${i + 1}`));
  }
  client = await net.startClient();
}, 60_000);

afterAll(async () => {
  try {
    await client?.request({ op: 'closeAll' });
    await Promise.all(backends.map((b) => b.remove(filter.module)));
  } finally {
    net?.down();
  }
  if (timings.length > 0) {
    const median = (xs: number[]): string => [...xs].sort((a, b) => a - b)[xs.length >> 1]!.toFixed(1);
    const tx = timings.map((t) => t.transaction_ms);
    const all = timings.map((t) => t.elapsed_ms);
    console.log(`nft ownership update over ${timings.length} node updates (via ip netns exec): transaction median ${median(tx)} ms, with read-back median ${median(all)} ms, max ${Math.max(...all).toFixed(1)} ms`);
  }
}, 30_000);

test('the client learns the virtual multicast MAC for the VIP (ARP passes the filter)', () => {
  net.sh(net.client, ['ping', '-c', '1', '-W', '1', VIP]);
  expect(net.sh(net.client, ['ip', 'neigh', 'show', VIP])).toContain(filter.virtual_mac);
});

test(`on_port: ${SPREAD_CONNECTIONS} connections spread within ±5 % of the shares, none fails`, async () => {
  const r = await client.request<BurstResult>({ op: 'burst', port: PORT_ON_PORT, count: SPREAD_CONNECTIONS, concurrency: 40 });
  expect(r.errors).toEqual({});
  expect(sum(r.counts)).toBe(SPREAD_CONNECTIONS);
  const table = bucketOwners(MEMBERS);
  const lines = MEMBERS.map((m) => {
    const share = bucketsOf(table, m.id).length / 256;
    const got = (r.counts[m.id] ?? 0) / SPREAD_CONNECTIONS;
    expect(Math.abs(got - share)).toBeLessThanOrEqual(SPREAD_TOLERANCE);
    return `${m.id} ${(got * 100).toFixed(1)} % (share ${(share * 100).toFixed(1)} %)`;
  });
  console.log(`on_port spread over ${SPREAD_CONNECTIONS}: ${lines.join(', ')}`);
}, 120_000);

test('on_addr: all connections from one client IP land on one node; different IPs spread', async () => {
  const nodeOf = new Map<string, string>();
  for (const addr of CLIENT_EXTRA_ADDRS) {
    const r = await client.request<BurstResult>({ op: 'burst', port: PORT_ON_ADDR, count: 30, concurrency: 10, localAddress: addr });
    expect(r.errors).toEqual({});
    expect(Object.keys(r.counts)).toHaveLength(1);
    nodeOf.set(addr, Object.keys(r.counts)[0]!);
  }
  expect(new Set(nodeOf.values()).size).toBeGreaterThan(1);
}, 60_000);

test('UDP: every request gets exactly one answer, from every node', async () => {
  const r = await client.request<{ counts: Record<string, number>; none: number; dup: number }>({ op: 'udp', port: PORT_UDP, count: 300, concurrency: 30 });
  expect(r.none).toBe(0);
  expect(r.dup).toBe(0);
  expect(Object.keys(r.counts).sort()).toEqual(['node1', 'node2', 'node3']);
}, 60_000);

test('traffic matching no rule is served by the owner of bucket 0 only', async () => {
  const bucket0Owner = bucketOwners(MEMBERS)[0];
  const r = await client.request<BurstResult>({ op: 'burst', port: PORT_UNLISTED, count: 100, concurrency: 10 });
  expect(r.errors).toEqual({});
  expect(r.counts).toEqual({ [bucket0Owner!]: 100 });
}, 60_000);

test('non-owners keep no conntrack entry for flows they dropped', async () => {
  const src = CLIENT_EXTRA_ADDRS[0]!;
  const r = await client.request<BurstResult>({ op: 'burst', port: PORT_ON_PORT, count: 200, concurrency: 20, localAddress: src });
  expect(r.errors).toEqual({});
  net.nodes.forEach((ns, i) => {
    const entries = net
      .sh(ns, ['cat', '/proc/net/nf_conntrack'])
      .split('\n')
      .filter((l) => l.includes(`src=${src} `) && l.includes(`dport=${PORT_ON_PORT} `));
    expect(entries.length).toBe(r.counts[`node${i + 1}`] ?? 0);
  });
}, 60_000);

test('moving buckets breaks no established connection; new connections go to the new owners', async () => {
  // A: opened while all three own buckets.
  const a = await client.request<BurstResult>({ op: 'open', port: PORT_ON_PORT, count: LONG_LIVED_CONNECTIONS });
  expect(a.errors).toEqual({});
  expect(Object.keys(a.counts).sort()).toEqual(['node1', 'node2', 'node3']);

  // node3's buckets go to node1 and node2 while node3 and its connections stay alive.
  const without3 = await applyOwnership(MEMBERS.slice(0, 2));
  expect(without3.get('node3')).toEqual([]);
  const during = await client.request<ProbeResult>({ op: 'probe' });
  expect(during.same).toBe(LONG_LIVED_CONNECTIONS);
  const fresh = await client.request<BurstResult>({ op: 'burst', port: PORT_ON_PORT, count: 300, concurrency: 20 });
  expect(fresh.errors).toEqual({});
  expect(fresh.counts.node3 ?? 0).toBe(0);

  // B: opened while node3 owns nothing; about a third of them sit in buckets that go back to
  // node3 below, and must stay with node1/node2.
  const b = await client.request<BurstResult>({ op: 'open', port: PORT_ON_PORT, count: LONG_LIVED_CONNECTIONS });
  expect(b.errors).toEqual({});
  expect(b.counts.node3 ?? 0).toBe(0);

  // node3 comes back: its buckets return.
  await applyOwnership(MEMBERS);
  const after = await client.request<ProbeResult>({ op: 'probe' });
  expect(after.same).toBe(2 * LONG_LIVED_CONNECTIONS);
  const back = await client.request<BurstResult>({ op: 'burst', port: PORT_ON_PORT, count: 300, concurrency: 20 });
  expect(back.errors).toEqual({});
  expect(back.counts.node3 ?? 0).toBeGreaterThan(0);
  await client.request({ op: 'closeAll' });
  const broken = 2 * LONG_LIVED_CONNECTIONS - (after.same ?? 0);
  console.log(
    `rebalance: long-lived A ${JSON.stringify(a.counts)} B ${JSON.stringify(b.counts)}, broken ${broken}; ` +
      `new connections while node3 owned nothing ${JSON.stringify(fresh.counts)}, after its return ${JSON.stringify(back.counts)}`,
  );
}, 120_000);

test('client base address is untouched by the per-IP tests', () => {
  expect(net.sh(net.client, ['ip', '-4', 'addr', 'show', 'dev', 'eth0'])).toContain(CLIENT_ADDR);
});
