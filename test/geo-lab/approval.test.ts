// Manual failover approval across a WAN cut (docs/geo.md): two lab nodes as two cluster.xml
// sites (so the wan heartbeat timing applies between them), with delay and loss between them,
// and three mirror modules: `auto` (the survivor takes over by itself), `manual` (it waits in
// WAIT/Approval; `deny` keeps it waiting, `approve` lets it take over) and `manual` with an
// 8 s timer (it takes over by itself when the timer runs out). The timelines since the cut,
// from the module logs, are printed: the cut with and without approval.
import path from 'node:path';
import { Lab } from '../lab';
import { clusterXml, configureCluster, hakit, moduleState, mustHakit, packageAndInstall, ROOT, setMacro, startDaemon, until, waitDaemon } from '../lab/demo/cluster-setup';

const LAB = 'geoappr';
const NODES = ['node1', 'node2'] as const;
const WAIT_MS = 40_000;
/** Delay and loss added on node2's port: the two sites are a WAN apart. */
const WAN_DELAY_MS = 20;
const WAN_LOSS_PCT = 2;
const TIMER_S = 8;
/** How long `deny` is watched to keep the module waiting. */
const DENY_WATCH_MS = 4_000;
const AUTO = 'geo_auto';
const MANUAL = 'geo_manual';
const TIMED = 'geo_timer';
const SITES = '  <site name="paris" nodes="node1"/>\n  <site name="lyon" nodes="node2"/>\n';
let lab: Lab;

function withFailover(xml: string, attrs: string): string {
  if (!xml.includes('</service>')) throw new Error('userconfig.xml has no </service>');
  return xml.replace('</service>', `  <failover ${attrs}/>\n  </service>`);
}

async function stateOf(host: string, module: string): Promise<string> {
  const s = await moduleState(lab, host, module);
  return s === undefined ? 'unknown' : `${s.state}/${s.status}`;
}

/** Records "t=+N ms what" lines relative to the cut. */
class Timeline {
  readonly lines: Array<{ at: number; what: string }> = [];
  constructor(private readonly t0: number) {}
  mark(what: string, at = Date.now()): void {
    this.lines.push({ at, what });
  }
  text(): string {
    return [...this.lines].sort((a, b) => a.at - b.at).map((l) => `t=+${String(l.at - this.t0).padStart(6)} ms  ${l.what}`).join('\n');
  }
}

/** The module's own log lines since t0 about roles and approval (pino JSON: time, msg). */
async function logEvents(host: string, module: string, t0: number): Promise<Array<{ at: number; what: string }>> {
  const r = await lab.exec(host, ['cat', `/var/log/hakit/modules/${module}.log`]);
  const out: Array<{ at: number; what: string }> = [];
  for (const line of r.stdout.split('\n')) {
    try {
      // pino lines; hakitd writes ISO times (core/log/logs.ts).
      const j = JSON.parse(line) as { time?: number | string; msg?: string };
      const at = typeof j.time === 'string' ? Date.parse(j.time) : j.time;
      if (at === undefined || Number.isNaN(at) || typeof j.msg !== 'string' || at < t0) continue;
      // The machine's own lines (they begin with the module's name), about roles and approval.
      if (j.msg.startsWith(`${module}:`) && / -> |approv|manual|denied/.test(j.msg)) out.push({ at, what: `${host} ${j.msg}` });
    } catch {
      // not a JSON line
    }
  }
  return out;
}

beforeAll(async () => {
  await Lab.destroy(LAB);
  lab = await Lab.up({ name: LAB, nodes: 2, client: false, lans: 1 });
  await configureCluster(lab, NODES, clusterXml(lab, 'geo', NODES, [{ name: 'default', lan: 0 }]).replace('</cluster>', `${SITES}</cluster>`), NODES);
  const src = path.join(ROOT, 'modules', 'examples', 'mirror_http');
  const mods: Array<[string, number, string]> = [
    [AUTO, 59, 'mode="auto"'],
    [MANUAL, 60, 'mode="manual"'],
    [TIMED, 61, `mode="manual" timer="${TIMER_S}s"`],
  ];
  for (const [name, host, attrs] of mods) {
    await packageAndInstall(lab, NODES, src, name, (x) =>
      withFailover(setMacro(setMacro(setMacro(x, 'VIRTUAL_IP', lab.spareAddr(0, host)), 'DATA_DIR', `/srv/${name}/data`), 'HTTP_PORT', String(9000 + host)), attrs),
    );
    for (const n of NODES) expect((await lab.exec(n, ['mkdir', '-p', `/srv/${name}/data`])).code).toBe(0);
  }
  await lab.delay('node2', WAN_DELAY_MS);
  await lab.loss('node2', WAN_LOSS_PCT);
  for (const n of NODES) await startDaemon(lab, n);
  for (const n of NODES) expect(await waitDaemon(lab, n, WAIT_MS)).toBe(true);
  for (const [name] of mods) {
    for (const n of NODES) await mustHakit(lab, n, ['start', '-m', name]);
    await mustHakit(lab, 'node1', ['prim', '-m', name]);
    await mustHakit(lab, 'node2', ['second', '-m', name]);
  }
  const settled = async (): Promise<boolean> => {
    for (const [name] of mods) {
      if ((await stateOf('node1', name)) !== 'PRIM/Ready' || (await stateOf('node2', name)) !== 'SECOND/Ready') return false;
    }
    return true;
  };
  expect(await until(settled, WAIT_MS)).toBe(true);
}, 240_000);

afterAll(async () => {
  await Lab.destroy(LAB);
}, 60_000);

test('WAN cut with manual failover: waits, deny keeps it waiting, approve takes over; the timer takes over by itself', async () => {
  // Before the cut nothing waits: approve is refused with a code and changes nothing.
  const early = await hakit(lab, 'node2', ['failover', 'approve', '-m', MANUAL]);
  expect(early.code).not.toBe(0);
  expect(early.out).toContain('HAKIT_E_FAILOVER_NOT_WAITING');
  expect(await stateOf('node2', MANUAL)).toBe('SECOND/Ready');

  const t0 = Date.now();
  await lab.cut('node1', 'node2');
  const tl = new Timeline(t0);
  tl.mark(`cut node1-node2 (sites paris and lyon; WAN delay ${WAN_DELAY_MS} ms, loss ${WAN_LOSS_PCT} % before)`, t0);

  const waiting = async (m: string): Promise<boolean> => (await stateOf('node2', m)) === 'WAIT/Approval';
  expect(await until(() => waiting(MANUAL), WAIT_MS)).toBe(true);
  expect(await until(() => waiting(TIMED), WAIT_MS)).toBe(true);
  // Without approval the survivor has taken over by itself.
  expect(await until(async () => (await stateOf('node2', AUTO)) === 'ALONE/Ready', WAIT_MS)).toBe(true);
  // The side cut from its SECOND keeps serving (it cannot know either): ALONE.
  expect(await until(async () => (await stateOf('node1', MANUAL)).startsWith('ALONE'), WAIT_MS)).toBe(true);

  // deny: still waiting, for as long as we watch.
  await mustHakit(lab, 'node2', ['failover', 'deny', '-m', MANUAL]);
  tl.mark(`hakit failover deny -m ${MANUAL} on node2`);
  const denyEnd = Date.now() + DENY_WATCH_MS;
  while (Date.now() < denyEnd) {
    expect(await stateOf('node2', MANUAL)).toBe('WAIT/Approval');
    await new Promise((r) => setTimeout(r, 500));
  }
  tl.mark(`node2 ${MANUAL}: still WAIT/Approval ${DENY_WATCH_MS} ms after deny (checked every 500 ms)`);

  // approve: the survivor takes over.
  const out = await mustHakit(lab, 'node2', ['failover', 'approve', '-m', MANUAL]);
  tl.mark(`hakit failover approve -m ${MANUAL} on node2: ${out.split('\n')[0]}`);
  expect(await until(async () => (await stateOf('node2', MANUAL)) === 'ALONE/Ready', WAIT_MS)).toBe(true);

  // The timed module took over by itself once its timer ran out, not before (module log times).
  expect(await until(async () => (await stateOf('node2', TIMED)) === 'ALONE/Ready', WAIT_MS)).toBe(true);
  const timed = await logEvents('node2', TIMED, t0);
  const waitAt = timed.find((e) => /waiting until/.test(e.what))?.at;
  const goAt = timed.find((e) => /WAIT -> ALONE/.test(e.what))?.at;
  expect(waitAt).toBeDefined();
  expect(goAt).toBeDefined();
  expect((goAt ?? 0) - (waitAt ?? 0)).toBeGreaterThanOrEqual(TIMER_S * 1000 - 100);

  // Approving a module that no longer waits: coded error, nothing changes.
  const late = await hakit(lab, 'node2', ['failover', 'approve', '-m', MANUAL]);
  expect(late.out).toContain('HAKIT_E_FAILOVER_NOT_WAITING');
  expect(await stateOf('node2', MANUAL)).toBe('ALONE/Ready');

  // The audit log holds the operator's answers.
  const audit = await mustHakit(lab, 'node2', ['cmdlog']);
  expect(audit).toMatch(/deny/);
  expect(audit).toMatch(/approve/);
  for (const m of [AUTO, MANUAL, TIMED]) for (const h of NODES) for (const e of await logEvents(h, m, t0)) tl.mark(e.what, e.at);
  process.stdout.write(`WAN cut between two sites, with and without approval (timeline since the cut, from the module logs):\n${tl.text()}\n`);
}, 180_000);
