// The farm (and light) module machine: STOP | WAIT | UP. Every node runs the application;
// WAIT while a resource named in waitOnResources is down. The members (the share's rule,
// farmMembersOf below) go out as a FarmMembers effect whenever they change; the buckets this
// node owns are decided by core/farm/pure/share.ts and applied by the farm controller.
// Every node holds the farm VIP while its application runs, as mirror does around
// start_prim/stop_prim: SetVip(true) before start_both (an application binding the VIP finds
// it) and SetVip(false) after stop_both. The daemon's farm controller performs it after the
// filter is loaded closed, so the VIP never answers before the buckets are shared out.
// A light module (one node: checkers and local restarts, no failover) runs this machine too,
// with start_prim/stop_prim, its VIP (if any) kept like a mirror's, and no filter.
import { become, countRestart, type ScriptFailure } from '../../module/pure/jobs';
import type { Fx, JobStep, ModuleMachine } from '../../module/pure/machine-state';
import type { OperatorCommand } from '../../module/pure/types';
import type { CommandOutcome } from '../../module/pure/mirror';
import { farmMembers, farmPeer } from './share';

/**
 * The application's start steps on this node: VIP first. A light module (one node, the light
 * module of SafeKit) runs the scripts a vendor writes for the serving node, start_prim/stop_prim.
 */
function appStart(m: ModuleMachine): JobStep[] {
  return m.policy.mode === 'farm' ? ['vip+', 'start_both'] : ['vip+', 'start_prim'];
}

/** The application's stop steps: VIP removed once the application stopped. */
function appStop(m: ModuleMachine): JobStep[] {
  return m.policy.mode === 'farm' ? ['stop_both', 'vip-'] : ['stop_prim', 'vip-'];
}

/** A restart keeps the VIP: only the application's scripts. */
function appRestart(m: ModuleMachine): JobStep[] {
  return [...appStop(m), ...appStart(m)].filter((s) => s !== 'vip+' && s !== 'vip-');
}

export function farmStart(m: ModuleMachine, fx: Fx, action: string, now_ms: number): ModuleMachine {
  const cur: ModuleMachine = { ...m, pendingStart: false };
  if (cur.resourcesDown.length > 0) return become(cur, fx, 'WAIT', `${action} while ${cur.resourcesDown.join(',')} down`, ['prestart'], now_ms);
  return become(cur, fx, 'UP', action, ['prestart', ...appStart(cur)], now_ms);
}

export function farmStop(m: ModuleMachine, fx: Fx, action: string, then: 'start' | null, now_ms: number): ModuleMachine {
  const cur: ModuleMachine = { ...m, pendingStop: false, pendingStart: then === 'start' };
  if (cur.state === 'UP') return become(cur, fx, 'STOP', action, [...appStop(cur), 'poststop'], now_ms);
  if (cur.state === 'WAIT') return become(cur, fx, 'STOP', action, ['poststop'], now_ms);
  return cur;
}

export function farmCommand(m: ModuleMachine, fx: Fx, cmd: OperatorCommand, now_ms: number): CommandOutcome {
  if (cmd.kind === 'restart') {
    if (m.state === 'UP') return { m: become(m, fx, 'UP', 'restart', appRestart(m), now_ms), refused: null };
    return { m, refused: { code: 'HAKIT_E_MODULE_NOT_RUNNING', message: `restart needs UP, the module is ${m.state}` } };
  }
  return { m, refused: { code: 'HAKIT_E_NOT_MIRROR', message: `${cmd.kind} applies to mirror modules; this module is ${m.policy.mode}` } };
}

export function settleFarm(m: ModuleMachine, fx: Fx, now_ms: number): ModuleMachine {
  const down = m.resourcesDown.filter((r) => m.policy.waitOnResources.includes(r));
  if (m.state === 'STOP') return m.pendingStart ? farmStart(m, fx, 'stopstart', now_ms) : m;
  if (m.state === 'UP' && down.length > 0) return become(m, fx, 'WAIT', `resource down: ${down.join(',')}`, appStop(m), now_ms);
  if (m.state === 'WAIT' && down.length === 0) return become(m, fx, 'UP', 'resources up', appStart(m), now_ms);
  return m;
}

export function onFarmFailure(m: ModuleMachine, fx: Fx, failure: ScriptFailure, now_ms: number): ModuleMachine {
  if (failure.kind === 'prestart') return become(m, fx, 'STOP', 'prestart failed', ['poststop'], now_ms);
  const counted = countRestart(m, now_ms);
  if (counted.exceeded) {
    fx.push({ type: 'Log', level: 'error', code: 'HAKIT_E_MAXLOOP', msg: `${m.policy.module}: more than ${m.policy.maxloop} restarts within ${m.policy.loop_interval_ms} ms: stopping` });
    return become(counted.m, fx, 'STOP', 'maxloop', [...appStop(m), 'poststop'], now_ms);
  }
  // WAIT then straight back to UP on the next settle: the restart the operator expects.
  return become(counted.m, fx, 'WAIT', `${appStart(m).at(-1) ?? 'start'} failed`, appStop(m), now_ms);
}

/**
 * The farm's members as this node sees them (its FarmMembers effect): the same rule the bucket
 * share applies (core/farm/pure/share.ts), so one rule decides who is a member: UP, Ready,
 * reachable and not leaving. (This node's own leave is known to the controller only.)
 */
export function farmMembersOf(m: ModuleMachine): string[] {
  return farmMembers({ self: m.node, state: m.state, status: m.status, leaving: false, peers: m.peers.map(farmPeer), powers: {} });
}
