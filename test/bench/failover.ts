// `npm run bench -- failover [--runs N] [--soak-s S] [--profiles default,fast] [--witness on,off]
// [--loss-lan L] [--log-level L]`: issue 4 item 10, in a lab (`tvb`) with the real hakitd, hakit-witness and the
// example mirror_http module (packaged and installed like an admin would).
//
// Failover: the client polls GET http://VIP:9080/ every 20 ms (each attempt bounded); the
// primary gets a power cut (links dead, then every process killed); the figure is the time
// from the cut to the first answer through the VIP (necessarily from the survivor). The old
// primary is then powered on, its hakitd restarted (boot on: it comes back SECOND) and the
// next run cuts the other node.
//
// Soak: S seconds with 20 % loss on both nodes' egress on one LAN and both CPUs saturated by
// two bounded busy loops; every module state change in the nodes' logs during the window is a
// false failover (nothing failed); client GET failures are counted too.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Lab } from '../lab';
import { addHeartbeat, addWitness, clusterXml, configureCluster, mustHakit, moduleState, NODE, packageAndInstall, ROOT, setMacro, setProfile, startDaemon, startWitness, until, waitDaemon } from '../lab/demo/cluster-setup';
import { median, printFigures, type Figure } from './figures';

const LAB = 'tvb';
const NODES = ['node1', 'node2'] as const;
const MODULE = 'mirror_http';
const PORT = 9080;
const DATA_DIR = '/srv/mirror_http/data';
/** Client polling: one GET every POLL_MS, each bounded by ATTEMPT_TIMEOUT_MS. */
const POLL_MS = 20;
const ATTEMPT_TIMEOUT_MS = 250;
/** Bounds: a failover longer than this is recorded as a failure of the run. */
const FAILOVER_WAIT_MS = 60_000;
const SETTLE_WAIT_MS = 90_000;
const DAEMON_WAIT_MS = 30_000;
const STATE_WAIT_S = 60;
const LOSS_PCT = 20;
const BUSY_LOOPS = 2;

interface Options {
  runs: number;
  soak_s: number;
  profiles: Array<'default' | 'fast'>;
  witness: boolean[];
  loss_lan: number;
  /** hakitd's log level (debug shows every witness request and reply with its round trip). */
  log_level: string;
}

function parseOptions(args: readonly string[]): Options {
  const o: Options = { runs: 10, soak_s: 60, profiles: ['default', 'fast'], witness: [true, false], loss_lan: 0, log_level: 'info' };
  for (let i = 0; i < args.length; i++) {
    const [flag, value] = [args[i], args[i + 1]];
    i++;
    if (value === undefined) throw new Error(`failover bench: ${flag} needs a value`);
    if (flag === '--runs') o.runs = wholeNumber(flag, value, 1, 1000);
    else if (flag === '--soak-s') o.soak_s = wholeNumber(flag, value, 0, 3600);
    else if (flag === '--loss-lan') o.loss_lan = wholeNumber(flag, value, 0, 1);
    else if (flag === '--log-level') o.log_level = ['info', 'debug'].includes(value) ? value : badValue(flag, value);
    else if (flag === '--profiles') o.profiles = value.split(',').map((p) => (p === 'default' || p === 'fast' ? p : badValue(flag, p)));
    else if (flag === '--witness') o.witness = value.split(',').map((w) => (w === 'on' ? true : w === 'off' ? false : badValue(flag, w)));
    else throw new Error(`failover bench: unknown option ${flag} (--runs N --soak-s S --profiles default,fast --witness on,off --loss-lan 0|1 --log-level info|debug)`);
  }
  return o;
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new Error(`failover bench: ${flag} must be a whole number in ${min}..${max}, got '${text}'`);
  return n;
}

function badValue(flag: string, v: string): never {
  throw new Error(`failover bench: bad value '${v}' for ${flag}`);
}

const say = (t: string): void => void process.stderr.write(`${t}\n`);

// ---------------------------------------------------------------- client poller

/** Runs in the client host: prints `ok T` / `fail T` (epoch ms) each time the answer changes. */
const POLLER_JS = `
const http = require('http');
const host = process.env.VIP, port = Number(process.env.PORT), every = Number(process.env.POLL_MS), limit = Number(process.env.ATTEMPT_MS);
const stopAt = Date.now() + Number(process.env.MAX_MS);
let last = null, fails = 0, attempts = 0;
function once() {
  if (Date.now() > stopAt) { console.log('end ' + attempts + ' ' + fails); process.exit(0); }
  const t = Date.now(); let done = false; attempts++;
  const finish = (ok) => {
    if (done) return; done = true;
    if (!ok) fails++;
    if (ok !== last) { last = ok; console.log((ok ? 'ok ' : 'fail ') + Date.now()); }
    setTimeout(once, Math.max(0, t + every - Date.now()));
  };
  const req = http.get({ host, port, path: '/', timeout: limit, agent: false }, (res) => { res.resume(); res.on('end', () => finish(res.statusCode === 200)); res.on('error', () => finish(false)); });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => finish(false));
}
process.stdin.on('data', (d) => { if (String(d).includes('stop')) { console.log('end ' + attempts + ' ' + fails); process.exit(0); } });
once();`;

class Poller {
  readonly events: Array<{ ok: boolean; t: number }> = [];
  private end: { attempts: number; fails: number } | undefined;
  private readonly child: ChildProcess;

  constructor(lab: Lab, vip: string, max_ms: number) {
    this.child = lab.spawn('client', [NODE, '-e', POLLER_JS], {
      env: { ...process.env, VIP: vip, PORT: String(PORT), POLL_MS: String(POLL_MS), ATTEMPT_MS: String(ATTEMPT_TIMEOUT_MS), MAX_MS: String(max_ms) },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    let buf = '';
    this.child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) this.line(l);
    });
  }

  private line(l: string): void {
    const [word, a, b] = l.trim().split(' ');
    if (word === 'ok' || word === 'fail') this.events.push({ ok: word === 'ok', t: Number(a) });
    if (word === 'end') this.end = { attempts: Number(a), fails: Number(b) };
  }

  /** First `ok` after a `fail` that came after t0. */
  recoveredAfter(t0: number): number | undefined {
    const i = this.events.findIndex((e) => !e.ok && e.t >= t0);
    if (i < 0) return undefined;
    return this.events.slice(i).find((e) => e.ok)?.t;
  }

  answering(): boolean {
    return this.events.at(-1)?.ok === true;
  }

  async stop(): Promise<{ attempts: number; fails: number }> {
    this.child.stdin?.write('stop\n');
    await until(async () => this.end !== undefined || this.child.exitCode !== null, 5000, 20);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    return this.end ?? { attempts: 0, fails: 0 };
  }
}

// ---------------------------------------------------------------- cluster

async function makeCluster(profile: 'default' | 'fast', witness: boolean, log_level: string): Promise<{ lab: Lab; vip: string }> {
  await Lab.destroy(LAB);
  const lab = await Lab.up({ name: LAB, nodes: 2, client: true, witness: true, lans: 2 });
  const vip = lab.spareAddr(0, 50);
  const xml = clusterXml(lab, 'bench', NODES, [
    { name: 'default', lan: 0 },
    { name: 'lan1', lan: 1 },
  ]);
  await configureCluster(lab, NODES, xml, [...NODES, 'witness']);
  await packageAndInstall(lab, NODES, path.join(ROOT, 'modules/examples', MODULE), MODULE, (x) => {
    const base = addHeartbeat(setProfile(setMacro(x, 'VIRTUAL_IP', vip), profile), 'lan1');
    return witness ? addWitness(base, lab.addr('witness', 0)) : base;
  });
  for (const n of NODES) await lab.exec(n, ['mkdir', '-p', DATA_DIR]);
  await startWitness(lab);
  for (const n of NODES) await startDaemon(lab, n, log_level);
  for (const n of NODES) if (!(await waitDaemon(lab, n, DAEMON_WAIT_MS))) throw new Error(`hakitd on ${n} does not answer`);
  for (const n of NODES) {
    await mustHakit(lab, n, ['boot', 'on', '-m', MODULE]);
    await mustHakit(lab, n, ['start', '-m', MODULE]);
  }
  const wait = ['--timeout', String(STATE_WAIT_S)];
  await mustHakit(lab, 'node1', ['prim', '-m', MODULE]);
  await mustHakit(lab, 'node1', ['waitstate', '-m', MODULE, 'ALONE,PRIM', ...wait], (STATE_WAIT_S + 10) * 1000);
  await mustHakit(lab, 'node2', ['second', '-m', MODULE]);
  await mustHakit(lab, 'node2', ['waitstate', '-m', MODULE, 'SECOND', ...wait], (STATE_WAIT_S + 10) * 1000);
  return { lab, vip };
}

/** Waits for one PRIM/Ready and one SECOND/Ready; returns the primary, or undefined. */
async function settled(lab: Lab, wait_ms: number): Promise<string | undefined> {
  let prim: string | undefined;
  const ok = await until(async () => {
    const s = await Promise.all(NODES.map((n) => moduleState(lab, n, MODULE)));
    const p = NODES.findIndex((_, i) => s[i]?.state === 'PRIM' && s[i]?.status === 'Ready');
    const q = NODES.findIndex((_, i) => s[i]?.state === 'SECOND' && s[i]?.status === 'Ready');
    prim = p >= 0 && q >= 0 ? NODES[p] : undefined;
    return prim !== undefined;
  }, wait_ms, 250);
  return ok ? prim : undefined;
}

/** One power cut of the primary; the time until the VIP answers again, or undefined. */
async function oneFailover(lab: Lab, vip: string, victim: string): Promise<number | undefined> {
  const poller = new Poller(lab, vip, FAILOVER_WAIT_MS + 30_000);
  try {
    if (!(await until(async () => poller.answering(), 10_000, 20))) throw new Error(`the VIP ${vip} does not answer before the power cut`);
    const t0 = Date.now();
    await lab.kill(victim);
    let back: number | undefined;
    await until(async () => (back = poller.recoveredAfter(t0)) !== undefined, FAILOVER_WAIT_MS, 20);
    return back === undefined ? undefined : back - t0;
  } finally {
    await poller.stop();
  }
}

/** Powers the victim on, restarts its hakitd (boot on) and waits for PRIM + SECOND. */
async function reboot(lab: Lab, victim: string, log_level: string): Promise<string | undefined> {
  await lab.powerOn(victim);
  await startDaemon(lab, victim, log_level);
  return settled(lab, SETTLE_WAIT_MS);
}

// ---------------------------------------------------------------- soak

/** Module state changes ("A -> B") logged by the nodes at or after `since` (epoch ms). */
async function stateChanges(lab: Lab, since: number): Promise<string[]> {
  const out: string[] = [];
  for (const n of NODES) {
    const r = await lab.exec(n, ['cat', `/var/log/hakit/modules/${MODULE}.log`]);
    for (const line of r.stdout.split('\n')) {
      if (!line.includes(' -> ')) continue;
      try {
        const j = JSON.parse(line) as { time?: string; msg?: string };
        if (j.time !== undefined && Date.parse(j.time) >= since && /^\S+: [A-Z]+ -> [A-Z]+/.test(j.msg ?? '')) out.push(`${n} ${j.time} ${j.msg}`);
      } catch {
        /* not a log record */
      }
    }
  }
  return out;
}

function busyLoops(seconds: number): ChildProcess[] {
  const code = `const end = Date.now() + ${seconds * 1000}; let x = 0; while (Date.now() < end) x++;`;
  return Array.from({ length: BUSY_LOOPS }, () => spawn(NODE, ['-e', code], { stdio: 'ignore' }));
}

async function soak(lab: Lab, vip: string, o: Options): Promise<{ changes: string[]; fails: number; attempts: number }> {
  for (const n of NODES) await lab.loss(n, LOSS_PCT, { lan: o.loss_lan });
  const loops = busyLoops(o.soak_s + 5);
  const since = Date.now();
  const poller = new Poller(lab, vip, o.soak_s * 1000 + 30_000);
  try {
    await new Promise((r) => setTimeout(r, o.soak_s * 1000));
  } finally {
    for (const l of loops) if (l.exitCode === null) l.kill('SIGKILL');
    for (const n of NODES) await lab.loss(n, 0, { lan: o.loss_lan });
  }
  const { attempts, fails } = await poller.stop();
  return { changes: await stateChanges(lab, since), fails, attempts };
}

/**
 * With --log-level debug: keeps the nodes' and the witness's logs of a configuration in
 * <tmpdir>/hakit-failover-bench/<tag>/ (the lab's directories go with the lab).
 */
async function saveLogs(lab: Lab, tag: string): Promise<void> {
  const dir = path.join(os.tmpdir(), 'hakit-failover-bench', tag);
  fs.mkdirSync(dir, { recursive: true });
  const files: Array<[string, string]> = [
    ...NODES.flatMap((n): Array<[string, string]> => [
      [n, '/var/log/hakit/hakitd.log'],
      [n, `/var/log/hakit/modules/${MODULE}.log`],
    ]),
    ['witness', '/var/log/hakit/hakitd.log'],
  ];
  for (const [host, file] of files) {
    const r = await lab.exec(host, ['cat', file]);
    fs.writeFileSync(path.join(dir, `${host}-${path.basename(file)}`), r.stdout);
  }
  say(`  logs kept in ${dir}`);
}

// ---------------------------------------------------------------- main

async function benchConfig(profile: 'default' | 'fast', witness: boolean, o: Options): Promise<Figure[]> {
  const tag = `${profile}_${witness ? 'witness' : 'nowitness'}`;
  say(`failover bench: ${tag}: setting up the lab`);
  const { lab, vip } = await makeCluster(profile, witness, o.log_level);
  try {
    let prim = await settled(lab, SETTLE_WAIT_MS);
    const times: number[] = [];
    for (let run = 0; run < o.runs && prim !== undefined; run++) {
      const ms = await oneFailover(lab, vip, prim);
      if (ms !== undefined) times.push(ms);
      say(`  run ${run + 1}/${o.runs}: power cut of ${prim} -> VIP answers after ${ms === undefined ? 'NO ANSWER' : `${ms} ms`}`);
      prim = await reboot(lab, prim, o.log_level);
      if (prim === undefined) say('  the cluster did not settle (PRIM + SECOND) after the reboot: runs stop here');
    }
    const figs: Figure[] = [];
    if (times.length > 0) {
      figs.push({ figure: `failover_median_${tag}`, value: median(times), unit: 'ms', note: `${times.length} runs, power cut -> GET via VIP answers` });
      figs.push({ figure: `failover_max_${tag}`, value: Math.max(...times), unit: 'ms' });
    }
    figs.push({ figure: `failover_failed_runs_${tag}`, value: o.runs - times.length, unit: 'runs', note: `of ${o.runs} (no answer within ${FAILOVER_WAIT_MS} ms, or not run: cluster did not settle)` });
    if (o.soak_s > 0 && prim !== undefined) {
      say(`  soak: ${o.soak_s} s, ${LOSS_PCT} % loss on LAN ${o.loss_lan}, ${BUSY_LOOPS} busy loops`);
      const s = await soak(lab, vip, o);
      for (const c of s.changes) say(`  state change during the soak: ${c}`);
      figs.push({ figure: `soak_state_changes_${tag}`, value: s.changes.length, unit: 'changes', note: `${o.soak_s} s, ${LOSS_PCT} % loss on LAN ${o.loss_lan}, CPUs busy` });
      figs.push({ figure: `soak_client_failed_gets_${tag}`, value: s.fails, unit: 'GETs', note: `of ${s.attempts}` });
    }
    return figs;
  } finally {
    if (o.log_level === 'debug') await saveLogs(lab, tag).catch((e: unknown) => say(`  cannot keep the logs: ${String(e)}`));
    await lab.down();
  }
}

export async function failoverBench(args: readonly string[]): Promise<void> {
  const o = parseOptions(args);
  const figures: Figure[] = [];
  for (const profile of o.profiles) for (const witness of o.witness) figures.push(...(await benchConfig(profile, witness, o)));
  printFigures('failover', figures);
}
