// The architectures SafeKit users build, on one 3-node lab cluster, each checked through a
// power cut of node1 and its return (docs/architectures.md):
//   active/active  aa_1 PRIM on node1 and aa_2 PRIM on node2, each the other's backup;
//   N-to-1         n1_a (node1) and n1_b (node2) share node3 as their backup;
//   mixed          farm_http on the three nodes, beside the mirror modules;
//   light          solo on node3 alone: a checker restarts it in place, no failover.
// Every mirror module is the example mirror_http installed under another name with its own
// nodes, VIP, port and directory (`hakit module install DIR -m NAME --macro ...`).
import path from 'node:path';
import { Lab } from '../lab';
import { clusterXml, configureCluster, hakit, mustHakit, packageAndInstall, ROOT, setMacro, startDaemon, until, waitDaemon, moduleState } from '../lab/demo/cluster-setup';

const LAB = 'arch';
const NODES = ['node1', 'node2', 'node3'] as const;
const WAIT_MS = 60_000;

interface MirrorInstance {
  name: string;
  prim: string;
  second: string;
  port: number;
  vip: number;
}

// VIP host numbers on LAN 0 (lab.spareAddr), ports on every node: each instance its own.
const MIRRORS: readonly MirrorInstance[] = [
  { name: 'aa_1', prim: 'node1', second: 'node2', port: 9180, vip: 60 },
  { name: 'aa_2', prim: 'node2', second: 'node1', port: 9181, vip: 61 },
  { name: 'n1_a', prim: 'node1', second: 'node3', port: 9182, vip: 62 },
  { name: 'n1_b', prim: 'node2', second: 'node3', port: 9183, vip: 63 },
];

let lab: Lab;

async function stateOf(host: string, module: string): Promise<string> {
  return (await moduleState(lab, host, module))?.state ?? 'unreachable';
}

/** Every module's state on every live node, e.g. {aa_1: {node1: 'PRIM', node2: 'SECOND'}}. */
async function snapshot(hosts: readonly string[]): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const m of MIRRORS) {
    out[m.name] = {};
    for (const h of [m.prim, m.second]) if (hosts.includes(h)) (out[m.name] as Record<string, string>)[h] = await stateOf(h, m.name);
  }
  return out;
}

/** farm_http's bucket counts per member as one node sees them, from `hakit state --json`. */
async function farmCounts(host: string): Promise<Record<string, number> | undefined> {
  const r = await hakit(lab, host, ['state', '-m', 'farm_http', '--json'], 5000);
  if (r.code !== 0) return undefined;
  try {
    const m = (JSON.parse(r.out) as { modules: Array<{ state: string; farm?: { counts: Record<string, number> } }> }).modules[0];
    return m?.state === 'UP' ? m.farm?.counts : undefined;
  } catch {
    return undefined;
  }
}

function matches(seen: Record<string, Record<string, string>>, want: Record<string, Record<string, string>>): boolean {
  return Object.entries(want).every(([m, byNode]) => Object.entries(byNode).every(([n, s]) => seen[m]?.[n] === s));
}

beforeAll(async () => {
  await Lab.destroy(LAB);
  lab = await Lab.up({ name: LAB, nodes: 3, client: true, lans: 1 });
  await configureCluster(lab, NODES, clusterXml(lab, 'arch', NODES, [{ name: 'default', lan: 0 }]), NODES);
  const examples = path.join(ROOT, 'modules', 'examples');
  await packageAndInstall(lab, NODES, path.join(examples, 'farm_http'), 'farm_http', (x) => setMacro(x, 'VIRTUAL_IP', lab.spareAddr(0, 59)));
  for (const m of MIRRORS) {
    const nodes = [m.prim, m.second].sort();
    const patch = (x: string): string =>
      setMacro(setMacro(setMacro(setMacro(x, 'VIRTUAL_IP', lab.spareAddr(0, m.vip)), 'DATA_DIR', `/srv/${m.name}/data`), 'HTTP_PORT', String(m.port)), 'NODES', nodes.join(' '));
    await packageAndInstall(lab, nodes, path.join(examples, 'mirror_http'), m.name, patch);
    for (const n of nodes) expect((await lab.exec(n, ['mkdir', '-p', `/srv/${m.name}/data`])).code).toBe(0);
  }
  for (const n of NODES) await startDaemon(lab, n);
  for (const n of NODES) expect(await waitDaemon(lab, n, WAIT_MS)).toBe(true);
  for (const n of NODES) await mustHakit(lab, n, ['start', '-m', 'farm_http']);
  for (const m of MIRRORS) {
    await mustHakit(lab, m.prim, ['start', '-m', m.name]);
    await mustHakit(lab, m.second, ['start', '-m', m.name]);
    await mustHakit(lab, m.prim, ['prim', '-m', m.name]);
    await mustHakit(lab, m.second, ['second', '-m', m.name]);
  }
  const want = Object.fromEntries(MIRRORS.map((m) => [m.name, { [m.prim]: 'PRIM', [m.second]: 'SECOND' }]));
  expect(await until(async () => matches(await snapshot(NODES), want), WAIT_MS)).toBe(true);
  expect(await until(async () => (await farmCounts('node1'))?.['node3'] !== undefined && Object.values((await farmCounts('node1')) ?? {}).every((c) => c > 0), WAIT_MS)).toBe(true);
}, 300_000);

afterAll(async () => {
  await Lab.destroy(LAB);
}, 60_000);

test('power cut of node1: each architecture ends where it should, then node1 comes back as backup', async () => {
  const t0 = Date.now();
  await lab.kill('node1');
  // active/active: both modules on node2, which was PRIM of one and SECOND of the other.
  // N-to-1: node3 takes n1_a; n1_b (node2 -> node3) is untouched.
  const afterCut = {
    aa_1: { node2: 'ALONE' },
    aa_2: { node2: 'ALONE' },
    n1_a: { node3: 'ALONE' },
    n1_b: { node2: 'PRIM', node3: 'SECOND' },
  };
  const live = ['node2', 'node3'];
  expect(await until(async () => matches(await snapshot(live), afterCut), WAIT_MS)).toBe(true);
  const takeover_ms = Date.now() - t0;
  // mixed: the farm's survivors hold all 256 buckets, node1 none.
  const farmOk = async (): Promise<boolean> => {
    const c = await farmCounts('node2');
    return c !== undefined && (c['node1'] ?? 0) === 0 && (c['node2'] ?? 0) + (c['node3'] ?? 0) === 256;
  };
  const farmTaken = await until(farmOk, WAIT_MS);
  if (!farmTaken) for (const n of live) process.stdout.write(`${n}: ${JSON.stringify(await farmCounts(n))} ${(await hakit(lab, n, ['state', '-v', '-m', 'farm_http'], 5000)).out}\n`);
  expect(farmTaken).toBe(true);
  // Served where the table says: each VIP answers from its new PRIM.
  for (const m of MIRRORS) {
    const r = await lab.exec('client', ['curl', '-sS', '-m', '3', '-o', '/dev/null', '-w', '%{http_code}', `http://${lab.spareAddr(0, m.vip)}:${m.port}/`]);
    expect(`${m.name} ${r.stdout}`).toBe(`${m.name} 200`);
  }

  await lab.powerOn('node1');
  await startDaemon(lab, 'node1');
  expect(await waitDaemon(lab, 'node1', WAIT_MS)).toBe(true);
  for (const m of MIRRORS.filter((x) => x.prim === 'node1' || x.second === 'node1')) await mustHakit(lab, 'node1', ['start', '-m', m.name]);
  await mustHakit(lab, 'node1', ['start', '-m', 'farm_http']);
  // The survivors keep serving (no failback); node1 is the backup of what it had.
  const afterReturn = {
    aa_1: { node2: 'PRIM', node1: 'SECOND' },
    aa_2: { node2: 'PRIM', node1: 'SECOND' },
    n1_a: { node3: 'PRIM', node1: 'SECOND' },
    n1_b: { node2: 'PRIM', node3: 'SECOND' },
  };
  expect(await until(async () => matches(await snapshot(NODES), afterReturn), WAIT_MS * 2)).toBe(true);
  const farmBack = await until(async () => Object.values((await farmCounts('node2')) ?? {}).filter((c) => c > 0).length === 3, WAIT_MS);
  if (!farmBack) for (const n of NODES) process.stdout.write(`${n}: ${(await hakit(lab, n, ['state', '-v', '-m', 'farm_http'], 5000)).out}\n`);
  expect(farmBack).toBe(true);
  process.stdout.write(`architectures: takeover of every module ${takeover_ms} ms after the power cut; all back with node1 as backup ${Date.now() - t0} ms after it\n`);
}, 400_000);

// A light module: the mirror_http application on node3 only, watched by a TCP checker.
const LIGHT_XML = `<safe>
  <service mode="light" nodes="node3" maxloop="3" loop_interval="24">
    <user starttimeout="30s" nicestoptimeout="30s" forcestoptimeout="10s">
      <var name="MIRROR_HTTP_PORT" value="9190"/>
      <var name="MIRROR_HTTP_DATA" value="/srv/solo/data"/>
    </user>
    <check>
      <tcp ident="http" when="both" action="restart">
        <to addr="127.0.0.1" port="9190" interval="1s" timeout="1s" fall="2"/>
      </tcp>
    </check>
  </service>
</safe>
`;

test('light module: UP on its one node; its application killed, the checker restarts it there', async () => {
  expect((await lab.exec('node3', ['mkdir', '-p', '/srv/solo/data'])).code).toBe(0);
  await packageAndInstall(lab, ['node3'], path.join(ROOT, 'modules', 'examples', 'mirror_http'), 'solo', () => LIGHT_XML);
  expect(await until(async () => (await hakit(lab, 'node3', ['state', '-m', 'solo'], 5000)).code === 0, WAIT_MS)).toBe(true);
  await mustHakit(lab, 'node3', ['start', '-m', 'solo']);
  const up = async (): Promise<boolean> => {
    const s = await moduleState(lab, 'node3', 'solo');
    return s?.state === 'UP' && s.status === 'Ready';
  };
  expect(await until(up, WAIT_MS)).toBe(true);
  const pidFile = '/run/hakit/solo/mirror_http.pid';
  const pid1 = Number((await lab.exec('node3', ['cat', pidFile])).stdout.trim());
  expect(pid1).toBeGreaterThan(0);
  expect((await lab.exec('node3', ['kill', '-9', String(pid1)])).code).toBe(0);
  const t0 = Date.now();
  const restarted = async (): Promise<boolean> => {
    const pid = Number((await lab.exec('node3', ['cat', pidFile])).stdout.trim());
    return pid > 0 && pid !== pid1 && (await up());
  };
  expect(await until(restarted, WAIT_MS)).toBe(true);
  const r = await lab.exec('node3', ['curl', '-sS', '-m', '3', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:9190/']);
  expect(r.stdout).toBe('200');
  process.stdout.write(`light module: application killed, restarted in place and Ready ${Date.now() - t0} ms later\n`);
}, 180_000);
