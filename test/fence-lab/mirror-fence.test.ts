// Issue 14 item 1, mirror: kill -9 of hakitd alone on the PRIM (its application and kernel
// keep running) under client load, two lab nodes, `fast` profile (lab "tm"). Before fencing by
// expiry the old PRIM kept the VIP: once the SECOND took over, both nodes held it, answered
// ARP for it and accepted its connections. Now the old PRIM's VIP expires on its own (kernel
// valid_lft, renewed by the living daemon) and the survivor adds it only once that copy has
// surely gone (docs/adr/0005-fencing-by-expiry.md):
//   - no sample of the two nodes' addresses shows the VIP on both;
//   - no new connection is refused or reset after the takeover bound, none is answered by the
//     old PRIM after the survivor added the VIP, and no refusal (RST+ACK, the answer to a SYN)
//     leaves either node's VIP port after the bound (before it, the survivor refuses while its
//     application starts);
//   - a bare RST (the answer to a segment of a connection the node does not know) after the
//     bound only for a connection stranded on the old PRIM: opened just before its VIP expired,
//     its answer could not leave, and when the client gave up its FIN reached the survivor.
// HAKIT_TEST_DIST=/path/to/dist runs the daemons and CLI of another build (to measure the
// code before a change); default: this repository's dist/.
import { daemonPid as hakitdPid, writeHostFile } from '../lab/testkit';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab } from '../lab';
import { distPath } from '../support/dist';
import { jsonLineDriver, type ClientDriver } from '../filters/netns-fixture';
import { FARM_CLIENT_JS } from '../farm-lab/client-js';
import { createInterface } from 'node:readline';
import { until } from '../support/until';

const LAB = 'tm';
const NODES = ['node1', 'node2'] as const;
const APP_PORT = 9080;
const KEY = 'lab-cluster-key-0123456789abcdef';
const OTHER_DIST = process.env['HAKIT_TEST_DIST'];
const built = (src: string): string => (OTHER_DIST ? path.join(OTHER_DIST, src.replace(/\.ts$/, '.js')) : distPath(src));
const CLI = built('core/cli/main.ts');
const DAEMON = built('core/daemon/main.ts');
const WITNESS = built('core/witness/main.ts');
const NODE = process.execPath;
/** `fast` profile: pulse 150 ms, timeout 800 ms; takeover bound with the VIP hold and slack. */
const TAKEOVER_BOUND_MS = 4_000;
const WATCH_MS = 8_000;
const KILL_AT_MS = 1_000;
const COUNT_TABLE = 'hakit_labcount';

let lab: Lab | undefined;
let client: ClientDriver | undefined;
const children: ChildProcess[] = [];
let vip = '';

function clusterXml(l: Lab): string {
  return `<cluster name="${LAB}">\n  <lan name="lan0">\n${NODES.map((n) => `    <node name="${n}" addr="${l.addr(n, 0)}" port="9010"/>`).join('\n')}\n  </lan>\n</cluster>\n`;
}

function userconfig(l: Lab): string {
  return `<safe>
  <service mode="mirror" nodes="node1 node2" failover="on">
    <heart profile="fast"><heartbeat name="lan0"/></heart>
    <vip><interface_list><interface><real_interface>
      <virtual_addr addr="${vip}" where="one_side_alias"/>
    </real_interface></interface></interface_list></vip>
    <user starttimeout="20s" nicestoptimeout="20s" forcestoptimeout="5s"/>
    <check><splitbrain exec="ping" arg="${l.addr('witness', 0)}"/></check>
  </service>
</safe>
`;
}

// Answers the node name and a newline, as the farm client expects.
const APP = `require('http').createServer((q, r) => r.end(process.env.HAKIT_NODE + '\\n')).listen(${APP_PORT});`;
const START_PRIM = `#!/bin/sh
PID="$HAKIT_RUN_DIR/web-app.pid"
if [ -f "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null; then exit 0; fi
${NODE} -e "$(cat "$HAKIT_MODULE_DIR/bin/app.js")" </dev/null >/dev/null 2>&1 &
echo $! > "$PID"
`;
const STOP_PRIM = `#!/bin/sh
PID="$HAKIT_RUN_DIR/web-app.pid"
[ -f "$PID" ] && kill "$(cat "$PID")" 2>/dev/null
rm -f "$PID"
exit 0
`;

function counterScript(): string {
  return [
    `table ip ${COUNT_TABLE} {`,
    '  chain out {',
    '    type filter hook output priority 0; policy accept;',
    // A refusal carries ACK (RFC 9293 3.10.7.1: the answer to a SYN); the answer to a segment
    // that carries ACK does not.
    `    ip saddr ${vip} tcp sport ${APP_PORT} tcp flags & (rst|ack) == rst|ack counter name rst_refused`,
    `    ip saddr ${vip} tcp sport ${APP_PORT} tcp flags & (rst|ack) == rst counter name rst_bare`,
    '  }',
    '  counter rst_refused { }',
    '  counter rst_bare { }',
    '}',
    '',
  ].join('\n');
}

async function sh(host: string, argv: string[], input?: string): Promise<string> {
  const r = await lab!.exec(host, argv, { timeout_ms: 30_000, ...(input !== undefined ? { input } : {}) });
  if (r.code !== 0) throw new Error(`${host}: ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function write(host: string, file: string, text: string, mode = '644'): Promise<void> {
  return writeHostFile(lab!, host, file, text, mode);
}

async function hakit(host: string, args: string[]): Promise<{ code: number; out: string }> {
  const r = await lab!.exec(host, [NODE, CLI, ...args], { timeout_ms: 60_000 });
  return { code: r.code ?? -1, out: r.stdout + r.stderr };
}

async function stateOf(host: string): Promise<string> {
  const r = await hakit(host, ['state', '-m', 'web', '--json']);
  if (r.code !== 0) return 'unreachable';
  const m = (JSON.parse(r.out) as { modules: Array<{ state: string; status: string }> }).modules[0];
  return m ? `${m.state}/${m.status}` : 'none';
}


async function hasVip(host: string): Promise<boolean> {
  const r = await lab!.exec(host, ['ip', '-o', '-4', 'addr', 'show'], { timeout_ms: 5000 });
  return r.stdout.includes(` ${vip}/`);
}

/** RST packets that left the host's VIP port so far: refusals and bare resets. */
interface RstCounts {
  refused: number;
  reset: number;
}

async function rstCount(host: string): Promise<RstCounts> {
  const doc = JSON.parse(await sh(host, ['nft', '-j', 'list', 'counters', 'table', 'ip', COUNT_TABLE])) as { nftables: Array<{ counter?: { name: string; packets: number } }> };
  const packets = (name: string): number => doc.nftables.find((i) => i.counter?.name === name)?.counter?.packets ?? 0;
  return { refused: packets('rst_refused'), reset: packets('rst_bare') };
}

const rstSince = (now: RstCounts[], before: RstCounts[]): RstCounts[] => now.map((c, i) => ({ refused: c.refused - before[i]!.refused, reset: c.reset - before[i]!.reset }));
const rstText = (c: RstCounts[]): string => c.map((x) => `${x.refused}+${x.reset}`).join('/');

function daemonPid(host: string): number {
  return hakitdPid(lab!, host);
}

async function spawnClient(): Promise<ClientDriver> {
  const child = lab!.spawn('client', [NODE, '-e', FARM_CLIENT_JS, vip, String(APP_PORT), '9']);
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const t = setTimeout(() => reject(new Error('client did not print ready')), 10_000);
    rl.once('line', (l) => {
      clearTimeout(t);
      rl.close();
      if (l === 'ready') resolve();
      else reject(new Error(`client said ${l}`));
    });
  });
  return jsonLineDriver(child);
}

beforeAll(async () => {
  await Lab.destroy(LAB);
  lab = await Lab.up({ name: LAB, nodes: 2, client: true, witness: true });
  vip = lab.spareAddr(0, 52);
  for (const h of ['node1', 'node2', 'witness']) await write(h, '/etc/hakit/cluster.key', KEY, '600');
  for (const h of NODES) {
    await write(h, '/etc/hakit/cluster.xml', clusterXml(lab));
    await write(h, '/var/lib/hakit/modules/web/conf/userconfig.xml', userconfig(lab));
    await write(h, '/var/lib/hakit/modules/web/bin/app.js', APP);
    await write(h, '/var/lib/hakit/modules/web/bin/start_prim', START_PRIM, '755');
    await write(h, '/var/lib/hakit/modules/web/bin/stop_prim', STOP_PRIM, '755');
    await sh(h, ['nft', '-f', '-'], counterScript());
  }
  children.push(lab.spawn('witness', [NODE, WITNESS, '--address', lab.addr('witness', 0), '--key-file', '/etc/hakit/cluster.key'], { stdio: 'ignore' }));
  for (const h of NODES) children.push(lab.spawn(h, [NODE, DAEMON, '--node', h, '--log-level', 'debug'], { stdio: 'ignore' }));
  client = await spawnClient();
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await lab?.down();
}, 60_000);

test('kill -9 of hakitd on the PRIM (application alive): never two holders of the VIP, no connection refused or reset after the takeover', async () => {
  await until('daemons answer', async () => (await stateOf('node1')).startsWith('STOP') && (await stateOf('node2')).startsWith('STOP'), 30_000);
  const ok = async (host: string, args: string[]): Promise<void> => {
    const r = await hakit(host, args);
    if (r.code !== 0) throw new Error(`${host}: hakit ${args.join(' ')} exited ${r.code}: ${r.out}`);
  };
  for (const h of NODES) await ok(h, ['start', '-m', 'web']);
  await ok('node1', ['prim', '-m', 'web']);
  await until('node1 serves', async () => /^(PRIM|ALONE)\/Ready/.test(await stateOf('node1')), 20_000);
  await ok('node2', ['second', '-m', 'web']);
  await until('PRIM/SECOND', async () => (await stateOf('node1')) === 'PRIM/Ready' && (await stateOf('node2')) === 'SECOND/Ready', 30_000);

  const rst0 = await Promise.all(NODES.map((n) => rstCount(n)));
  const clock0 = (await client!.request<{ now: number }>({ op: 'clock' })).now;
  const t0 = Date.now();
  const watching = client!.request<{ attempts: [number, number, string, number][] }>({ op: 'watch', addrs: [lab!.addr('client', 0)], interval_ms: 10, duration_ms: WATCH_MS, ok_ms: 6000 }, 40_000);
  await new Promise((r) => setTimeout(r, KILL_AT_MS));
  const t_kill = Date.now();
  process.kill(daemonPid('node1'), 'SIGKILL');
  const killAt = clock0 + (t_kill - t0);
  let both = 0;
  let rstAtBound: RstCounts[] | null = null;
  let node1_gone_ms = -1;
  let node2_has_ms = -1;
  for (let i = 0; i < 400 && Date.now() - t_kill < WATCH_MS - KILL_AT_MS; i++) {
    const [a, b] = await Promise.all([hasVip('node1'), hasVip('node2')]);
    const at = Date.now() - t_kill;
    if (a && b) both++;
    if (!a && node1_gone_ms < 0) node1_gone_ms = at;
    if (b && node2_has_ms < 0) node2_has_ms = at;
    if (rstAtBound === null && at >= TAKEOVER_BOUND_MS) rstAtBound = await Promise.all(NODES.map((n) => rstCount(n)));
    await new Promise((r) => setTimeout(r, 20));
  }
  const w = await watching;
  const rstEnd = await Promise.all(NODES.map((n) => rstCount(n)));
  const rst = rstSince(rstEnd, rst0);
  const rstLate = rstSince(rstEnd, rstAtBound ?? rst0);
  const tookOver = node2_has_ms >= 0 ? killAt + node2_has_ms : Infinity;
  const fails = w.attempts.filter((a) => a[1] === 0);
  const kinds: Record<string, number> = {};
  for (const f of fails) kinds[f[2]] = (kinds[f[2]] ?? 0) + 1;
  const late = fails.filter((f) => f[0] - killAt > TAKEOVER_BOUND_MS);
  const refusedOrReset = fails.filter((f) => /ECONNREFUSED|ECONNRESET|closed/.test(f[2]) && f[0] - killAt > TAKEOVER_BOUND_MS);
  const oldAfterTakeover = w.attempts.filter((a) => a[2] === 'node1' && a[0] > tookOver).length;
  // Opened before the old PRIM's VIP went, given up by the client: its FIN may meet the survivor.
  const stranded = fails.filter((f) => f[2] === 'timeout' && f[0] - killAt <= Math.max(node1_gone_ms, 0)).length;
  console.log(
    `daemon kill on the PRIM: ${w.attempts.length} new connections over ${WATCH_MS} ms, ${fails.length} failed ${JSON.stringify(kinds)}, ` +
      `${late.length} failed after the takeover bound (${TAKEOVER_BOUND_MS} ms), ${oldAfterTakeover} answered by node1 after node2 added the VIP; ` +
      `VIP gone from node1 after ${node1_gone_ms} ms, on node2 after ${node2_has_ms} ms, ${both} samples with the VIP on both; RST refused+reset from node1/node2: ${rstText(rst)} (after the bound: ${rstText(rstLate)}), ${stranded} stranded on node1`,
  );
  expect(both).toBe(0);
  expect(node1_gone_ms).toBeGreaterThanOrEqual(0);
  expect(node2_has_ms).toBeGreaterThan(node1_gone_ms);
  expect(refusedOrReset).toEqual([]);
  expect(late).toEqual([]);
  expect(oldAfterTakeover).toBe(0);
  // Refusals before the bound: the survivor's application still starting (start_prim runs
  // after the VIP is added, as in every takeover); none after it. Bare resets after it: only
  // for connections stranded on the old PRIM.
  expect(rstAtBound).not.toBeNull();
  expect(rstLate.map((c) => c.refused)).toEqual([0, 0]);
  expect(rstLate[0]!.reset).toBe(0);
  expect(rstLate[1]!.reset).toBeLessThanOrEqual(stranded);
}, 120_000);
