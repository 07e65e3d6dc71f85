// Split brain with a witness: two real hakitd and a real hakit-witness in three namespaces.
// The heartbeat LAN joins node1 and node2; each node reaches the witness over its own link.
// Cutting the heartbeat LAN leaves exactly one side serving (the lease holder).
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { controlRequest } from '../../../core/control/client';
import type { StateResult } from '../../../core/control/api';
import { linkVeth, Netns, sh } from '../../support/netns';
import { makeNodeDirs, type NodeDirs } from '../helpers/node-dirs';
import { twoNodeCluster, twoNodeMirrorUserconfig } from '../helpers/two-node-config';
import { until } from '../../support/until';

const NS = { n1: 'hd-ws1', n2: 'hd-ws2', w: 'hd-wsw' };
const VIP = '198.18.204.50';
const WITNESS_ADDR = '198.18.207.254';
const KEY = Buffer.from('witness-test-key-0123456789abcdef');
const CLUSTER = twoNodeCluster('hdwit', 204);
const USERCONFIG = twoNodeMirrorUserconfig(VIP, `<check><splitbrain exec="ping" arg="${WITNESS_ADDR}"/></check>`);
const SCRIPTS = { start_prim: 'echo "prim $HAKIT_NODE" > "$HAKIT_RUN_DIR/app"', stop_prim: 'echo "stopped $HAKIT_NODE" > "$HAKIT_RUN_DIR/app"' };

const procs: ChildProcess[] = [];
const dirs: NodeDirs[] = [];

const nets = { n1: new Netns(NS.n1), n2: new Netns(NS.n2), w: new Netns(NS.w) };

function destroy(): void {
  for (const ns of Object.values(nets)) ns.down();
}

function topology(): void {
  for (const ns of Object.values(nets)) ns.up();
  const link = (a: Netns, ifa: string, addrA: string, b: Netns, ifb: string, addrB: string): void =>
    linkVeth({ ns: a, ifname: ifa, cidr: addrA }, { ns: b, ifname: ifb, cidr: addrB });
  link(nets.n1, 'hdws1', '198.18.204.1/24', nets.n2, 'hdws2', '198.18.204.2/24'); // heartbeat LAN
  link(nets.n1, 'hdws1w', '198.18.205.1/24', nets.w, 'hdwsw1', '198.18.205.254/24');
  link(nets.n2, 'hdws2w', '198.18.206.2/24', nets.w, 'hdwsw2', '198.18.206.254/24');
  nets.w.addAddr(`${WITNESS_ADDR}/32`, 'lo');
  sh(['ip', '-n', NS.n1, 'route', 'add', `${WITNESS_ADDR}/32`, 'via', '198.18.205.254']);
  sh(['ip', '-n', NS.n2, 'route', 'add', `${WITNESS_ADDR}/32`, 'via', '198.18.206.254']);
}

function spawnBuilt(ns: string, script: string, args: string[]): ChildProcess {
  const c = new Netns(ns).spawnNode(script, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  c.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  c.on('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`${script} in ${ns} exited ${code}: ${err}\n`);
  });
  procs.push(c);
  return c;
}

async function state(d: NodeDirs): Promise<string> {
  try {
    const r = (await controlRequest(path.join(d.run, 'hakitd.sock'), 'state', { module: 'web' }, 2000)) as StateResult;
    return r.modules[0]!.state;
  } catch {
    return 'unreachable';
  }
}

async function command(d: NodeDirs, kind: string): Promise<void> {
  await controlRequest(path.join(d.run, 'hakitd.sock'), 'command', { module: 'web', command: { kind } }, 5000);
}


const vipOn = (ns: string): boolean => sh(['ip', '-n', ns, '-4', 'addr', 'show']).stdout.includes(`${VIP}/`);

beforeAll(() => {
  topology();
  dirs.push(makeNodeDirs('ws1', CLUSTER, KEY, { web: { userconfig: USERCONFIG, scripts: SCRIPTS } }));
  dirs.push(makeNodeDirs('ws2', CLUSTER, KEY, { web: { userconfig: USERCONFIG, scripts: SCRIPTS } }));
  dirs.push(makeNodeDirs('wsw', CLUSTER, KEY, {}));
});

afterAll(async () => {
  for (const c of procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  destroy();
  for (const d of dirs) d.remove();
});

it('with the heartbeat LAN cut, only the lease holder serves', async () => {
  const [d1, d2, dw] = [dirs[0]!, dirs[1]!, dirs[2]!];
  spawnBuilt(NS.w, 'core/witness/main.ts', ['--address', WITNESS_ADDR, '--key-file', path.join(dw.conf, 'cluster.key'), '--state-dir', dw.state, '--log-dir', dw.log]);
  for (const [ns, node, d] of [[NS.n1, 'node1', d1], [NS.n2, 'node2', d2]] as const) {
    spawnBuilt(ns, 'core/daemon/main.ts', ['--node', node, '--conf-dir', d.conf, '--state-dir', d.state, '--run-dir', d.run, '--log-dir', d.log, '--log-level', 'debug']);
  }
  await until('daemons up', async () => (await state(d1)) === 'STOP' && (await state(d2)) === 'STOP', 20_000);
  await command(d1, 'start');
  await command(d2, 'start');
  await until('both WAIT', async () => (await state(d1)) === 'WAIT' && (await state(d2)) === 'WAIT', 10_000);
  await command(d1, 'prim');
  await until('node1 serves', async () => ['ALONE', 'PRIM'].includes(await state(d1)), 10_000);
  await command(d2, 'second');
  await until('PRIM + SECOND', async () => (await state(d1)) === 'PRIM' && (await state(d2)) === 'SECOND', 15_000);
  expect(vipOn(NS.n1)).toBe(true);

  // Cut the only heartbeat LAN with a filter, not by taking the link down: a down link is
  // the VIP interface failing, which the interface checker rightly answers with stopstart.
  sh(['ip', 'netns', 'exec', NS.n1, 'nft', 'add table inet hdcut; add chain inet hdcut in { type filter hook input priority 0; }; add chain inet hdcut out { type filter hook output priority 0; }; add rule inet hdcut in iifname "hdws1" drop; add rule inet hdcut out oifname "hdws1" drop']);
  await until('node1 ALONE', async () => (await state(d1)) === 'ALONE', 10_000);
  // node2 lost its PRIM too, but the witness keeps the lease with node1: node2 must not serve.
  const deadline = Date.now() + 8000;
  while (Date.now() < deadline) {
    const s2 = await state(d2);
    expect(['SECOND', 'WAIT']).toContain(s2);
    expect(vipOn(NS.n2)).toBe(false);
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(await state(d1)).toBe('ALONE');
  expect(vipOn(NS.n1)).toBe(true);
  const witnessLog = fs.readFileSync(path.join(dw.log, 'hakitd.log'), 'utf8');
  expect(witnessLog).toMatch(/"node":"node2".*"granted":false|"granted":false.*"node":"node2"/);
}, 90_000);
