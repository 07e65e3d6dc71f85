// One seeded schedule: set up a healthy cluster, inject random faults (safety phase: the
// invariants are checked after every event), then stop the faults and require convergence
// within LIVENESS_BOUND_MS (liveness phase).
import type { NodeId } from '../../core/membership/pure/types';
import type { ModuleMode, OperatorCommand } from '../../core/module/pure/types';
import { CALM, ROUGH, WITNESS, World, type Violation } from './world';

/** After faults stop (network healed, nodes restarted, stopped modules started) the cluster must converge within this. */
export const LIVENESS_BOUND_MS = 30_000;
export const SETUP_BOUND_MS = 30_000;

export interface RunOptions {
  readonly seed: number;
  readonly mode: ModuleMode;
  readonly witness: boolean;
  readonly faults_ms: number;
  readonly profile: 'default' | 'fast';
  /** 'crash': only crashes, restarts and operator commands (no cuts): lost writes are checked without a witness too. */
  readonly faults: 'all' | 'crash';
  /**
   * 'manual': `<failover mode="manual">` (docs/geo.md) with a seeded approval timer (none for
   * one seed in three); the operator approves and denies at random, and approves at the end.
   */
  readonly failover?: 'auto' | 'manual';
  /** Arbitrators with a majority rule (docs/geo.md); default 1. */
  readonly arbitrators?: number;
  /** The replication link's delay between the nodes' views of a session (WorldOptions.linkDelay_ms); default 0. */
  readonly linkDelay_ms?: number;
  readonly verbose?: boolean;
}

/** Manual failover: the seed's approval timer (null: none, the operator must approve). */
export function approvalTimerOf(seed: number): number | null {
  return seed % 3 === 0 ? null : 2000 + ((seed * 7919) % 8000);
}

export interface RunResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violations: readonly Violation[];
  /** Time from the end of faults to convergence; null when it did not converge. */
  readonly converge_ms: number | null;
  readonly faults: number;
  readonly trace: readonly string[];
  readonly codes: ReadonlyMap<string, number>;
}

export function replayCommand(o: RunOptions): string {
  const manual = `${o.failover === 'manual' ? ' --failover manual' : ''}${(o.arbitrators ?? 1) > 1 ? ` --arbitrators ${o.arbitrators}` : ''}${(o.linkDelay_ms ?? 0) > 0 ? ` --link-delay-ms ${o.linkDelay_ms}` : ''}`;
  return `npm run sim -- --seed ${o.seed} --mode ${o.mode} --witness ${o.witness ? 'on' : 'off'} --faults-ms ${o.faults_ms} --faults ${o.faults} --profile ${o.profile}${manual} --verbose`;
}

export function runSeed(o: RunOptions): RunResult {
  const manual = o.failover === 'manual' ? { policy: { failover_mode: 'manual' as const, approval_timer_ms: approvalTimerOf(o.seed) } } : {};
  const w = new World({ seed: o.seed, mode: o.mode, nodes: o.mode === 'mirror' ? 2 : 3, witness: o.witness, lans: 2, profile: o.profile, maxDrift: 0.005, arbitrators: o.arbitrators ?? 1, linkDelay_ms: o.linkDelay_ms ?? 0, ...manual });
  w.verbose = o.verbose ?? false;
  const violations = (): Violation[] => [...w.violations];
  setup(w, o.mode);
  let faults = 0;
  if (w.violations.length === 0) {
    w.rates = ROUGH;
    const end = w.now + o.faults_ms;
    while (w.now < end && w.violations.length === 0) {
      injectFault(w, o);
      faults += 1;
      w.runFor(w.rng.int(300, 6000));
    }
  }
  let converge_ms: number | null = null;
  if (w.violations.length === 0) converge_ms = recover(w);
  if (converge_ms === null && w.violations.length === 0) w.violations.push({ t: w.now, what: `no convergence within ${LIVENESS_BOUND_MS} ms after faults stopped: ${w.ids.map((id) => `${id}=${w.stateOf(id)}`).join(' ')}` });
  return { seed: o.seed, ok: w.violations.length === 0, violations: violations(), converge_ms, faults, trace: w.trace, codes: w.codes };
}

export function setup(w: World, mode: ModuleMode): void {
  w.runFor(1000);
  for (const id of w.ids) {
    w.command(id, { kind: 'boot', on: true }); // a crashed node starts its module again when it comes back
    w.command(id, { kind: 'start' });
  }
  if (mode === 'mirror') {
    const [n1, n2] = w.ids as [NodeId, NodeId];
    w.runUntil(w.now + SETUP_BOUND_MS, () => w.stateOf(n1) === 'WAIT/NotReady' && w.stateOf(n2) === 'WAIT/NotReady');
    w.runFor(3000); // let both see each other
    w.command(n1, { kind: 'prim' });
    w.runUntil(w.now + SETUP_BOUND_MS, () => w.stateOf(n1).startsWith('ALONE/Ready'));
    w.runFor(1000);
    w.command(n2, { kind: 'second' });
  }
  if (!w.runUntil(w.now + SETUP_BOUND_MS, () => w.converged())) {
    w.violations.push({ t: w.now, what: `setup did not converge: ${w.ids.map((id) => `${id}=${w.stateOf(id)}`).join(' ')}` });
  }
}

const COMMANDS: readonly OperatorCommand[] = [
  { kind: 'stop' },
  { kind: 'start' },
  { kind: 'swap' },
  { kind: 'restart' },
  { kind: 'stopstart' },
  { kind: 'failover', on: false },
  { kind: 'failover', on: true },
];
/** Manual failover: the operator's answers, given at random (refused when nothing waits). */
const APPROVALS: readonly OperatorCommand[] = [{ kind: 'approve' }, { kind: 'deny' }];

function injectFault(w: World, o: RunOptions): void {
  const r = w.rng;
  const id = r.pick(w.ids);
  const other = r.pick(w.ids.filter((x) => x !== id));
  const k = o.faults === 'crash' ? r.pick([0, 1, 9, 10, 11, 12]) : r.int(0, 12);
  if (k <= 1) {
    w.crash(id);
    w.scheduleRestart(id, r.int(500, 8000));
  } else if (k === 2 || k === 12) {
    // Only the daemon dies; systemd restarts it at once or after a while (a restart race
    // with the peer's view is part of it: the daemon's first events may be anything).
    w.daemonCrash(id);
    w.scheduleRestart(id, r.pick([r.int(0, 300), r.int(500, 8000)]));
  } else if (k === 3) w.cut(id, other);
  else if (k === 4) w.cut(id, other, { lan: r.int(0, 1) });
  else if (k === 5) w.cut(id, other, { oneway: true });
  else if (k === 6 && o.witness) {
    // An arbitrator restarts (from its durable record) or is cut from a node.
    const arb = w.arbs.length > 1 ? r.int(0, w.arbs.length - 1) : 0;
    if (r.chance(0.3)) w.restartWitness(arb);
    else w.cut(id, w.arbs[arb]?.id ?? WITNESS, { oneway: r.chance(0.5) });
  } else if (k <= 8) w.heal();
  else {
    const c = o.failover === 'manual' && r.chance(0.4) ? r.pick(APPROVALS) : r.pick(COMMANDS);
    w.log(`operator: ${c.kind}${'on' in c ? (c.on ? ' on' : ' off') : ''} on ${id}`);
    w.command(id, c);
  }
}

/** Faults stop: heal, restart, turn failover back on, start stopped modules. Returns ms to converge or null. */
function recover(w: World): number | null {
  const t0 = w.now;
  w.log('--- faults stop ---');
  w.rates = CALM;
  w.heal();
  for (const id of w.ids) w.restart(id);
  w.runFor(500);
  for (const id of w.ids) {
    w.command(id, { kind: 'failover', on: true });
    if (w.stateOf(id).startsWith('STOP')) w.command(id, { kind: 'start' });
  }
  // A stop issued just before the faults ended may still be running: start those when they land.
  // Manual failover: the operator approves a survivor still waiting (the peer did not come back).
  const deadline = t0 + LIVENESS_BOUND_MS;
  while (w.now < deadline) {
    if (w.runUntil(Math.min(deadline, w.now + 2000), () => w.converged())) return w.now - t0;
    for (const id of w.ids) if (w.stateOf(id) === 'STOP/NotReady') w.command(id, { kind: 'start' });
    for (const id of w.ids) if (w.stateOf(id) === 'WAIT/Approval') w.command(id, { kind: 'approve' });
  }
  return null;
}
