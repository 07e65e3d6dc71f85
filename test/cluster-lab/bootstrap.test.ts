// A cluster in three commands, in the lab (docs/cluster.md, "Build a cluster"): hakitd runs
// on every node before any configuration (as the package starts it), `hakit cluster init` on
// node1, `hakit cluster join` on node2, `hakit module install --all-nodes`; no daemon restart.
// Bad tokens (wrong, used, expired), a taken name and another cluster are refused with their
// codes and change nothing.
import path from 'node:path';
import { Lab } from '../lab';
import { hakit, mustHakit, ROOT, startDaemon, until, waitDaemon, moduleState, writeOn } from '../lab/demo/cluster-setup';

const LAB = 'join';
const WAIT_MS = 30_000;
let lab: Lab;

beforeAll(async () => {
  await Lab.destroy(LAB);
  lab = await Lab.up({ name: LAB, nodes: 3, lans: 1 });
  for (const n of ['node1', 'node2', 'node3']) await startDaemon(lab, n);
  for (const n of ['node1', 'node2', 'node3']) expect(await waitDaemon(lab, n, WAIT_MS)).toBe(true);
}, 120_000);

afterAll(async () => {
  await Lab.destroy(LAB);
}, 60_000);

async function confExists(host: string): Promise<boolean> {
  return (await lab.exec(host, ['test', '-e', '/etc/hakit/cluster.xml'])).code === 0;
}

function tokenOf(out: string): string {
  const m = /--token (hkj1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{22})/.exec(out) ?? /^(hkj1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{22})$/m.exec(out);
  if (!m) throw new Error(`no token in: ${out}`);
  return m[1]!;
}

test('init, join, install on all nodes, bad tokens refused', async () => {
  const a1 = lab.addr('node1', 0);
  // An unconfigured hakitd waits and answers.
  expect((await hakit(lab, 'node1', ['state'])).code).toBe(0);

  const init = await mustHakit(lab, 'node1', ['cluster', 'init', '--name', 'lab', '--node', 'node1', '--lan', `default=${a1}`]);
  expect(init).toMatch(/first admin of the console and API: user admin password \S{12,}/);
  expect(init).toMatch(/hakitd applied the configuration and started/);
  const token = tokenOf(init);

  // Wrong token: refused at the handshake, nothing written.
  const wrong = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  const w = await hakit(lab, 'node2', ['cluster', 'join', a1, '--token', wrong, '--node', 'node2']);
  expect(w.code).toBe(1);
  expect(w.out).toMatch(/HAKIT_E_JOIN_TOKEN_UNKNOWN/);
  expect(await confExists('node2')).toBe(false);
  // Malformed token.
  expect((await hakit(lab, 'node2', ['cluster', 'join', a1, '--token', 'nope'])).out).toMatch(/HAKIT_E_JOIN_TOKEN_MALFORMED/);

  // The good token, from the environment (kept out of the shell history).
  const t0 = Date.now();
  const joined = await lab.exec('node2', ['env', `HAKIT_JOIN_TOKEN=${token}`, process.execPath, path.join(ROOT, 'dist/core/cli/main.js'), 'cluster', 'join', a1, '--node', 'node2'], { cwd: ROOT, timeout_ms: 60_000 });
  expect(joined.stdout + joined.stderr).toMatch(/joined cluster lab as node2/);
  process.stdout.write(`join took ${Date.now() - t0} ms\n`);
  const xml2 = (await lab.exec('node2', ['cat', '/etc/hakit/cluster.xml'])).stdout;
  expect(xml2).toMatch(/node name="node1"/);
  expect(xml2).toMatch(/node name="node2"/);
  expect((await lab.exec('node1', ['cat', '/etc/hakit/cluster.xml'])).stdout).toBe(xml2);
  expect((await lab.exec('node2', ['stat', '-c', '%a', '/etc/hakit/cluster.key'])).stdout.trim()).toBe('600');

  // Replay of the used token, from another node: refused with its code, nothing written there.
  const replay = await hakit(lab, 'node3', ['cluster', 'join', a1, '--token', token, '--node', 'node3']);
  expect(replay.out).toMatch(/HAKIT_E_JOIN_TOKEN_USED/);
  expect(await confExists('node3')).toBe(false);
  // A name already taken.
  const t2 = (await mustHakit(lab, 'node1', ['cluster', 'token'])).trim();
  expect((await hakit(lab, 'node3', ['cluster', 'join', a1, '--token', tokenOf(t2), '--node', 'node2'])).out).toMatch(/HAKIT_E_JOIN_NAME_TAKEN/);
  // An expired token.
  const t3 = tokenOf((await mustHakit(lab, 'node1', ['cluster', 'token', '--ttl', '1s'])).trim());
  await new Promise((r) => setTimeout(r, 1500));
  expect((await hakit(lab, 'node3', ['cluster', 'join', a1, '--token', t3, '--node', 'node3'])).out).toMatch(/HAKIT_E_JOIN_TOKEN_EXPIRED/);
  // A node of another cluster.
  await writeOn(lab, 'node3', '/etc/hakit/cluster.xml', `<cluster name="other">\n  <lan name="default">\n    <node name="x3" addr="${lab.addr('node3', 0)}"/>\n  </lan>\n</cluster>\n`);
  expect((await hakit(lab, 'node3', ['cluster', 'join', a1, '--token', tokenOf(t2), '--node', 'node3'])).out).toMatch(/HAKIT_E_JOIN_OTHER_CLUSTER/);
  expect((await lab.exec('node1', ['cat', '/etc/hakit/cluster.xml'])).stdout).not.toMatch(/node3/);

  // The example mirror module on every node at once, from its directory with the site's VIP
  // (as README's "Install on your servers" shows), applied without restarting hakitd.
  const inst = await mustHakit(lab, 'node1', ['module', 'install', path.join(ROOT, 'modules/examples/mirror_http'), '--all-nodes', '--macro', `VIRTUAL_IP=${lab.spareAddr(0, 50)}`]);
  expect(inst).toMatch(/node2: installed release 1/);
  expect((await lab.exec('node2', ['cat', '/var/lib/hakit/modules/mirror_http/conf/userconfig.xml'])).stdout).toContain(`value="${lab.spareAddr(0, 50)}"`);
  expect((await hakit(lab, 'node1', ['module', 'install', path.join(ROOT, 'modules/examples/mirror_http'), '--macro', 'NO_SUCH=1'])).out).toMatch(/HAKIT_E_USAGE: --macro: userconfig.xml has no <macro name="NO_SUCH">/);
  for (const n of ['node1', 'node2']) await mustHakit(lab, n, ['start', '-m', 'mirror_http']);
  await mustHakit(lab, 'node1', ['prim', '-m', 'mirror_http']);
  await mustHakit(lab, 'node2', ['second', '-m', 'mirror_http']);
  expect(await until(async () => (await moduleState(lab, 'node1', 'mirror_http'))?.state === 'PRIM' && (await moduleState(lab, 'node2', 'mirror_http'))?.state === 'SECOND', WAIT_MS)).toBe(true);
}, 240_000);
