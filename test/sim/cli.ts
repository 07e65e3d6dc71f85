#!/usr/bin/env node
// `npm run sim -- --seed S` replays one schedule (add --verbose for the trace);
// `npm run sim -- --seeds N` runs N seeds from --from and prints failures and figures.
import { Command } from 'commander';
import type { ModuleMode } from '../../core/module/pure/types';
import { LIVENESS_BOUND_MS, replayCommand, runSeed, type RunOptions } from './run';

export function main(argv: readonly string[]): number {
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
    .option('--verbose', 'print the trace')
    .exitOverride();
  p.parse([...argv], { from: 'user' });
  const o = p.opts<{ seed?: string; seeds: string; from: string; mode: string; witness: string; faultsMs: string; profile: string; faults: string; failover: string; arbitrators: string; verbose?: boolean }>();
  const base = {
    mode: o.mode as ModuleMode,
    witness: o.witness === 'on',
    faults_ms: Number(o.faultsMs),
    profile: o.profile === 'fast' ? ('fast' as const) : ('default' as const),
    faults: o.faults === 'crash' ? ('crash' as const) : ('all' as const),
    failover: o.failover === 'manual' ? ('manual' as const) : ('auto' as const),
    arbitrators: Math.max(1, Number(o.arbitrators)),
  };
  const seeds = o.seed !== undefined ? [Number(o.seed)] : Array.from({ length: Number(o.seeds) }, (_, i) => Number(o.from) + i);
  let failed = 0;
  let worst = 0;
  const started = Date.now();
  for (const seed of seeds) {
    const run: RunOptions = { ...base, seed, verbose: o.verbose === true };
    const r = runSeed(run);
    if (r.converge_ms !== null) worst = Math.max(worst, r.converge_ms);
    if (!r.ok) {
      failed += 1;
      console.log(`seed ${seed} FAILED: ${r.violations.map((v) => `t=${v.t} ${v.what}`).join('; ')}`);
      console.log(`  replay: ${replayCommand(run)}`);
    }
  }
  console.log(`${seeds.length - failed}/${seeds.length} seeds passed (${base.mode}, witness ${base.witness ? 'on' : 'off'}, failover ${base.failover}, ${base.arbitrators} arbitrator${base.arbitrators > 1 ? 's' : ''}); slowest convergence ${worst} ms (bound ${LIVENESS_BOUND_MS} ms); ${Date.now() - started} ms`);
  return failed === 0 ? 0 : 1;
}

if (require.main === module) {
  process.exit(main(process.argv.slice(2)));
}
