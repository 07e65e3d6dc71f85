// Failure detection with the real hakitd (dist/) on two lab nodes running a test copy of the
// farm_http example with <errd> and a ping checker of the witness host (configs.ts):
//   both UP; nagios OK;
//   kill -9 the application on node1 -> restarted in place, still UP;
//   cut node1's path to the ping target -> rule wait: node1 goes WAIT (node2 serves every
//     client, nagios WARNING); path back -> node1 UP again by itself;
//   kill node1's application more than maxloop times -> the farm module stops on node1 only.
import { HakitCluster, distBuilt, until } from './cluster';
import { farmHttpConfig, MAXLOOP } from './configs';

const LAB = 'tk2';
const M = 'fh';
const APP = 'modules/fh/bin/farm_http.js';
const UDP_PORT = 9082;
const STATE_WAIT_MS = 30_000;
/** Datagrams per check, each from its own source port: with 16, both nodes are met unless 2^-15 bad luck. */
const CLIENT_REQUESTS = 16;

let c: HakitCluster;
let vip = '';

beforeAll(async () => {
  if (!distBuilt()) throw new Error('run `npm run build` first: the lab runs the built hakitd from dist/');
  c = await HakitCluster.up(LAB, 2);
  vip = c.lab.spareAddr(0, 51);
  await c.installExample('farm_http', M, farmHttpConfig(vip, c.lab.addr('witness', 0)));
  for (const n of c.nodes) c.startDaemon(n);
  await c.waitStates(M, ['STOP', 'STOP'], STATE_WAIT_MS);
}, 60_000);

afterAll(async () => {
  await c?.down();
}, 60_000);

async function ok(host: string, args: string[]): Promise<string> {
  const r = await c.hakit(host, args);
  if (r.code !== 0) throw new Error(`hakit ${args.join(' ')} on ${host}: exit ${r.code}: ${r.err}`);
  return r.out;
}

/**
 * Names of the nodes that answered CLIENT_REQUESTS UDP datagrams to the VIP, each from its own
 * socket (the UDP rule hashes address and port, so they spread over the nodes; the TCP rule
 * hashes the address only, so one client always meets one node). 'lost' for no answer.
 */
async function served(): Promise<string[]> {
  const js = `const d=require('dgram');const n=${CLIENT_REQUESTS};const out=[];for(let i=0;i<n;i++){const s=d.createSocket('udp4');const t=setTimeout(()=>{s.close();done('lost')},800);s.on('message',(m)=>{clearTimeout(t);s.close();done(String(m).trim())});s.send('hi',${UDP_PORT},'${vip}')}function done(x){out.push(x);if(out.length===n)console.log(JSON.stringify(out.sort()))}`;
  const r = await c.lab.exec('client', [process.execPath, '-e', js], { timeout_ms: 5_000 });
  return JSON.parse(r.stdout.trim() || '[]') as string[];
}

async function killApp(host: string): Promise<number> {
  const pids = await c.pidsOf(host, APP);
  expect(pids).toHaveLength(1);
  const pid = pids[0] as number;
  process.kill(pid, 'SIGKILL');
  return pid;
}

async function nagios(host: string): Promise<{ code: number; line: string }> {
  const r = await c.hakit(host, ['nagios', '-m', M]);
  return { code: r.code, line: r.out.trim() };
}

test('both UP: nagios OK; kill -9 of the application on node1 -> restarted in place', async () => {
  for (const n of c.nodes) await ok(n, ['start', '-m', M]);
  await c.waitStates(M, ['UP', 'UP'], STATE_WAIT_MS);
  await until('resources up on node1', async () => (await ok('node1', ['get', '-m', M, '-r', 'ping.router'])) === 'up\n' && (await ok('node1', ['get', '-m', M, '-r', 'errd.node'])) === 'up\n', 10_000);
  const n = await nagios('node1');
  process.stdout.write(`farm nagios OK: exit ${n.code}: ${n.line}\n`);
  expect(n.code).toBe(0);
  await until('both nodes serve clients', async () => new Set(await served()).size === 2, 10_000);

  const t0 = Date.now();
  const old = await killApp('node1');
  await until(
    'application restarted on node1',
    async () => {
      const p = await c.pidsOf('node1', APP);
      return p.length === 1 && p[0] !== old && (await c.stateOf('node1', M)) === 'UP';
    },
    STATE_WAIT_MS,
  );
  process.stdout.write(`farm: kill -9 -> new application process, node1 settled UP after ${Date.now() - t0} ms\n`);
  expect(await c.stateOf('node2', M)).toBe('UP');
  await until('both nodes serve clients again', async () => new Set(await served()).size === 2, 10_000);
}, 90_000);

test('cut the path to the ping target: node1 WAITs and node2 serves every client; heal: node1 UP again', async () => {
  const t0 = Date.now();
  await c.lab.cut('node1', 'witness');
  try {
    await c.waitStates(M, ['WAIT', 'UP'], STATE_WAIT_MS);
    process.stdout.write(`farm: path to the ping target cut -> node1 WAIT after ${Date.now() - t0} ms\n`);
    expect(await ok('node1', ['get', '-m', M, '-r', 'ping.router'])).toBe('down\n');
    expect(await ok('node1', ['state', '-v', '-m', M])).toMatch(/rule applied last: ping\.router \(ping\.router: wait/);
    await until('node2 serves every client', async () => (await served()).every((s) => s === 'node2'), 10_000);
    const n = await nagios('node2');
    process.stdout.write(`farm nagios WARNING: exit ${n.code}: ${n.line}\n`);
    expect(n.code).toBe(1);
    expect(n.line).toMatch(/^HAKIT WARNING - fh WARNING: 1\/2 nodes UP \|/);
  } finally {
    await c.lab.heal();
  }
  const t1 = Date.now();
  await c.waitStates(M, ['UP', 'UP'], STATE_WAIT_MS);
  process.stdout.write(`farm: path back -> node1 UP after ${Date.now() - t1} ms\n`);
  await until('both nodes serve clients again', async () => new Set(await served()).size === 2, 10_000);
}, 90_000);

test('more than maxloop kills on node1: the farm module stops there, node2 keeps serving', async () => {
  // The first test's restart counts: MAXLOOP - 1 more restarts, then the next death is a stop.
  for (let i = 1; i < MAXLOOP; i++) {
    const old = await killApp('node1');
    await until(
      `restart ${i + 1} on node1`,
      async () => {
        const p = await c.pidsOf('node1', APP);
        return p.length === 1 && p[0] !== old && (await c.stateOf('node1', M)) === 'UP';
      },
      STATE_WAIT_MS,
    );
  }
  const t0 = Date.now();
  await killApp('node1');
  await c.waitStates(M, ['STOP', 'UP'], STATE_WAIT_MS);
  process.stdout.write(`farm: death number ${MAXLOOP + 1} -> node1 STOP after ${Date.now() - t0} ms\n`);
  expect(await ok('node1', ['log', '-m', M, '-s', '500'])).toMatch(/HAKIT_E_RULE_MAXLOOP/);
  expect(await c.pidsOf('node1', APP)).toHaveLength(0);
  await until('node2 serves every client', async () => (await served()).every((s) => s === 'node2'), 10_000);
  const n = await nagios('node2');
  expect(n.code).toBe(1);
}, 90_000);
