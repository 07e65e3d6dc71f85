// Issue 4 item 8 in the lab: real hakitd on two lab nodes, a witness, a client, a mirror
// module with a VIP and a small HTTP application (no replication yet).
//   swap moves the application and the VIP; cutting every heartbeat LAN with a witness leaves
//   exactly one side serving; a power cut of the primary moves the VIP and the application
//   to the survivor; the old primary, restarted (boot on), comes back SECOND.
import { writeHostFile } from '../../lab/testkit';
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { Lab } from '../../lab';
import { distPath } from '../../support/dist';
import { until } from '../../support/until';

const LAB = 'hdlab';
const NODES = ['node1', 'node2'] as const;
const APP_PORT = 9080;
const KEY = 'lab-cluster-key-0123456789abcdef';
const CLI = distPath('core/cli/main.ts');
const DAEMON = distPath('core/daemon/main.ts');
const WITNESS = distPath('core/witness/main.ts');
const NODE = process.execPath;

let lab: Lab | undefined;
const children: ChildProcess[] = [];
let vip = '';

function clusterXml(l: Lab): string {
  const lans = [0, 1]
    .map((lan) => `  <lan name="lan${lan}">\n${NODES.map((n) => `    <node name="${n}" addr="${l.addr(n, lan)}" port="9010"/>`).join('\n')}\n  </lan>`)
    .join('\n');
  return `<cluster name="hdlab">\n${lans}\n</cluster>\n`;
}

function userconfig(l: Lab): string {
  return `<safe>
  <service mode="mirror" nodes="node1 node2" failover="on">
    <heart profile="fast"><heartbeat name="lan0"/><heartbeat name="lan1"/></heart>
    <vip><interface_list><interface><real_interface>
      <virtual_addr addr="${vip}" where="one_side_alias"/>
    </real_interface></interface></interface_list></vip>
    <user starttimeout="20s" nicestoptimeout="20s" forcestoptimeout="5s"/>
    <check><splitbrain exec="ping" arg="${l.addr('witness', 0)}"/></check>
  </service>
</safe>
`;
}

const APP = `const http = require('http');
http.createServer((q, r) => r.end(process.env.HAKIT_NODE)).listen(${APP_PORT});`;
const START_PRIM = `#!/bin/sh
PID="$HAKIT_RUN_DIR/web-app.pid"
if [ -f "$PID" ] && kill -0 "$(cat "$PID")" 2>/dev/null; then exit 0; fi
${NODE} -e "$(cat "$HAKIT_MODULE_DIR/bin/app.js")" </dev/null >/dev/null 2>&1 &
echo $! > "$PID"
echo "app started on $HAKIT_NODE"
`;
const STOP_PRIM = `#!/bin/sh
PID="$HAKIT_RUN_DIR/web-app.pid"
[ -f "$PID" ] && kill "$(cat "$PID")" 2>/dev/null
rm -f "$PID"
exit 0
`;

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
  return m ? m.state : 'none';
}

/** What the client gets from http://VIP:port/ (the serving node's name), or an error word. */
async function clientGet(): Promise<string> {
  const js = `require('http').get({host:'${vip}',port:${APP_PORT},timeout:800},(r)=>{let b='';r.on('data',(d)=>b+=d);r.on('end',()=>console.log(b))}).on('timeout',function(){console.log('TIMEOUT');this.destroy()}).on('error',(e)=>console.log('ERR '+e.code))`;
  const r = await lab!.exec('client', [NODE, '-e', js], { timeout_ms: 5000 });
  return r.stdout.trim();
}


function startDaemon(host: string): void {
  const c = lab!.spawn(host, [NODE, DAEMON, '--node', host, '--log-level', 'debug'], { stdio: 'ignore' });
  children.push(c);
}

const serving = (s: string): boolean => s === 'PRIM' || s === 'ALONE';

beforeAll(async () => {
  await Lab.destroy(LAB);
  lab = await Lab.up({ name: LAB, nodes: 2, client: true, witness: true, lans: 2 });
  vip = lab.spareAddr(0, 50);
  for (const h of ['node1', 'node2', 'witness']) await write(h, '/etc/hakit/cluster.key', KEY, '600');
  for (const h of NODES) {
    await write(h, '/etc/hakit/cluster.xml', clusterXml(lab));
    await write(h, '/var/lib/hakit/modules/web/conf/userconfig.xml', userconfig(lab));
    await write(h, '/var/lib/hakit/modules/web/bin/app.js', APP);
    await write(h, '/var/lib/hakit/modules/web/bin/start_prim', START_PRIM, '755');
    await write(h, '/var/lib/hakit/modules/web/bin/stop_prim', STOP_PRIM, '755');
  }
  children.push(lab.spawn('witness', [NODE, WITNESS, '--address', lab.addr('witness', 0), '--key-file', '/etc/hakit/cluster.key'], { stdio: 'ignore' }));
  for (const h of NODES) startDaemon(h);
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await lab?.down();
}, 60_000);

it('swap, split brain with a witness, power cut of the primary, return as SECOND', async () => {
  await until('daemons answer', async () => (await stateOf('node1')) === 'STOP' && (await stateOf('node2')) === 'STOP', 30_000);
  for (const h of NODES) {
    expect((await hakit(h, ['boot', 'on', '-m', 'web'])).code).toBe(0);
    expect((await hakit(h, ['start', '-m', 'web'])).code).toBe(0);
  }
  expect((await hakit('node1', ['prim', '-m', 'web'])).code).toBe(0);
  expect((await hakit('node1', ['waitstate', '-m', 'web', 'ALONE,PRIM', '--timeout', '20'])).code).toBe(0);
  expect((await hakit('node2', ['second', '-m', 'web'])).code).toBe(0);
  expect((await hakit('node2', ['waitstate', '-m', 'web', 'SECOND', '--timeout', '20'])).code).toBe(0);
  expect((await hakit('node1', ['waitstate', '-m', 'web', 'PRIM', '--timeout', '20'])).code).toBe(0);
  await until('client reaches node1 through the VIP', async () => (await clientGet()) === 'node1', 10_000);

  // swap: the application and the VIP move to node2, and back.
  expect((await hakit('node1', ['swap', '-m', 'web'])).code).toBe(0);
  await until('node2 PRIM after swap', async () => (await stateOf('node2')) === 'PRIM' && (await stateOf('node1')) === 'SECOND', 30_000);
  await until('client reaches node2', async () => (await clientGet()) === 'node2', 10_000);
  expect((await hakit('node2', ['swap', '-m', 'web'])).code).toBe(0);
  await until('node1 PRIM again', async () => (await stateOf('node1')) === 'PRIM' && (await stateOf('node2')) === 'SECOND', 30_000);
  await until('client reaches node1 again', async () => (await clientGet()) === 'node1', 10_000);

  // Cut every heartbeat LAN between the nodes; both still reach the witness.
  await lab!.cut('node1', 'node2');
  const watch_until = Date.now() + 8000;
  let samples = 0;
  while (Date.now() < watch_until) {
    const [s1, s2] = [await stateOf('node1'), await stateOf('node2')];
    expect(serving(s1) && serving(s2)).toBe(false);
    samples++;
  }
  expect(serving(await stateOf('node1'))).toBe(true);
  expect(await clientGet()).toBe('node1');
  process.stdout.write(`split brain watched: ${samples} samples, never two serving\n`);
  await lab!.heal();
  await until('PRIM + SECOND after heal', async () => (await stateOf('node1')) === 'PRIM' && (await stateOf('node2')) === 'SECOND', 30_000);

  // Power cut of the primary: every process dies and its links go silent.
  const t0 = Date.now();
  await lab!.kill('node1');
  await until('client reaches node2 after the power cut', async () => (await clientGet()) === 'node2', 30_000);
  const failover_ms = Date.now() - t0;
  process.stdout.write(`power cut of the primary → VIP answers from node2 after ${failover_ms} ms (fast profile, with witness lease)\n`);
  expect(await stateOf('node2')).toBe('ALONE');

  // Power back on, cut from everyone: the daemon starts (boot on) isolated, then the links heal.
  for (const other of ['node2', 'client', 'witness']) await lab!.cut('node1', other);
  await lab!.powerOn('node1');
  startDaemon('node1');
  await until('node1 daemon answers', async () => (await stateOf('node1')) !== 'unreachable', 30_000);
  await lab!.heal();
  await until('node1 back as SECOND', async () => (await stateOf('node1')) === 'SECOND' && (await stateOf('node2')) === 'PRIM', 30_000);
  expect(await clientGet()).toBe('node2');
  const log = await lab!.exec('node2', ['cat', '/var/log/hakit/modules/web.log']);
  expect(log.stdout).toMatch(/app started on node2/);
  expect(fs.existsSync(DAEMON)).toBe(true);
}, 300_000);
