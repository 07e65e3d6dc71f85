// Two real hakitd processes in two network namespaces (H6's `hd` prefix), the real module
// machine, real heartbeats, real VIP, real scripts, driven through the real `hakit` CLI:
// first start (both WAIT) → prim on node1 → second on node2 → kill -9 node1's daemon →
// node2 takes over with the VIP → SIGTERM node2 stops the module cleanly and exits 0.
import { spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { controlRequest } from '../../../core/control/client';
import type { StateResult } from '../../../core/control/api';
import { makePair, sh, type NsPair } from '../helpers/netns';
import { distPath } from '../../support/dist';
import { Netns } from '../../support/netns';
import { makeNodeDirs, type NodeDirs } from '../helpers/node-dirs';
import { twoNodeCluster, twoNodeMirrorUserconfig } from '../helpers/two-node-config';
import { until } from '../../support/until';

const SUBNET = 203;
const VIP = `198.18.${SUBNET}.50`;
const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const CLUSTER = twoNodeCluster('hdtest', SUBNET);
const USERCONFIG = twoNodeMirrorUserconfig(VIP, `<user starttimeout="10s" nicestoptimeout="10s" forcestoptimeout="5s">
      <var name="APP_MARK" value="hello"/>
    </user>`);
const SCRIPTS = {
  start_prim: 'echo "prim $HAKIT_NODE $HAKIT_FROM_STATE>$HAKIT_TO_STATE $APP_MARK" > "$HAKIT_RUN_DIR/app"; echo started app',
  stop_prim: 'echo "stopped $HAKIT_NODE" > "$HAKIT_RUN_DIR/app"',
};

let pair: NsPair | undefined;
const nodes: NodeDirs[] = [];
const daemons: ChildProcess[] = [];

function startDaemon(ns: string, node: string, d: NodeDirs): ChildProcess {
  const child = new Netns(ns).spawnNode('core/daemon/main.ts',
    ['--node', node, '--conf-dir', d.conf, '--state-dir', d.state, '--run-dir', d.run, '--log-dir', d.log, '--log-level', 'debug'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`hakitd ${node} exited ${code}: ${err}\n`);
  });
  daemons.push(child);
  return child;
}

function hakit(d: NodeDirs, args: string[]): { code: number; stdout: string; stderr: string } {
  const t0 = Date.now();
  try {
    return hakitRun(d, args);
  } finally {
    if (process.env['HD_TRACE']) process.stdout.write(`hakit ${args.join(' ')}: ${Date.now() - t0} ms\n`);
  }
}

function hakitRun(d: NodeDirs, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [distPath('core/cli/main.ts'), ...args], {
    env: { ...process.env, HAKIT_RUN_DIR: d.run }, encoding: 'utf8', timeout: 30_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const sock = (d: NodeDirs): string => path.join(d.run, 'hakitd.sock');

async function moduleState(d: NodeDirs): Promise<string> {
  try {
    const r = (await controlRequest(sock(d), 'state', { module: 'web' }, 2000)) as StateResult;
    return `${r.modules[0]!.state}/${r.modules[0]!.status}`;
  } catch {
    return 'unreachable';
  }
}


const vipOn = (ns: string): boolean => sh(['ip', '-n', ns, '-4', 'addr', 'show']).stdout.includes(`${VIP}/24`);

beforeAll(() => {
  pair = makePair('dm', SUBNET);
  nodes.push(makeNodeDirs('n1', CLUSTER, KEY, { web: { userconfig: USERCONFIG, scripts: SCRIPTS } }));
  nodes.push(makeNodeDirs('n2', CLUSTER, KEY, { web: { userconfig: USERCONFIG, scripts: SCRIPTS } }));
});

afterAll(async () => {
  for (const c of daemons) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  pair?.destroy();
  for (const n of nodes) n.remove();
});

it('first start, prim, second, failover on daemon kill, clean stop on SIGTERM', async () => {
  const p = pair!;
  const [n1, n2] = [nodes[0]!, nodes[1]!];
  const d1 = startDaemon(p.a, 'node1', n1);
  startDaemon(p.b, 'node2', n2);
  await until('both daemons answer', async () => (await moduleState(n1)) !== 'unreachable' && (await moduleState(n2)) !== 'unreachable', 20_000);
  expect(hakit(n1, ['state', '-m', 'web', '-l', '-q']).code).toBe(0); // STOP

  expect(hakit(n1, ['start', '-m', 'web']).code).toBe(0);
  expect(hakit(n2, ['start', '-m', 'web']).code).toBe(0);
  await until('both WAIT', async () => (await moduleState(n1)) === 'WAIT/NotReady' && (await moduleState(n2)) === 'WAIT/NotReady', 10_000).catch(async (e: Error) => {
    throw new Error(`${e.message}: node1 ${await moduleState(n1)}, node2 ${await moduleState(n2)}\n${fs.readFileSync(path.join(n1.log, 'modules', 'web.log'), 'utf8')}`);
  });
  expect(hakit(n1, ['state', '-m', 'web', '-lq']).code).toBe(1);

  const refused = hakit(n2, ['second', '-m', 'web']); // the peer is not primary yet
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/HAKIT_E_/);
  expect(await moduleState(n2)).toBe('WAIT/NotReady');

  expect(hakit(n1, ['prim', '-m', 'web']).code).toBe(0);
  expect(hakit(n1, ['waitstate', '-m', 'web', 'ALONE,PRIM', '--timeout', '10']).code).toBe(0);
  expect(vipOn(p.a)).toBe(true);
  expect(fs.readFileSync(path.join(n1.run, 'app'), 'utf8')).toBe('prim node1 WAIT>ALONE hello\n');

  expect(hakit(n2, ['second', '-m', 'web']).code).toBe(0);
  expect(hakit(n2, ['waitstate', '-m', 'web', 'SECOND', '--timeout', '10']).code).toBe(0);
  expect(hakit(n1, ['waitstate', '-m', 'web', 'PRIM', '--timeout', '10']).code).toBe(0);
  expect(hakit(n2, ['state', '-m', 'web', '-lq']).code).toBe(4);
  const verbose = hakit(n2, ['state', '-v']);
  expect(verbose.stdout).toMatch(/peer node1\s+PRIM/);
  expect(vipOn(p.b)).toBe(false);
  expect(hakit(n2, ['level', 'warn']).stdout).toBe('warn\n');
  expect(hakit(n2, ['level']).stdout).toBe('warn\n');
  expect(hakit(n2, ['level', 'loud']).code).toBe(1);
  expect(hakit(n2, ['level', 'info']).code).toBe(0);
  // The module's monitor (checkers and rules) is wired to the control socket.
  expect(await controlRequest(sock(n1), 'resources', { module: 'web' })).toMatchObject({ module: 'web', checkers: true });
  const json = JSON.parse(hakit(n1, ['state', '--json']).stdout) as StateResult;
  expect(json.modules[0]).toMatchObject({ module: 'web', state: 'PRIM', copyComplete: true });

  d1.kill('SIGKILL');
  const takeover_ms = await until('node2 ALONE/Ready', async () => (await moduleState(n2)) === 'ALONE/Ready', 10_000);
  expect(vipOn(p.b)).toBe(true);
  expect(fs.readFileSync(path.join(n2.run, 'app'), 'utf8')).toMatch(/^prim node2 SECOND>ALONE hello/);
  process.stdout.write(`takeover after daemon kill (fast profile): ${takeover_ms} ms\n`);

  const d2 = daemons[1]!;
  const exited = new Promise<number | null>((r) => d2.on('exit', (code) => r(code)));
  d2.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(vipOn(p.b)).toBe(false);
  expect(fs.readFileSync(path.join(n2.run, 'app'), 'utf8')).toBe('stopped node2\n');
  expect(hakit(n2, ['state', '-m', 'web', '-lq']).code).toBe(5); // daemon gone
  const unreachable = hakit(n2, ['state']);
  expect(unreachable.code).toBe(1);
  expect(unreachable.stderr).toMatch(/HAKIT_E_DAEMON_UNREACHABLE/);
  const log = fs.readFileSync(path.join(n2.log, 'modules', 'web.log'), 'utf8');
  expect(log).toMatch(/started app/);

  // node1's daemon died with its application running on a capture that died with it. Its VIP
  // expired on its own (fencing by expiry: docs/adr/0005-fencing-by-expiry.md); the new daemon
  // adopts the module (its leftover record says PRIM), stops the application cleanly and waits
  // in WAIT (its peer is gone and its copy is not the only authority: lastRole PRIM).
  expect(vipOn(p.a)).toBe(false);
  const d1again = startDaemon(p.a, 'node1', n1);
  await until('node1 daemon back', async () => (await moduleState(n1)) !== 'unreachable', 20_000);
  await until('node1 adopted and settled in WAIT', async () => (await moduleState(n1)) === 'WAIT/NotReady', 20_000);
  expect(vipOn(p.a)).toBe(false);
  expect(fs.readFileSync(path.join(n1.run, 'app'), 'utf8')).toBe('stopped node1\n');
  expect(fs.readFileSync(path.join(n1.log, 'modules', 'web.log'), 'utf8')).toMatch(/adopt PRIM\/Ready/);
  d1again.kill('SIGTERM');
}, 120_000);
