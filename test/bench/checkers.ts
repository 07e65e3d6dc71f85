// Checker benchmarks: how fast a process death is seen (errd) and acted on (restart), and the
// CPU cost of 20 checkers at 1 s intervals. Everything runs on this machine, no network.
//   npm run bench -- checkers [--runs N] [--window-s S] [--lab-runs N | --no-lab]
// With the lab (default; root): the same death with the real hakitd (checkers-daemon.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModuleMonitor } from '../../core/checkers/host';
import { procStart, ProcWatch } from '../../core/checkers/probes/proc';
import { SILENT_LOG } from '../../core/log/sink';
import { parseUserConfigText } from '../../core/config/load';
import { planMonitor } from '../../core/rules/pure/plan';
import { median, printFigures, quantile, type Figure } from './figures';
import { daemonRestart } from './checkers-daemon';
import { processCpuTicks, TICKS_PER_S } from './cpu-time';

/** Bound on one wait for a death to be seen or acted on. */
const WAIT_MS = 5_000;
const MAX_RUNS = 200;
const MAX_WINDOW_S = 600;

function argNum(args: readonly string[], name: string, dflt: number, max: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? Math.min(v, max) : dflt;
}

function idle(tag: string): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', tag], { stdio: 'ignore' });
}

async function until(pred: () => boolean, max_ms: number): Promise<boolean> {
  const end = performance.now() + max_ms;
  while (!pred()) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
  return true;
}

async function started(c: ChildProcess): Promise<void> {
  await until(() => c.pid !== undefined && procStart(c.pid) !== null, WAIT_MS);
  await new Promise((r) => setTimeout(r, 30));
}

/** kill -9 → errd reports the count below atleast (scan interval 10 s: the fast watch sees it). */
async function deathSeen(runs: number): Promise<number[]> {
  const out: number[] = [];
  const tag = `hcbench${process.pid}seen`;
  for (let i = 0; i < runs; i++) {
    const c = idle(tag);
    await started(c);
    let seenAt = 0;
    const w = new ProcWatch({ pattern: { name: 'node', argregex: new RegExp(tag) }, atleast: 1, atmost: -1 }, 10_000, 100);
    w.start((r) => {
      if (!r.ok && seenAt === 0) seenAt = performance.now();
    });
    // Kill at a random phase of the 100 ms fast-watch period.
    await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 100)));
    const t0 = performance.now();
    c.kill('SIGKILL');
    if (await until(() => seenAt > 0, WAIT_MS)) out.push(seenAt - t0);
    w.stop();
  }
  return out;
}

function userconfig(inner: string): ReturnType<typeof planMonitor> {
  const xml = `<safe><service mode="mirror" nodes="a b" maxloop="1000"><heart><heartbeat name="default"/></heart>${inner}</service></safe>`;
  const r = parseUserConfigText(xml);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return planMonitor(r.value, 'bench');
}

/** kill -9 → the restart rule asks the module to restart (a fake module that restarts the process at once). */
async function deathRestarted(runs: number): Promise<number[]> {
  const tag = `hcbench${process.pid}restart`;
  const plan = userconfig(`<errd polltimer="10s"><proc name="node" argregex="${tag}" action="restart"/></errd>`);
  let app = idle(tag);
  await started(app);
  let commandAt = 0;
  const mon: ModuleMonitor = new ModuleMonitor({
    module: 'bench',
    plan,
    bin_dir: os.tmpdir(),
    env: {},
    deliver: () => undefined,
    command: () => {
      commandAt = performance.now();
      mon.moduleChanged({ state: 'PRIM', status: 'Transient' });
      app = idle(tag);
      void started(app).then(() => mon.moduleChanged({ state: 'PRIM', status: 'Ready' }));
      return Promise.resolve();
    },
    moduleState: () => Promise.resolve(null),
    log: SILENT_LOG,
  });
  mon.start({ state: 'PRIM', status: 'Ready' });
  const out: number[] = [];
  try {
    await until(() => mon.get('errd.node').state === 'up', WAIT_MS);
    for (let i = 0; i < runs; i++) {
      commandAt = 0;
      await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 100)));
      const t0 = performance.now();
      app.kill('SIGKILL');
      if (await until(() => commandAt > 0, WAIT_MS)) out.push(commandAt - t0);
      await until(() => mon.get('errd.node').state === 'up', WAIT_MS);
    }
  } finally {
    mon.dispose();
    app.kill('SIGKILL');
  }
  return out;
}

/** utime+stime of this process and its waited-for children, in clock ticks. */
function cpuTicks(): number {
  return processCpuTicks('self', true) ?? 0;
}

/** 20 checkers at 1 s: 10 errd processes, 4 intf, 3 ip, 3 custom (a shell script each). */
async function cpuCost(window_s: number): Promise<{ pct: number; per_checker_pct: number }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-bench-'));
  fs.writeFileSync(path.join(tmp, 'ok.sh'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const tag = `hcbench${process.pid}cpu`;
  const apps = [idle(tag)];
  await started(apps[0] as ChildProcess);
  const procs = Array.from({ length: 10 }, (_, i) => `<proc name="node" argregex="${tag}|x${i}"/>`).join('');
  const intf = Array.from({ length: 4 }, (_, i) => `<intf ident="i${i}" when="prim"><to name="lo" interval="1s"/></intf>`).join('');
  const ip = Array.from({ length: 3 }, (_, i) => `<ip ident="a${i}" when="prim"><to addr="127.0.0.1" interval="1s"/></ip>`).join('');
  const custom = Array.from({ length: 3 }, (_, i) => `<custom ident="c${i}" exec="ok.sh" interval="1s" timeout="1s"/>`).join('');
  const plan = userconfig(`<errd polltimer="1s">${procs}</errd><check>${intf}${ip}${custom}</check>`);
  const mon = new ModuleMonitor({ module: 'bench', plan, bin_dir: tmp, env: {}, deliver: () => undefined, command: () => Promise.resolve(), moduleState: () => Promise.resolve(null), log: SILENT_LOG });
  mon.start({ state: 'PRIM', status: 'Ready' });
  try {
    await new Promise((r) => setTimeout(r, 1_500));
    const c0 = cpuTicks();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, window_s * 1000));
    const used_s = (cpuTicks() - c0) / TICKS_PER_S;
    const wall_s = (performance.now() - t0) / 1000;
    const pct = (100 * used_s) / wall_s;
    return { pct, per_checker_pct: pct / plan.checks.length };
  } finally {
    mon.dispose();
    for (const a of apps) a.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export async function checkersBench(args: readonly string[] = []): Promise<void> {
  const runs = Math.max(10, argNum(args, '--runs', 20, MAX_RUNS));
  const window_s = argNum(args, '--window-s', 10, MAX_WINDOW_S);
  const seen = await deathSeen(runs);
  const restarted = await deathRestarted(runs);
  const cpu = await cpuCost(window_s);
  // The same death with the real hakitd in the lab (needs root and `npm run build`).
  const lab_runs = Math.max(10, argNum(args, '--lab-runs', 12, MAX_RUNS));
  const daemon = args.includes('--no-lab') ? null : await daemonRestart(lab_runs, (l) => process.stderr.write(`${l}\n`));
  const figures: Figure[] = [
    { figure: 'death_seen_median', value: median(seen), unit: 'ms', note: `${seen.length} runs, errd scan 10 s, fast watch 100 ms` },
    { figure: 'death_seen_p90', value: quantile(seen, 0.9), unit: 'ms' },
    { figure: 'death_seen_max', value: Math.max(...seen), unit: 'ms' },
    { figure: 'death_to_restart_cmd_median', value: median(restarted), unit: 'ms', note: `${restarted.length} runs, rule restart, handle_time 0` },
    { figure: 'death_to_restart_cmd_max', value: Math.max(...restarted), unit: 'ms' },
    { figure: 'cpu_20_checkers_1s', value: cpu.pct, unit: '% of one core', note: `${window_s} s window, 10 errd + 4 intf + 3 ip + 3 custom, incl. custom scripts` },
    { figure: 'cpu_per_checker', value: cpu.per_checker_pct, unit: '% of one core' },
  ];
  if (daemon) {
    const n = `${daemon.process_ms.length} runs, real hakitd in the lab, mirror_http PRIM`;
    figures.push(
      { figure: 'hakitd_death_seen_median', value: median(daemon.seen_ms), unit: 'ms', note: `${n}: kill -9 -> "resource errd.node: down" logged` },
      { figure: 'hakitd_death_to_restart_cmd_median', value: median(daemon.command_ms), unit: 'ms', note: 'kill -9 -> "failover rule: restart" logged' },
      { figure: 'hakitd_death_to_new_process_median', value: median(daemon.process_ms), unit: 'ms', note: 'kill -9 -> start_prim has started a new process' },
      { figure: 'hakitd_death_to_new_process_max', value: Math.max(...daemon.process_ms), unit: 'ms' },
      { figure: 'hakitd_death_to_listening_median', value: median(daemon.listening_ms), unit: 'ms', note: 'kill -9 -> the new process listens on its port' },
      { figure: 'hakitd_death_to_listening_max', value: Math.max(...daemon.listening_ms), unit: 'ms' },
    );
  }
  printFigures('checkers', figures);
}

if (require.main === module) void checkersBench(process.argv.slice(2));
