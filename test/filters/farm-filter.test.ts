// The farm filter with real nftables on the lab (test/lab, lab `tfbf`): 3 nodes and a client
// on one LAN, the VIP on every node, one tiny server per node answering its name.
import { bucketOwners, bucketsOf, type BucketMember } from '../../filters/buckets';
import { NftFilterBackend, type FilterBackend } from '../../filters/nft';
import { validateFarmFilter, type ValidFarmFilter } from '../../filters/pure';
import { farmLabUp, PORT_ON_ADDR, PORT_ON_PORT, PORT_UDP, PORT_UDP_VIP, PORT_UNLISTED, type ClientDriver, type FarmLab } from './netns-fixture';
import { spreadFalseFailureBound } from './spread-stats';

interface BurstResult {
  counts: Record<string, number>;
  errors: Record<string, number>;
}
interface ProbeResult {
  same?: number;
  by_node: Record<string, number>;
  [other: string]: unknown;
}

const LAB_NAME = 'tfbf';
/**
 * The issue asks for every node's fraction of on_port connections within ±5 % (relative) of
 * its share. Each connection lands in a bucket given by jhash of (client IP, kernel-chosen
 * source port), so a node's count is binomial(N, share): with 3 equal members (86/85/85
 * buckets) the standard deviation is 0.86 points at N = 3000 and the ±5 % bound (±1.66
 * points) is only 1.9 sigma: about one run in ten would fail. At N = 20 000 the bound is 5.0
 * sigma; the normal tail (Mills ratio, an upper bound; the binomial's skew changes it by < 10 %
 * here) summed over both sides of every node gives a false-failure probability below 3e-6,
 * checked by the first assertion of the test. Connections come from 8 client addresses so
 * that no single (address, port range) hash pattern dominates.
 */
const SPREAD_CONNECTIONS = 20_000;
const SPREAD_TOLERANCE = 0.05; // relative to each node's share
const SPREAD_FALSE_FAILURE_MAX = 1e-4;
const SPREAD_CONCURRENCY_PER_ADDR = 8;
const LONG_LIVED_CONNECTIONS = 90;
const MEMBERS: BucketMember[] = [1, 2, 3].map((i) => ({ id: `node${i}`, power: 1 }));

let farm: FarmLab;
let client: ClientDriver;
let filter: ValidFarmFilter;
const backends: FilterBackend[] = [];
const timings: { transaction_ms: number; elapsed_ms: number }[] = [];

function config(vip: string): ValidFarmFilter {
  const r = validateFarmFilter({
    module: 'hfweb',
    interface: 'eth0',
    groups: [
      {
        vips: [vip],
        rules: [
          { proto: 'tcp', ports: [PORT_ON_PORT], balance: 'on_port' },
          { proto: 'tcp', ports: [PORT_ON_ADDR], balance: 'on_addr' },
          { proto: 'udp', ports: [PORT_UDP], balance: 'on_port' },
          { proto: 'udp', ports: [PORT_UDP_VIP], balance: 'on_port' },
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

function addCounts(into: Record<string, number>, more: Record<string, number>): void {
  for (const [k, n] of Object.entries(more)) into[k] = (into[k] ?? 0) + n;
}

/** Conntrack entries on a node from client address `src` to port `dport`. */
async function conntrackCount(node: string, src: string, dport: number): Promise<number> {
  const out = await farm.sh(node, ['sh', '-c', `grep -F 'src=${src} ' /proc/net/nf_conntrack | grep -F -c 'dport=${dport} ' || true`]);
  return Number(out.trim());
}

beforeAll(async () => {
  farm = await farmLabUp(LAB_NAME, 3);
  await farm.startServers();
  filter = config(farm.vip);
  const table = bucketOwners(MEMBERS);
  for (const node of farm.nodes) {
    const b = new NftFilterBackend({ run: farm.runner(node) });
    backends.push(b);
    await b.load(filter, bucketsOf(table, node));
  }
  client = await farm.startClient();
}, 60_000);

afterAll(async () => {
  try {
    await client?.request({ op: 'closeAll' });
    await Promise.all(backends.map((b) => b.remove(filter.module)));
  } finally {
    await farm?.down();
  }
  if (timings.length > 0) {
    const median = (xs: number[]): string => [...xs].sort((a, b) => a - b)[xs.length >> 1]!.toFixed(1);
    const tx = timings.map((t) => t.transaction_ms);
    const all = timings.map((t) => t.elapsed_ms);
    console.log(`nft ownership update over ${timings.length} node updates (via nsenter): transaction median ${median(tx)} ms, with read-back median ${median(all)} ms, max ${Math.max(...all).toFixed(1)} ms`);
  }
}, 30_000);

test('the client learns the virtual multicast MAC for the VIP (ARP passes the filter)', async () => {
  await farm.sh(farm.client, ['ping', '-c', '1', '-W', '1', farm.vip]);
  expect(await farm.sh(farm.client, ['ip', 'neigh', 'show', farm.vip])).toContain(filter.virtual_mac);
});

test(`on_port: ${SPREAD_CONNECTIONS} connections spread within ±5 % (relative) of the shares, none fails`, async () => {
  const table = bucketOwners(MEMBERS);
  const shares = MEMBERS.map((m) => bucketsOf(table, m.id).length / 256);
  expect(spreadFalseFailureBound(SPREAD_CONNECTIONS, shares, SPREAD_TOLERANCE)).toBeLessThan(SPREAD_FALSE_FAILURE_MAX);

  const per = Math.ceil(SPREAD_CONNECTIONS / farm.spreadAddrs.length);
  const parts = farm.spreadAddrs.map((addr, i) => Math.min(per, SPREAD_CONNECTIONS - i * per));
  const results = await Promise.all(
    farm.spreadAddrs.map((addr, i) =>
      client.request<BurstResult>({ op: 'burst', port: PORT_ON_PORT, count: parts[i], concurrency: SPREAD_CONCURRENCY_PER_ADDR, localAddress: addr }),
    ),
  );
  const counts: Record<string, number> = {};
  const errors: Record<string, number> = {};
  for (const r of results) {
    addCounts(counts, r.counts);
    addCounts(errors, r.errors);
  }
  expect(errors).toEqual({});
  expect(sum(counts)).toBe(SPREAD_CONNECTIONS);
  const lines = MEMBERS.map((m, i) => {
    const share = shares[i]!;
    const got = (counts[m.id] ?? 0) / SPREAD_CONNECTIONS;
    return { ok: Math.abs(got - share) <= SPREAD_TOLERANCE * share, text: `${m.id} ${(got * 100).toFixed(2)} % (share ${(share * 100).toFixed(2)} %, ${(((got - share) / share) * 100).toFixed(2)} % off)` };
  });
  console.log(`on_port spread over ${SPREAD_CONNECTIONS}: ${lines.map((l) => l.text).join(', ')}`);
  expect(lines.filter((l) => !l.ok).map((l) => l.text)).toEqual([]);
}, 120_000);

test('on_addr: all connections from one client IP land on one node; different IPs spread', async () => {
  const nodeOf = new Map<string, string>();
  for (const addr of farm.perIpAddrs) {
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

test('UDP: a long-lived flow follows its bucket when it moves; its old owner stops answering although it still tracks the flow', async () => {
  // One socket, so one source port and one bucket for the whole test. The server answers from
  // the VIP, so the first owner's conntrack entry for the flow is established (it saw the
  // reply) and stays alive: every request refreshes it.
  const { flow } = await client.request<{ flow: number; port: number }>({ op: 'udpFlowOpen' });
  const ask = async (): Promise<string[]> => (await client.request<{ answers: string[] }>({ op: 'udpFlowAsk', flow, port: PORT_UDP_VIP, wait_ms: 300 })).answers;
  try {
    const first = await ask();
    expect(first).toHaveLength(1);
    const oldOwner = first[0]!;
    expect(await ask()).toEqual([oldOwner]);
    // The old owner's buckets go to the others while it stays alive (the same as its set
    // expiring after its hakitd died): from now on only the new owner may answer the flow.
    await applyOwnership(MEMBERS.filter((m) => m.id !== oldOwner));
    const after: string[][] = [];
    for (let i = 0; i < 3; i++) after.push(await ask());
    const newOwner = after[0]![0];
    expect(newOwner).toBeDefined();
    expect(newOwner).not.toBe(oldOwner);
    expect(after).toEqual([[newOwner], [newOwner], [newOwner]]);
  } finally {
    await client.request({ op: 'udpFlowClose', flow });
    await applyOwnership(MEMBERS);
  }
}, 60_000);

test('traffic matching no rule is served by the owner of bucket 0 only', async () => {
  const bucket0Owner = bucketOwners(MEMBERS)[0];
  const r = await client.request<BurstResult>({ op: 'burst', port: PORT_UNLISTED, count: 100, concurrency: 10 });
  expect(r.errors).toEqual({});
  expect(r.counts).toEqual({ [bucket0Owner!]: 100 });
}, 60_000);

test('non-owners keep no conntrack entry for flows they dropped', async () => {
  const src = farm.conntrackAddr;
  const r = await client.request<BurstResult>({ op: 'burst', port: PORT_ON_PORT, count: 200, concurrency: 20, localAddress: src });
  expect(r.errors).toEqual({});
  const entries = await Promise.all(farm.nodes.map((node) => conntrackCount(node, src, PORT_ON_PORT)));
  expect(entries).toEqual(farm.nodes.map((node) => r.counts[node] ?? 0));
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

test('power cut of node3 (detection emulated): new connections all succeed once the survivors take its buckets; on its return it gets its share back and no connection on node1/node2 breaks', async () => {
  const opened = await client.request<BurstResult>({ op: 'open', port: PORT_ON_PORT, count: LONG_LIVED_CONNECTIONS });
  expect(opened.errors).toEqual({});
  const onSurvivors = (opened.counts.node1 ?? 0) + (opened.counts.node2 ?? 0);
  expect(opened.counts.node3 ?? 0).toBeGreaterThan(0);

  // Power cut: node3's links go dead, then its processes die.
  await farm.lab.kill('node3');
  const survivors = bucketOwners(MEMBERS.slice(0, 2));
  await Promise.all([0, 1].map((i) => backends[i]!.setOwned(filter, bucketsOf(survivors, `node${i + 1}`))));
  const during = await client.request<BurstResult>({ op: 'burst', port: PORT_ON_PORT, count: 300, concurrency: 20 });
  expect(during.errors).toEqual({});
  expect(Object.keys(during.counts).sort()).toEqual(['node1', 'node2']);

  // node3 powers on: links up, server up, load() replaces the tables left in its namespace.
  await farm.lab.powerOn('node3');
  await farm.startServer('node3');
  const full = bucketOwners(MEMBERS);
  await backends[2]!.load(filter, bucketsOf(full, 'node3'));
  await Promise.all([0, 1].map((i) => backends[i]!.setOwned(filter, bucketsOf(full, `node${i + 1}`))));
  const probe = await client.request<ProbeResult>({ op: 'probe' });
  // Only node3's own connections died with it.
  expect(probe.same).toBe(onSurvivors);
  const back = await client.request<BurstResult>({ op: 'burst', port: PORT_ON_PORT, count: 300, concurrency: 20 });
  expect(back.errors).toEqual({});
  expect(back.counts.node3 ?? 0).toBeGreaterThan(0);
  await client.request({ op: 'closeAll' });
  console.log(
    `power cut: long-lived ${JSON.stringify(opened.counts)}, ${onSurvivors - (probe.same ?? 0)} broken on node1/node2 after node3's return; ` +
      `new connections during the cut ${JSON.stringify(during.counts)}, after the return ${JSON.stringify(back.counts)}`,
  );
}, 60_000);

test('client base address is untouched by the per-IP tests', async () => {
  expect(await farm.sh(farm.client, ['ip', '-4', 'addr', 'show', 'dev', 'eth0'])).toContain(`${farm.clientAddr}/`);
});
