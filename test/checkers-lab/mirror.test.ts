// Failure detection with the real hakitd (dist/) on two lab nodes running a test copy of the
// mirror_http example with <errd> and a custom checker (test/checkers-lab/configs.ts).
// Reads like the manual:
//   start PRIM/SECOND; nagios OK; the monitoring commands on a live daemon;
//   kill -9 the application on the PRIM -> restarted in place, still PRIM;
//   the custom checker reports down on node1 -> rule app_sick (wait) stops node1, node2 takes
//     over ALONE (nagios WARNING); back up -> node1 starts again and returns SECOND;
//   kill the application on the new PRIM more than maxloop times -> it stops, node1 takes over;
//   stop the survivor -> nagios CRITICAL; hakitd killed -> nagios UNKNOWN.
import { CLI_JS, HakitCluster, distBuilt, until } from './cluster';
import { CHECK_APP, CUSTOM_DOWN_FILE, MAXLOOP, mirrorHttpConfig } from './configs';

const LAB = 'tk1';
const M = 'mh';
const APP = 'modules/mh/bin/mirror_http.js';
const APP_PORT = 9080;
/** Bound on a module reaching a state (start/stop scripts, mirror engine, heartbeats). */
const STATE_WAIT_MS = 30_000;
/** `hakit nagios` answers within 1 s by design; the node process itself needs a little more when the machine is busy. */
const NAGIOS_CLI_MAX_MS = 2_500;

let c: HakitCluster;
let vip = '';

beforeAll(async () => {
  if (!distBuilt()) throw new Error('run `npm run build` first: the lab runs the built hakitd from dist/');
  c = await HakitCluster.up(LAB, 2);
  vip = c.lab.spareAddr(0, 50);
  await c.installExample('mirror_http', M, mirrorHttpConfig(vip), { check_app: CHECK_APP }, ['/srv/mirror_http/data']);
  for (const n of c.nodes) c.startDaemon(n);
  await c.waitStates(M, ['STOP', 'STOP'], STATE_WAIT_MS);
}, 60_000);

afterAll(async () => {
  await c?.down();
}, 60_000);

async function nagios(host: string): Promise<{ code: number; line: string; ms: number }> {
  const t0 = Date.now();
  const r = await c.hakit(host, ['nagios', '-m', M]);
  return { code: r.code, line: r.out.trim(), ms: Date.now() - t0 };
}

async function ok(host: string, args: string[]): Promise<string> {
  const r = await c.hakit(host, args);
  if (r.code !== 0) throw new Error(`hakit ${args.join(' ')} on ${host}: exit ${r.code}: ${r.err}`);
  return r.out;
}

/** What the client gets from http://VIP:9080/ ('ok' when it answers 200). */
async function clientGet(): Promise<string> {
  const js = `require('http').get({host:'${vip}',port:${APP_PORT},timeout:800},(r)=>{r.resume();console.log(r.statusCode===200?'ok':'HTTP '+r.statusCode)}).on('timeout',function(){console.log('TIMEOUT');this.destroy()}).on('error',(e)=>console.log('ERR '+e.code))`;
  const r = await c.lab.exec('client', [process.execPath, '-e', js], { timeout_ms: 5_000 });
  return r.stdout.trim();
}

/** kill -9 of the application on a node; resolves with the killed pid. */
async function killApp(host: string): Promise<number> {
  const pids = await c.pidsOf(host, APP);
  expect(pids).toHaveLength(1);
  const pid = pids[0] as number;
  process.kill(pid, 'SIGKILL');
  return pid;
}

/** Waits until the node runs a new application process (not `old`) and the module is settled in `state`. */
async function restartedOn(host: string, old: number, state: string): Promise<number> {
  return until(
    `application restarted on ${host}`,
    async () => {
      const pids = await c.pidsOf(host, APP);
      return pids.length === 1 && pids[0] !== old && (await c.stateOf(host, M)) === state;
    },
    STATE_WAIT_MS,
  );
}

test('PRIM/SECOND: nagios OK, and every monitoring command on a live daemon', async () => {
  await ok('node1', ['start', '-m', M]);
  await ok('node2', ['start', '-m', M]);
  await ok('node1', ['prim', '-m', M]);
  await ok('node1', ['waitstate', '-m', M, 'ALONE,PRIM', '--timeout', '30']);
  await ok('node2', ['second', '-m', M]);
  await c.waitStates(M, ['PRIM', 'SECOND'], STATE_WAIT_MS);
  await until('every resource of node1 up', async () => !/ (init|down) /.test((await ok('node1', ['resources', '-m', M])).split('\n').filter((l) => /^ {2}\w/.test(l)).join('\n')), 10_000);

  const n = await nagios('node1');
  process.stdout.write(`nagios OK: exit ${n.code}, ${n.ms} ms: ${n.line}\n`);
  expect(n.code).toBe(0);
  expect(n.line).toMatch(/^HAKIT OK - mh OK: PRIM on node1, SECOND on node2 \| 'mh_serving'=1;;;0;2 'mh_resources_down'=0;;;0$/);
  expect(n.ms).toBeLessThan(NAGIOS_CLI_MAX_MS);

  // state -v / --json: resources, their rules and the rule applied last.
  const v = await ok('node1', ['state', '-v', '-m', M]);
  expect(v).toMatch(/errd\.node +up +restart/);
  expect(v).toMatch(/custom\.app +up +wait by rule app_sick/);
  const j = JSON.parse(await ok('node1', ['state', '--json'])) as { modules: Array<{ module: string; monitor: { resources: Array<{ name: string; state: string }> } }> };
  expect(j.modules[0]?.monitor.resources.map((r) => `${r.name}=${r.state}`)).toEqual(expect.arrayContaining(['errd.node=up', 'custom.app=up', 'tcp.http=up', `ip.${vip}=up`, 'interface.eth0=up']));
  const col = JSON.parse(await ok('node1', ['collect'])) as { modules: Array<{ health: string; nodes: Array<{ node: string; state: string }> }> };
  expect(col.modules[0]).toMatchObject({ health: 'ok', nodes: [{ node: 'node1', state: 'PRIM' }, { node: 'node2', state: 'SECOND' }] });

  // get / set / errd / checker; bad input is a coded error and changes nothing.
  expect(await ok('node1', ['get', '-m', M, '-r', 'errd.node'])).toBe('up\n');
  expect(await c.hakit('node1', ['get', '-m', M, '-r', 'errd.nope'])).toMatchObject({ code: 1, err: expect.stringContaining('HAKIT_E_UNKNOWN_RESOURCE') });
  expect(await c.hakit('node1', ['set', '-m', M, '-r', 'custom.app', '-v', 'maybe'])).toMatchObject({ code: 1, err: expect.stringContaining('HAKIT_E_BAD_RESOURCE_VALUE') });
  expect(await c.hakit('node1', ['get', '-m', 'nope', '-r', 'errd.node'])).toMatchObject({ code: 1, err: expect.stringContaining('HAKIT_E_UNKNOWN_MODULE') });
  expect(await ok('node1', ['set', '-m', M, '-r', 'tcp.http', '-v', 'up'])).toBe('mh: tcp.http up\n');
  expect(await ok('node1', ['errd', 'off', '-m', M])).toBe('mh: errd off\n');
  expect(await ok('node1', ['get', '-m', M, '-r', 'errd.node'])).toBe('init\n');
  expect(await ok('node1', ['checker', 'off', '-m', M])).toBe('mh: checker off\n');
  expect(await ok('node1', ['resources', '-m', M])).toContain('module mh: errd off, checkers off');
  await ok('node1', ['errd', 'on', '-m', M]);
  await ok('node1', ['checker', 'on', '-m', M]);
  await until('errd.node up again', async () => (await ok('node1', ['get', '-m', M, '-r', 'errd.node'])) === 'up\n', 10_000);
  expect(await c.stateOf('node1', M)).toBe('PRIM');

  // log, logview (follows: a new line appears), snapshot.
  expect(await ok('node1', ['log', '-m', M, '-s', '200'])).toMatch(/resource errd\.node: up/);
  const follow = c.spawn('node1', [process.execPath, CLI_JS, 'logview', '-m', M, '-s', '0']);
  let followed = '';
  follow.stdout?.on('data', (d: Buffer) => (followed += d.toString()));
  await new Promise((r) => setTimeout(r, 500));
  await ok('node1', ['errd', 'off', '-m', M]);
  await ok('node1', ['errd', 'on', '-m', M]);
  await until('logview shows the new lines', () => Promise.resolve(/errd on/.test(followed)), 5_000);
  follow.kill('SIGTERM');
  // In node1's own /var/lib/hakit (a lab node's /tmp is the host's), removed also on failure.
  const zip = '/var/lib/hakit/tk1-snapshot.zip';
  let list: { stdout: string };
  try {
    const snap = await ok('node1', ['snapshot', '-m', M, zip]);
    expect(snap).toMatch(/snapshot of mh/);
    list = await c.lab.exec('node1', ['unzip', '-l', zip]);
  } finally {
    await c.lab.exec('node1', ['rm', '-f', zip]);
  }
  for (const f of ['log/mh.log', 'conf/cluster.xml', 'module/conf/userconfig.xml', 'state.json', 'resources.json']) expect(list.stdout).toContain(f);
  expect(list.stdout).not.toContain('cluster.key');
  await until('errd.node up again', async () => (await ok('node1', ['get', '-m', M, '-r', 'errd.node'])) === 'up\n', 10_000);
}, 120_000);

test('kill -9 of the application on the PRIM: restarted in place, still PRIM, VIP answers', async () => {
  expect(await clientGet()).toBe('ok');
  const t0 = Date.now();
  const old = await killApp('node1');
  await restartedOn('node1', old, 'PRIM');
  const restarted_ms = Date.now() - t0;
  await until('the client reaches the restarted application', async () => (await clientGet()) === 'ok', 10_000);
  process.stdout.write(`mirror: kill -9 -> new application process, module settled PRIM after ${restarted_ms} ms; answering after ${Date.now() - t0} ms\n`);
  expect(await c.stateOf('node2', M)).toBe('SECOND');
  const v = await ok('node1', ['state', '-v', '-m', M]);
  expect(v).toMatch(/rule applied last: errd\.node \(errd\.node: restart/);
}, 60_000);

test('custom checker down -> rule app_sick (wait) stops node1, node2 serves; up -> node1 returns SECOND', async () => {
  await c.write('node1', CUSTOM_DOWN_FILE, 'sick\n');
  const t0 = Date.now();
  await c.waitStates(M, ['STOP', 'ALONE'], STATE_WAIT_MS);
  process.stdout.write(`mirror: custom checker down -> node2 ALONE after ${Date.now() - t0} ms\n`);
  expect(await ok('node1', ['get', '-m', M, '-r', 'custom.app'])).toBe('down\n');
  const v = await ok('node1', ['state', '-v', '-m', M]);
  expect(v).toContain('held by custom.app');
  expect(v).toMatch(/rule applied last: app_sick \(custom\.app: wait/);
  const n = await nagios('node2');
  process.stdout.write(`nagios WARNING: exit ${n.code}, ${n.ms} ms: ${n.line}\n`);
  expect(n.code).toBe(1);
  expect(n.line).toMatch(/^HAKIT WARNING - mh WARNING: ALONE on node2 \|/);
  expect(await clientGet()).toBe('ok');

  await c.lab.exec('node1', ['rm', '-f', CUSTOM_DOWN_FILE]);
  const t1 = Date.now();
  await c.waitStates(M, ['SECOND', 'PRIM'], STATE_WAIT_MS);
  process.stdout.write(`mirror: custom checker up -> node1 SECOND after ${Date.now() - t1} ms\n`);
  expect((await nagios('node1')).code).toBe(0);
}, 90_000);

test('more than maxloop kills on the PRIM: it stops and the other node takes over', async () => {
  // node2 is PRIM with a fresh restart count: MAXLOOP restarts, then the next death is a stop.
  for (let i = 0; i < MAXLOOP; i++) {
    const old = await killApp('node2');
    await restartedOn('node2', old, 'PRIM');
  }
  const t0 = Date.now();
  await killApp('node2');
  await c.waitStates(M, ['ALONE', 'STOP'], STATE_WAIT_MS);
  process.stdout.write(`mirror: death number ${MAXLOOP + 1} -> node2 STOP, node1 ALONE after ${Date.now() - t0} ms\n`);
  expect(await ok('node2', ['log', '-m', M, '-s', '500'])).toMatch(/HAKIT_E_RULE_MAXLOOP/);
  await until('the client reaches node1', async () => (await clientGet()) === 'ok', 10_000);
  expect(await c.pidsOf('node1', APP)).toHaveLength(1);
  expect(await c.pidsOf('node2', APP)).toHaveLength(0);
}, 90_000);

test('nagios CRITICAL when no node serves, UNKNOWN when hakitd is down', async () => {
  await ok('node1', ['stop', '-m', M]);
  await c.waitStates(M, ['STOP', 'STOP'], STATE_WAIT_MS);
  const n = await nagios('node1');
  process.stdout.write(`nagios CRITICAL: exit ${n.code}, ${n.ms} ms: ${n.line}\n`);
  expect(n.code).toBe(2);
  expect(n.line).toMatch(/^HAKIT CRITICAL - mh CRITICAL: not served on any node \|/);

  await c.killDaemon('node1');
  const u = await nagios('node1');
  process.stdout.write(`nagios UNKNOWN: exit ${u.code}, ${u.ms} ms: ${u.line}\n`);
  expect(u.code).toBe(3);
  expect(u.line).toMatch(/^HAKIT UNKNOWN - hakitd unreachable: /);
}, 60_000);
