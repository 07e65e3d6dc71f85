// Running the scripts of one edge: `become` (the only place the state changes), the step
// executor, and the script failure rules:
//  - a stop script (stop_prim, stop_second, stop_both, poststop) that fails or times out is
//    run once more with the argument `force`; if that fails too the machine logs
//    HAKIT_E_STOP_SCRIPT_FAILED, kills the module's scripts and carries on as if it stopped;
//  - a start script (start_prim, start_second, start_both) that fails counts as an automatic
//    restart: the module stops what it started and returns to WAIT (STOP past maxloop);
//  - prestart failing stops the module; `transition` failing is logged and ignored.
import { assertTransition } from './table';
import { awaitingApproval } from './approval';
import type { Fx, Job, JobStep, ModuleMachine } from './machine-state';
import type { ModuleStateName, PersistedModuleState, ScriptExitedEvent, ScriptName, SubStatus } from './types';

const STOP_SCRIPTS: ReadonlySet<ScriptName> = new Set(['stop_prim', 'stop_second', 'stop_both', 'poststop']);
const START_SCRIPTS: ReadonlySet<ScriptName> = new Set(['start_prim', 'start_second', 'start_both']);
const APP_START: ReadonlySet<ScriptName> = new Set(['start_prim', 'start_both']);
const APP_STOP: ReadonlySet<ScriptName> = new Set(['stop_prim', 'stop_both']);

export function persist(m: ModuleMachine, fx: Fx, change: Partial<PersistedModuleState>): ModuleMachine {
  const record = { ...m.persisted, ...change };
  const same = (Object.keys(change) as (keyof PersistedModuleState)[]).every((k) => m.persisted[k] === record[k]);
  if (same) return m;
  fx.push({ type: 'Persist', record });
  return { ...m, persisted: record };
}

/** The only way the state changes: checks the table, then runs the edge's steps. */
export function become(m: ModuleMachine, fx: Fx, to: ModuleStateName, action: string, steps: readonly JobStep[], now_ms: number): ModuleMachine {
  assertTransition(m.policy.mode, m.state, to, `module ${m.policy.module} on ${m.node}`);
  fx.push({ type: 'Log', level: 'info', msg: `${m.policy.module}: ${m.state} -> ${to} (${action})` });
  const all: JobStep[] = m.policy.transitionScript ? ['transition', ...steps] : [...steps];
  const job: Job = { action, from: m.state, steps: all, index: 0, run_id: null, forceTried: false };
  const next: ModuleMachine = { ...m, state: to, status: 'Transient', job, handover: false };
  return advance(next, fx, now_ms);
}

/** Edges without scripts (ALONE <-> PRIM). */
export function becomeQuiet(m: ModuleMachine, fx: Fx, to: ModuleStateName, action: string, status: SubStatus): ModuleMachine {
  assertTransition(m.policy.mode, m.state, to, `module ${m.policy.module} on ${m.node}`);
  fx.push({ type: 'Log', level: 'info', msg: `${m.policy.module}: ${m.state} -> ${to} (${action})` });
  return { ...m, state: to, status };
}

function advance(m: ModuleMachine, fx: Fx, now_ms: number): ModuleMachine {
  let cur = m;
  for (;;) {
    const job = cur.job;
    if (job === null) return cur;
    const step = job.steps[job.index];
    if (step === undefined) return finishJob(cur);
    if (step === 'vip+' || step === 'vip-') {
      fx.push({ type: 'SetVip', present: step === 'vip+' });
      cur = { ...cur, vip: step === 'vip+', job: { ...job, index: job.index + 1 } };
    } else if (step === 'arp') {
      fx.push({ type: 'GratuitousArp' });
      cur = { ...cur, job: { ...job, index: job.index + 1 } };
    } else if (step === 'repl-receiver') {
      fx.push({ type: 'StartReplication', role: 'receiver' });
      cur = { ...cur, replication: 'receiver', job: { ...job, index: job.index + 1 } };
    } else {
      return runScript(cur, fx, step, false, now_ms);
    }
  }
}

function runScript(m: ModuleMachine, fx: Fx, script: ScriptName, force: boolean, _now_ms: number): ModuleMachine {
  const job = m.job;
  if (job === null) return m;
  const run_id = m.next_run_id;
  fx.push({
    type: 'RunScript',
    run_id,
    script,
    args: force ? ['force'] : [],
    timeout_ms: force ? m.policy.force_stop_timeout_ms : m.policy.script_timeout_ms[script],
    env: { HAKIT_MODULE: m.policy.module, HAKIT_NODE: m.node, HAKIT_FROM_STATE: job.from, HAKIT_TO_STATE: m.state, HAKIT_ACTION: job.action },
  });
  return { ...m, next_run_id: run_id + 1, app: m.app || APP_START.has(script), job: { ...job, run_id, forceTried: force } };
}

function finishJob(m: ModuleMachine): ModuleMachine {
  return { ...m, job: null, status: settledStatus(m) };
}

export function settledStatus(m: ModuleMachine): SubStatus {
  switch (m.state) {
    case 'STOP':
      return 'NotReady';
    case 'WAIT':
      return awaitingApproval(m) ? 'Approval' : 'NotReady';
    case 'SECOND':
      return m.synced && m.persisted.copyComplete ? 'Ready' : 'Transient';
    case 'ALONE':
    case 'PRIM': {
      // With a witness, the application may write only once the witness holds this epoch.
      const witnessOk = !m.policy.hasWitness || (m.lease?.epoch === m.persisted.epoch && m.lease.confirmed);
      return witnessOk && !m.epochBumpPending && !peerStillBelievesComplete(m) ? 'Ready' : 'Transient';
    }
    default:
      return 'Ready';
  }
}

/**
 * A reachable peer that still believes its copy complete, while ours is about to move on
 * without it (epochBumpPending) or already has (older epoch), could take over with that copy
 * if we died now: we hold writes (Transient) until it has seen our announcement and marked
 * its copy out of date (it does so on its next view), or until it is lost.
 */
export function peerStillBelievesComplete(m: ModuleMachine): boolean {
  const pv = m.peers[0];
  const pa = pv !== undefined && pv.reachable ? pv.module : null;
  if (pa === null || !pa.copyComplete) return false;
  return pa.epoch < m.persisted.epoch || (m.epochBumpPending && pa.epoch === m.persisted.epoch);
}

export type ScriptFailure = { readonly kind: 'start'; readonly script: ScriptName } | { readonly kind: 'prestart' };

/** Handles a script exit; returns a failure for the caller's restart rule, or null. */
export function onScriptExited(m: ModuleMachine, fx: Fx, ev: ScriptExitedEvent, now_ms: number): { m: ModuleMachine; failure: ScriptFailure | null } {
  const job = m.job;
  if (job === null || job.run_id !== ev.run_id) {
    fx.push({ type: 'Log', level: 'debug', msg: `${m.policy.module}: ignoring exit of stale script run ${ev.run_id}` });
    return { m, failure: null };
  }
  const ok = ev.code === 0 && !ev.timedOut;
  const what = `${ev.script}${job.forceTried ? ' force' : ''} ${ev.timedOut ? 'timed out' : `exited ${ev.code ?? 'by signal'}`}`;
  let cur: ModuleMachine = { ...m, job: { ...job, run_id: null } };
  if (!ok && STOP_SCRIPTS.has(ev.script) && !job.forceTried) {
    fx.push({ type: 'Log', level: 'warn', msg: `${m.policy.module}: ${what}; calling it again with force` });
    return { m: runScript(cur, fx, ev.script, true, now_ms), failure: null };
  }
  if (!ok && STOP_SCRIPTS.has(ev.script)) {
    fx.push({ type: 'Log', level: 'error', code: 'HAKIT_E_STOP_SCRIPT_FAILED', msg: `${m.policy.module}: ${what}; killing the module's scripts and going on` });
    fx.push({ type: 'KillScripts' });
  }
  if (!ok && ev.script === 'prestart') {
    fx.push({ type: 'Log', level: 'error', code: 'HAKIT_E_START_SCRIPT_FAILED', msg: `${m.policy.module}: ${what}` });
    return { m: { ...cur, job: null }, failure: { kind: 'prestart' } };
  }
  if (!ok && START_SCRIPTS.has(ev.script)) {
    fx.push({ type: 'Log', level: 'error', code: 'HAKIT_E_START_SCRIPT_FAILED', msg: `${m.policy.module}: ${what}` });
    return { m: { ...cur, job: null }, failure: { kind: 'start', script: ev.script } };
  }
  if (!ok) fx.push({ type: 'Log', level: 'warn', msg: `${m.policy.module}: ${what}; ignored` });
  if (APP_STOP.has(ev.script)) cur = { ...cur, app: false };
  const next = cur.job;
  if (next === null) return { m: cur, failure: null };
  return { m: advance({ ...cur, job: { ...next, index: next.index + 1, forceTried: false } }, fx, now_ms), failure: null };
}

/** maxloop: records one automatic restart; true when the module must stop instead. */
export function countRestart(m: ModuleMachine, now_ms: number): { m: ModuleMachine; exceeded: boolean } {
  const recent = m.restarts_ms.filter((t) => now_ms - t < m.policy.loop_interval_ms);
  const restarts_ms = [...recent, now_ms];
  return { m: { ...m, restarts_ms }, exceeded: restarts_ms.length > m.policy.maxloop };
}
