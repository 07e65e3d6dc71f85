// Geo cluster with three arbitrators and a majority rule (docs/geo.md): two lab nodes as the
// sites paris and lyon, three hakit-witness processes on the witness host (ports 9010-9012)
// named in cluster.xml, one mirror module with manual failover. One arbitrator dies: the PRIM
// keeps its ticket with the two others. Then paris is cut from lyon and from the arbitrators:
// node1 loses its ticket and stops; node2 waits for approval, is approved, and serves once
// the old ticket has run out; never both (log times). The arbitrators restart: node2 keeps
// serving (tickets on disk). A cluster.xml naming an arbitrator twice is refused.
import path from 'node:path';
import { Lab } from '../lab';
import { clusterXml, configureCluster, hakit, moduleState, mustHakit, NODE, packageAndInstall, ROOT, setMacro, startDaemon, startDetached, until, waitDaemon, WITNESS, writeOn } from '../lab/demo/cluster-setup';

const LAB = 'geoarb';
const NODES = ['node1', 'node2'] as const;
const MODULE = 'geo_arb';
const WAIT_MS = 40_000;
const PORTS = [9010, 9011, 9012] as const;
/** Per-arbitrator state and logs, under the shared /tmp (the lab hosts share it); removed after. */
const ARB_DIR = '/tmp/hakit-geoarb';
/** How long the PRIM is watched to keep serving with two arbitrators of three. */
const MAJORITY_WATCH_MS = 12_000;
let lab: Lab;
const arbPids = new Map<number, number>();

function arbitratorsXml(lab: Lab, ports: readonly number[]): string {
  return ports.map((p) => `  <arbitrator addr="${lab.addr('witness', 0)}" port="${p}"/>\n`).join('');
}

async function startArbitrator(port: number): Promise<void> {
  const dir = `${ARB_DIR}/w${port}`;
  const pid = await startDetached(lab, 'witness', [NODE, WITNESS, '--address', lab.addr('witness', 0), '--port', String(port), '--key-file', '/etc/hakit/cluster.key', '--state-dir', dir, '--log-dir', dir], `${dir}/out.log`);
  arbPids.set(port, pid);
}

async function stopArbitrator(port: number): Promise<void> {
  const pid = arbPids.get(port);
  if (pid === undefined) return;
  await lab.exec('witness', ['kill', '-9', String(pid)]);
  arbPids.delete(port);
}

async function stateOf(host: string): Promise<string> {
  const s = await moduleState(lab, host, MODULE);
  return s === undefined ? 'unknown' : `${s.state}/${s.status}`;
}

/** Times (ms) of the module log lines of a host matching re, since t0. */
async function logTimes(host: string, re: RegExp, t0: number): Promise<Array<{ at: number; msg: string }>> {
  const r = await lab.exec(host, ['cat', `/var/log/hakit/modules/${MODULE}.log`]);
  const out: Array<{ at: number; msg: string }> = [];
  for (const line of r.stdout.split('\n')) {
    try {
      const j = JSON.parse(line) as { time?: string | number; msg?: string };
      const at = typeof j.time === 'string' ? Date.parse(j.time) : j.time;
      if (at !== undefined && !Number.isNaN(at) && at >= t0 && typeof j.msg === 'string' && re.test(j.msg)) out.push({ at, msg: j.msg });
    } catch {
      // not JSON
    }
  }
  return out;
}

beforeAll(async () => {
  await Lab.destroy(LAB);
  lab = await Lab.up({ name: LAB, nodes: 2, witness: true, client: false, lans: 1 });
  await lab.exec('witness', ['rm', '-rf', ARB_DIR]);
  const xml = clusterXml(lab, 'geoarb', NODES, [{ name: 'default', lan: 0 }]).replace('</cluster>', `  <site name="paris" nodes="node1"/>\n  <site name="lyon" nodes="node2"/>\n${arbitratorsXml(lab, PORTS)}</cluster>`);
  await configureCluster(lab, NODES, xml, [...NODES, 'witness']);
  const src = path.join(ROOT, 'modules', 'examples', 'mirror_http');
  await packageAndInstall(lab, NODES, src, MODULE, (x) => setMacro(setMacro(x, 'VIRTUAL_IP', lab.spareAddr(0, 70)), 'DATA_DIR', `/srv/${MODULE}/data`).replace('</service>', '  <failover mode="manual"/>\n  </service>'));
  for (const n of NODES) expect((await lab.exec(n, ['mkdir', '-p', `/srv/${MODULE}/data`])).code).toBe(0);
  for (const p of PORTS) await startArbitrator(p);
  for (const n of NODES) await startDaemon(lab, n);
  for (const n of NODES) expect(await waitDaemon(lab, n, WAIT_MS)).toBe(true);
  for (const n of NODES) await mustHakit(lab, n, ['start', '-m', MODULE]);
  await mustHakit(lab, 'node1', ['prim', '-m', MODULE]);
  await mustHakit(lab, 'node2', ['second', '-m', MODULE]);
  expect(await until(async () => (await stateOf('node1')) === 'PRIM/Ready' && (await stateOf('node2')) === 'SECOND/Ready', WAIT_MS)).toBe(true);
}, 240_000);

afterAll(async () => {
  for (const p of [...arbPids.keys()]) await stopArbitrator(p).catch(() => undefined);
  await lab?.exec('witness', ['rm', '-rf', ARB_DIR]).catch(() => undefined);
  await Lab.destroy(LAB);
}, 60_000);

test('three arbitrators: a majority keeps the ticket; the isolated site stops before the approved one serves; tickets survive restarts', async () => {
  const t0 = Date.now();
  const lines: Array<{ at: number; what: string }> = [];
  const mark = (what: string, at = Date.now()): void => {
    lines.push({ at, what });
  };

  // One arbitrator of three dies: the PRIM renews with the two others and keeps serving.
  await stopArbitrator(PORTS[2]);
  mark(`arbitrator :${PORTS[2]} killed`);
  const end = Date.now() + MAJORITY_WATCH_MS;
  while (Date.now() < end) {
    expect(await stateOf('node1')).toBe('PRIM/Ready');
    await new Promise((r) => setTimeout(r, 1000));
  }
  mark(`node1 still PRIM/Ready ${MAJORITY_WATCH_MS} ms later (2 of 3 arbitrators)`);

  // Paris is cut from lyon and from every arbitrator.
  const tCut = Date.now();
  await lab.cut('node1', 'node2');
  await lab.cut('node1', 'witness');
  mark('cut paris (node1) from lyon (node2) and from the arbitrators', tCut);
  expect(await until(async () => (await stateOf('node2')) === 'WAIT/Approval', WAIT_MS)).toBe(true);
  mark('node2: WAIT/Approval');
  await mustHakit(lab, 'node2', ['failover', 'approve', '-m', MODULE]);
  mark('hakit failover approve on node2');
  expect(await until(async () => (await stateOf('node2')) === 'ALONE/Ready', WAIT_MS)).toBe(true);
  mark('node2: ALONE/Ready');
  expect(await until(async () => (await stateOf('node1')).startsWith('WAIT'), WAIT_MS)).toBe(true);

  // Never both: node1 began stopping (its ticket about to run out, a stop margin before the
  // arbitrators could grant it elsewhere) before node2 began its takeover (module log times).
  const stopped = (await logTimes('node1', /-> WAIT \(witness lease lost\)/, tCut))[0];
  const started = (await logTimes('node2', /WAIT -> ALONE/, tCut))[0];
  expect(stopped).toBeDefined();
  expect(started).toBeDefined();
  mark(`node1 log: ${stopped?.msg}`, stopped?.at);
  mark(`node2 log: ${started?.msg}`, started?.at);
  expect((started?.at ?? 0) - (stopped?.at ?? Infinity)).toBeGreaterThan(0);

  // The arbitrators restart from their records; node2 keeps its ticket and serves on.
  for (const p of PORTS.slice(0, 2)) await stopArbitrator(p);
  for (const p of PORTS) await startArbitrator(p);
  mark('all three arbitrators (re)started from their records');
  const keep = Date.now() + MAJORITY_WATCH_MS;
  while (Date.now() < keep) {
    expect(await stateOf('node2')).toBe('ALONE/Ready');
    await new Promise((r) => setTimeout(r, 1000));
  }
  mark(`node2 still ALONE/Ready ${MAJORITY_WATCH_MS} ms later`);

  // An arbitrator configured twice: refused with its code, the installed cluster.xml unchanged.
  const before = (await lab.exec('node2', ['cat', '/etc/hakit/cluster.xml'])).stdout;
  const twice = before.replace('</cluster>', `  <arbitrator addr="${lab.addr('witness', 0)}" port="${PORTS[0]}"/>\n</cluster>`);
  // Written in node2's own configuration directory (the node's /tmp is the host's).
  await writeOn(lab, 'node2', '/etc/hakit/cluster-twice.xml', twice);
  const r = await hakit(lab, 'node2', ['cluster', 'config', '/etc/hakit/cluster-twice.xml']);
  expect(r.code).not.toBe(0);
  expect(r.out).toContain('HAKIT_E_ARBITRATOR_DUPLICATE');
  expect((await lab.exec('node2', ['cat', '/etc/hakit/cluster.xml'])).stdout).toBe(before);
  const text = [...lines].sort((a, b) => a.at - b.at).map((l) => `t=+${String(l.at - t0).padStart(6)} ms  ${l.what}`);
  process.stdout.write(`three arbitrators, majority rule (timeline):\n${text.join('\n')}\n`);
}, 240_000);
