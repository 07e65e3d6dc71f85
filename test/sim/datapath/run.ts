// One seeded data-path schedule: the pair starts (a full comparison brings SECOND in sync),
// the application writes while random faults hit the link, the disks and the nodes (safety:
// I1 and I2 checked after every event), then the faults stop, the application stops and the
// pair must converge to identical trees within DATAPATH_LIVENESS_MS (I3).
import { DatapathWorld, type FenceModel, type NodeName, type Violation } from './world';
import type { JournalModel, PrimBugs } from './prim';
import type { ReceiverStart, WelcomeLast } from './second';

export const DATAPATH_LIVENESS_MS = 30_000;

/** 'disk': PRIM's disk (its data and journal) or SECOND's full, with resets, cuts, hakitd
 *  restarts and power cuts between (its own set: 'all' keeps the schedules it had). */
export type FaultSet = 'all' | 'link' | 'power' | 'disk';

export interface DatapathOptions {
  readonly seed: number;
  /** Simulated time of the fault phase. */
  readonly faults_ms: number;
  readonly faults?: FaultSet;
  /** See FenceModel (default 'ideal'). */
  readonly fence?: FenceModel;
  readonly fence_ms?: number;
  /** See WelcomeLast (default 'applied', what receiver.ts does; 'received' re-injects a fixed bug). */
  readonly welcome?: WelcomeLast;
  /** See JournalModel (default 'fixed', what journal.ts and sender.ts do; 'today' re-injects fixed bugs). */
  readonly journal?: JournalModel;
  readonly bugs?: PrimBugs;
  /** See WorldOptions.sync_secondary (default true). */
  readonly sync_secondary?: boolean;
  /** See WorldOptions.async (default "none"). */
  readonly async?: 'none' | 'second';
  /** See ReceiverStart (default 'fixed'). */
  readonly receiver_start?: ReceiverStart;
  readonly verbose?: boolean;
}

export interface DatapathResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violations: readonly Violation[];
  readonly converge_ms: number | null;
  readonly faults: number;
  readonly failovers: number;
  readonly acked_writes: number;
  readonly app_calls: number;
  readonly events: number;
  readonly trace: readonly string[];
}

/** `--bug NAME` of `npm run sim`, and the runner fault each one re-injects (PrimBugs). */
export const BUG_SWITCHES = {
  'fsync-before-ack': 'fsync_before_ack',
  'drop-go-alone': 'drop_go_alone_ops',
  'no-fence': 'no_fence',
  'second-keeps-complete': 'second_keeps_complete',
  'journal-drops-refused': 'journal_drops_refused',
  'pass-keeps-second-complete': 'pass_keeps_second_complete',
  'activity-cools-unsynced': 'activity_cools_unsynced',
  'second-completes-stale': 'second_completes_stale',
} as const satisfies Record<string, keyof PrimBugs>;
export type BugSwitch = keyof typeof BUG_SWITCHES;

export function datapathReplayCommand(o: DatapathOptions): string {
  const on = (Object.keys(BUG_SWITCHES) as BugSwitch[]).find((k) => o.bugs?.[BUG_SWITCHES[k]] === true);
  const bugs = on === undefined ? '' : ` --bug ${on}`;
  return `npm run sim -- --datapath only --seed ${o.seed} --datapath-faults-ms ${o.faults_ms} --datapath-faults ${o.faults ?? 'all'}${o.fence === 'daemon' ? ` --fence daemon --fence-ms ${o.fence_ms ?? 500}` : ''}${o.welcome === 'received' ? ' --welcome received' : ''}${o.journal === 'today' ? ' --journal today' : ''}${o.sync_secondary === false ? ' --sync-secondary off' : ''}${o.async === 'second' ? ' --async second' : ''}${o.receiver_start === 'boot' ? ' --receiver-start boot' : ''}${bugs} --verbose`;
}

export function runDatapathSeed(o: DatapathOptions): DatapathResult {
  const w = new DatapathWorld({ seed: o.seed, fence: o.fence, fence_ms: o.fence_ms, welcome: o.welcome, journal: o.journal, bugs: o.bugs, sync_secondary: o.sync_secondary, async: o.async, receiver_start: o.receiver_start });
  w.verbose = o.verbose ?? false;
  w.app.trace = w.verbose;
  w.start();
  let faults = 0;
  // Setup: the first full comparison brings SECOND in sync (the application writes meanwhile).
  w.runUntil(w.now + 10_000, () => w.nodes[w.primNode].prim?.route === 'in_sync');
  if (w.violations.length === 0 && w.nodes[w.primNode].prim?.route !== 'in_sync') {
    w.violations.push({ t: w.now, invariant: 'I3', what: 'setup: the first re-integration did not reach in_sync within 10 s' });
  }
  const end = w.now + o.faults_ms;
  while (w.violations.length === 0 && w.now < end) {
    injectFault(w, o.faults ?? 'all');
    faults++;
    w.runUntil(Math.min(end, w.now + w.rng.int(200, 2500)));
  }
  let converge_ms: number | null = null;
  if (w.violations.length === 0) {
    const t0 = w.now;
    w.log('--- faults stop; the application stops ---');
    w.app.stop();
    w.healNetwork();
    for (const id of ['n1', 'n2'] as const) {
      const n = w.nodes[id];
      n.fs.full = false;
      if (n.up && !n.daemon) w.restartDaemon(id);
    }
    if (w.runUntil(t0 + DATAPATH_LIVENESS_MS, () => w.converged())) converge_ms = w.now - t0;
    else if (w.violations.length === 0) {
      const p = w.nodes[w.primNode];
      w.violations.push({ t: w.now, invariant: 'I3', what: `no convergence within ${DATAPATH_LIVENESS_MS} ms after faults stopped: PRIM ${w.primNode} link ${p.prim?.route ?? 'down'}, app ${w.app.idle ? 'idle' : 'busy'}, trees: ${w.treeDifference() ?? 'identical'}` });
    }
  }
  return {
    seed: o.seed, ok: w.violations.length === 0, violations: [...w.violations], converge_ms, faults, failovers: w.failovers,
    acked_writes: w.ledger.acked, app_calls: w.app.calls, events: w.events, trace: w.trace,
  };
}

function injectFault(w: DatapathWorld, set: FaultSet): void {
  const r = w.rng;
  const both = w.nodes.n1.up && w.nodes.n2.up;
  const pick = (): NodeName => r.pick(['n1', 'n2'] as const);
  const link = (): void => {
    const k = r.int(0, 6);
    if (k === 0) { w.cutNetwork(); w.at(w.now + r.int(100, 8000), 'network heals', () => w.healNetwork()); }
    else if (k === 1) w.resetConnection();
    else if (k === 2) w.stall(r.int(50, 7000));
    else if (k === 3) w.garbage(r.chance(0.5) ? 'second' : 'prim');
    else if (k === 4) w.diskFull(r.int(100, 4000));
    else if (k === 5) w.daemonCrash(pick(), r.pick([r.int(0, 300), r.int(500, 5000)]));
    else w.healNetwork();
  };
  const power = (): void => {
    if (!both) return;
    w.powerCut(pick(), r.int(500, 8000));
  };
  const disk = (): void => {
    const k = r.int(0, 5);
    if (k <= 1) w.diskFull(r.int(100, 6000), k === 0 ? 'prim' : 'second');
    else if (k === 2) w.daemonCrash(pick(), r.pick([r.int(0, 300), r.int(500, 5000)]));
    else if (k === 3) power();
    else if (k === 4) w.resetConnection();
    else { w.cutNetwork(); w.at(w.now + r.int(100, 4000), 'network heals', () => w.healNetwork()); }
  };
  if (set === 'link') link();
  else if (set === 'power') { if (r.chance(0.5)) power(); else w.daemonCrash(pick(), r.int(0, 3000)); }
  else if (set === 'disk') disk();
  else if (r.chance(0.2)) power();
  else link();
}
