#!/usr/bin/env node
// `npm run sim -- --seed S` replays one schedule (add --verbose for the trace);
// `npm run sim -- --seeds N` runs N seeds from --from and prints failures and figures.
import { Command, CommanderError } from 'commander';
import { HakitError } from '../../core/errors/catalogue';
import type { ModuleMode } from '../../core/module/pure/types';
import { LIVENESS_BOUND_MS, replayCommand, runSeed, type RunOptions } from './run';
import { BUG_SWITCHES, DATAPATH_LIVENESS_MS, datapathReplayCommand, runDatapathSeed, type BugSwitch, type DatapathOptions, type FaultSet } from './datapath/run';

/** The values each enumerated option accepts: anything else is refused, not read as a default. */
const CHOICES: Readonly<Record<string, readonly string[]>> = {
  mode: ['mirror', 'farm'],
  witness: ['on', 'off'],
  profile: ['default', 'fast'],
  faults: ['all', 'crash'],
  failover: ['auto', 'manual'],
  datapath: ['on', 'off', 'only'],
  datapathFaults: ['all', 'link', 'power', 'disk'],
  fence: ['ideal', 'daemon'],
  welcome: ['applied', 'received'],
  journal: ['fixed', 'today'],
  syncSecondary: ['on', 'off'],
  async: ['none', 'second'],
  receiverStart: ['fixed', 'boot'],
  bug: Object.keys(BUG_SWITCHES),
};
const NUMBERS = ['seed', 'seeds', 'from', 'faultsMs', 'arbitrators', 'linkDelayMs', 'datapathFaultsMs', 'fenceMs'] as const;

/** `--sync-secondary` for the option key `syncSecondary`. */
function flag(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Refuses an option value the simulation does not know, with HAKIT_E_USAGE naming it. */
export function checkOptions(o: Readonly<Record<string, unknown>>): void {
  for (const [key, allowed] of Object.entries(CHOICES)) {
    const v = o[key];
    if (v !== undefined && !allowed.includes(String(v))) throw new HakitError('HAKIT_E_USAGE', `${flag(key)} ${String(v)}: expected one of ${allowed.join(', ')}`, 'sim');
  }
  for (const key of NUMBERS) {
    const v = o[key];
    if (v !== undefined && !/^\d+$/.test(String(v))) throw new HakitError('HAKIT_E_USAGE', `${flag(key)} ${String(v)}: expected a whole number`, 'sim');
  }
}

export function main(argv: readonly string[]): number {
  try {
    return run(argv);
  } catch (e) {
    if (e instanceof HakitError) {
      console.error(`${e.code}: ${e.message}`);
      return 2;
    }
    // commander already printed its own message (unknown option, missing value, --help).
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
}

function run(argv: readonly string[]): number {
  const p = new Command('sim')
    .option('--seed <n>', 'run this one seed')
    .option('--seeds <n>', 'run this many seeds', '100')
    .option('--from <n>', 'first seed of --seeds', '1')
    .option('--mode <mode>', 'mirror | farm', 'mirror')
    .option('--witness <on|off>', 'a split-brain witness is configured', 'on')
    .option('--faults-ms <ms>', 'simulated time of the fault phase', '40000')
    .option('--profile <name>', 'heartbeat profile: default | fast', 'default')
    .option('--faults <kind>', 'all | crash (crashes and commands only)', 'all')
    .option('--failover <mode>', 'auto | manual (survivors wait for approval; docs/geo.md)', 'auto')
    .option('--arbitrators <n>', 'arbitrators with a majority rule (with --witness on; docs/geo.md)', '1')
    .option('--link-delay-ms <ms>', 'the SECOND hears a session start, the PRIM its in_sync, 1..ms after the other side (0: both at once)', '0')
    .option('--verbose', 'print the trace')
    .option('--datapath <on|off|only>', 'also run the data-path simulation (test/sim/datapath/) for the same seeds; only: just it (default: on with --seeds, off with --seed)')
    .option('--datapath-faults-ms <ms>', 'data path: simulated time of the fault phase', '20000')
    .option('--datapath-faults <set>', 'data path: all | link | power | disk', 'all')
    .option('--fence <model>', 'data path: ideal | daemon (how SECOND learns PRIM is ALONE; see datapath/world.ts)', 'ideal')
    .option('--fence-ms <ms>', 'data path, --fence daemon: heartbeat delay', '500')
    .option('--welcome <last>', "data path: applied | received (WELCOME's last_seq; 'received' re-injects a fixed bug)", 'applied')
    .option('--journal <model>', 'data path: fixed | today (\'today\' re-injects the journal bugs fixed since)', 'fixed')
    .option('--sync-secondary <on|off>', 'data path: SECOND syncs its disk at each sync call (on) or acknowledges once written (off, the product default)', 'on')
    .option('--async <none|second>', 'data path: SECOND acknowledges once it applied an op (none) or on receipt (second)', 'none')
    .option('--receiver-start <rule>', "data path: fixed | boot (how a receiver restarted on the same boot judges its copy; 'boot' re-injects a fixed bug)", 'fixed')
    .option('--bug <name>', `data path, test only: ${Object.keys(BUG_SWITCHES).join(' | ')} (the checker must catch it)`)
    .exitOverride();
  p.parse([...argv], { from: 'user' });
  const o = p.opts<{ seed?: string; seeds: string; from: string; mode: string; witness: string; faultsMs: string; profile: string; faults: string; failover: string; arbitrators: string; linkDelayMs: string; verbose?: boolean; datapath?: string; datapathFaultsMs: string; datapathFaults: string; fence: string; fenceMs: string; welcome: string; journal: string; syncSecondary: string; async: string; receiverStart: string; bug?: string }>();
  checkOptions(o);
  const base = {
    mode: o.mode as ModuleMode,
    witness: o.witness === 'on',
    faults_ms: Number(o.faultsMs),
    profile: o.profile === 'fast' ? ('fast' as const) : ('default' as const),
    faults: o.faults === 'crash' ? ('crash' as const) : ('all' as const),
    failover: o.failover === 'manual' ? ('manual' as const) : ('auto' as const),
    arbitrators: Math.max(1, Number(o.arbitrators)),
    linkDelay_ms: Number(o.linkDelayMs),
  };
  const seeds = o.seed !== undefined ? [Number(o.seed)] : Array.from({ length: Number(o.seeds) }, (_, i) => Number(o.from) + i);
  // A replayed cluster seed (--seed) replays only that, unless the data path is asked for.
  const datapath = o.datapath ?? (o.seed !== undefined ? 'off' : 'on');
  let failed = 0;
  let worst = 0;
  const started = Date.now();
  for (const seed of datapath === 'only' ? [] : seeds) {
    const run: RunOptions = { ...base, seed, verbose: o.verbose === true };
    const r = runSeed(run);
    if (r.converge_ms !== null) worst = Math.max(worst, r.converge_ms);
    if (!r.ok) {
      failed += 1;
      console.log(`seed ${seed} FAILED: ${r.violations.map((v) => `t=${v.t} ${v.what}`).join('; ')}`);
      console.log(`  replay: ${replayCommand(run)}`);
    }
  }
  if (datapath !== 'only') console.log(`${seeds.length - failed}/${seeds.length} seeds passed (${base.mode}, witness ${base.witness ? 'on' : 'off'}, failover ${base.failover}, ${base.arbitrators} arbitrator${base.arbitrators > 1 ? 's' : ''}${base.linkDelay_ms > 0 ? `, link delay ≤ ${base.linkDelay_ms} ms` : ''}); slowest convergence ${worst} ms (bound ${LIVENESS_BOUND_MS} ms); ${Date.now() - started} ms`);
  if (datapath !== 'off') failed += runDatapath(seeds, o);
  return failed === 0 ? 0 : 1;
}

/** The data-path simulation (test/sim/datapath/run.ts) over `seeds`; returns the failures. */
function runDatapath(seeds: readonly number[], o: { datapathFaultsMs: string; datapathFaults: string; fence: string; fenceMs: string; welcome: string; journal: string; syncSecondary: string; async: string; receiverStart: string; bug?: string; verbose?: boolean }): number {
  const base: Omit<DatapathOptions, 'seed'> = {
    faults_ms: Number(o.datapathFaultsMs),
    faults: (['all', 'link', 'power', 'disk'].includes(o.datapathFaults) ? o.datapathFaults : 'all') as FaultSet,
    fence: o.fence === 'daemon' ? 'daemon' : 'ideal',
    fence_ms: Number(o.fenceMs),
    welcome: o.welcome === 'received' ? 'received' : 'applied',
    journal: o.journal === 'today' ? 'today' : 'fixed',
    sync_secondary: o.syncSecondary !== 'off',
    async: o.async === 'second' ? 'second' : 'none',
    receiver_start: o.receiverStart === 'boot' ? 'boot' : 'fixed',
    bugs: typeof o.bug === 'string' && o.bug in BUG_SWITCHES ? { [BUG_SWITCHES[o.bug as BugSwitch]]: true } : {},
  };
  let failed = 0;
  let worst = 0;
  let acked = 0;
  let failovers = 0;
  const started = Date.now();
  for (const seed of seeds) {
    const run: DatapathOptions = { ...base, seed, verbose: o.verbose === true };
    const r = runDatapathSeed(run);
    acked += r.acked_writes;
    failovers += r.failovers;
    if (r.converge_ms !== null) worst = Math.max(worst, r.converge_ms);
    if (!r.ok) {
      failed += 1;
      console.log(`data path seed ${seed} FAILED: ${r.violations.map((v) => `t=${v.t} ${v.invariant} ${v.what}`).join('; ')}`);
      console.log(`  replay: ${datapathReplayCommand(run)}`);
    }
  }
  console.log(`${seeds.length - failed}/${seeds.length} data-path seeds passed (faults ${base.faults}, fence ${base.fence}, welcome ${base.welcome}, journal ${base.journal}, sync_secondary ${base.sync_secondary === false ? 'off' : 'on'}, async ${base.async}${base.receiver_start === 'boot' ? ', receiver-start boot' : ''}${o.bug ? `, bug ${o.bug}` : ''}); ${acked} acknowledged writes, ${failovers} failovers; slowest convergence ${failed === seeds.length ? 'none' : `${Math.round(worst)} ms`} (bound ${DATAPATH_LIVENESS_MS} ms); ${Date.now() - started} ms`);
  return failed;
}

if (require.main === module) {
  process.exit(main(process.argv.slice(2)));
}
