// step(state, event, now_ms) -> { state, effects } for one module on one node. The event is
// absorbed first (commands, script exits, views, timers, replication, witness), then the
// handler of the current state settles (only while no script runs), then the announcement
// is refreshed. Effects come out in the order the runner must perform them.
import { onScriptExited, persist } from './jobs';
import { maintainLease, onWitnessReply, onWitnessRetry } from './lease';
import { initMachine, type Fx, type ModuleMachine } from './machine-state';
import { adopt } from './adopt';
import { approvalCommand, onApprovalTimer } from './approval';
import { farmCommand, farmMembersOf, farmStart, farmStop, onFarmFailure, settleFarm } from '../../farm/pure/machine';
import { absorbPeerView, failoverOn, grantFence, mirrorCommand, onFenceWanted, onMirrorFailure, onReplicationEvent, outdatedByNewerEpoch, peerUnreplicated, settleMirror, settleStoppingFence, startModule, stopModule, unreplicatedSession, type CommandOutcome } from './mirror';
import type { CommandEvent, ModuleAnnouncement, ModuleEvent, PersistedModuleState, StepResult } from './types';
import type { ModulePolicy } from './policy';

export { initMachine };
export type { ModuleMachine };

/** Bound on settle rounds per step: each round either changes nothing or starts a job. */
const MAX_SETTLE_ROUNDS = 4;

export function createMachine(node: string, policy: ModulePolicy, persisted: PersistedModuleState): ModuleMachine {
  return initMachine(node, policy, persisted);
}

export function step(m: ModuleMachine, event: ModuleEvent, now_ms: number): StepResult<ModuleMachine> {
  const fx: Fx = [];
  let cur = absorb(m, fx, event, now_ms);
  if (m.policy.mode === 'mirror' && event.type !== 'PeerView') cur = outdatedByNewerEpoch(cur, fx);
  for (let round = 0; round < MAX_SETTLE_ROUNDS && cur.job === null; round++) {
    const before = cur;
    cur = settle(cur, fx, now_ms);
    if (cur === before) break;
  }
  if (m.policy.mode === 'mirror') cur = settleStoppingFence(cur, fx);
  cur = maintainLease(cur, fx, now_ms);
  cur = announce(cur, fx);
  cur = grantFence(cur, fx, now_ms);
  return { state: cur, effects: fx };
}

function absorb(m: ModuleMachine, fx: Fx, event: ModuleEvent, now_ms: number): ModuleMachine {
  const mirror = m.policy.mode === 'mirror';
  switch (event.type) {
    case 'Command':
      return onCommand(m, fx, event, now_ms);
    case 'Booted':
      if (m.state !== 'STOP') return m;
      if (event.leftover !== undefined && event.leftover.state !== 'STOP') return adopt(m, fx, event.leftover, now_ms);
      if (!m.persisted.boot) return m;
      fx.push({ type: 'Log', level: 'info', msg: `${m.policy.module}: boot on: starting` });
      return mirror ? startModule(m, fx, 'boot', now_ms) : farmStart(m, fx, 'boot', now_ms);
    case 'PeerView':
      return mirror ? absorbPeerView({ ...m, peers: event.peers }, fx) : { ...m, peers: event.peers };
    case 'ScriptExited': {
      const r = onScriptExited(m, fx, event, now_ms);
      if (r.failure === null) return r.m;
      return mirror ? onMirrorFailure(r.m, fx, r.failure, now_ms) : onFarmFailure(r.m, fx, r.failure, now_ms);
    }
    case 'TimerFired':
      // lease-expiry and witness-renew only wake the machine: the state handler re-checks.
      if (event.id === 'approval') return onApprovalTimer(m, fx, now_ms);
      return event.id === 'witness-retry' ? onWitnessRetry(m, fx, now_ms) : m;
    case 'ReplicationConnected':
      return mirror ? onReplicationEvent(m, fx, 'connected') : m;
    case 'ReplicationSynced':
      return mirror ? onReplicationEvent(m, fx, 'synced') : m;
    case 'ReplicationLost':
      return mirror ? onReplicationEvent(m, fx, 'lost') : m;
    case 'FenceWanted':
      return mirror ? onFenceWanted(m, event.token) : m;
    case 'ResourceChanged': {
      const others = m.resourcesDown.filter((r) => r !== event.resource);
      return { ...m, resourcesDown: event.state === 'down' ? [...others, event.resource] : others };
    }
    case 'WitnessReply':
      return onWitnessReply(m, fx, event, now_ms);
  }
}

function onCommand(m: ModuleMachine, fx: Fx, ev: CommandEvent, now_ms: number): ModuleMachine {
  const cmd = ev.command;
  const out = commandOutcome(m, fx, ev, now_ms);
  if (out.refused !== null) {
    fx.push({ type: 'Refuse', command: cmd.kind, code: out.refused.code, message: out.refused.message, ...rid(ev) });
    return m;
  }
  fx.push({ type: 'CommandAccepted', command: cmd.kind, ...rid(ev) });
  return out.m;
}

function rid(ev: CommandEvent): { request_id?: string } {
  return ev.request_id === undefined ? {} : { request_id: ev.request_id };
}

function commandOutcome(m: ModuleMachine, fx: Fx, ev: CommandEvent, now_ms: number): CommandOutcome {
  const cmd = ev.command;
  const mirror = m.policy.mode === 'mirror';
  const refuse = (code: NonNullable<CommandOutcome['refused']>['code'], message: string): CommandOutcome => ({ m, refused: { code, message } });
  switch (cmd.kind) {
    case 'failover':
      return { m: persist(m, fx, { failover: cmd.on }), refused: null };
    case 'boot':
      return { m: persist(m, fx, { boot: cmd.on }), refused: null };
    case 'approve':
    case 'deny':
      return approvalCommand(m, fx, cmd, now_ms);
    case 'stop':
    case 'stopstart': {
      if (m.state === 'STOP' && m.job === null) return refuse('HAKIT_E_MODULE_ALREADY_STOPPED', 'the module is STOP');
      const then = cmd.kind === 'stopstart' ? 'start' : null;
      // A stop during scripts waits for the running script, then runs (STYLE rule 11: no orphans).
      if (m.job !== null) return { m: { ...m, pendingStop: m.state !== 'STOP', pendingStart: then === 'start' || (m.state === 'STOP' && m.pendingStart) }, refused: null };
      return { m: mirror ? stopModule(m, fx, cmd.kind, then, now_ms) : farmStop(m, fx, cmd.kind, then, now_ms), refused: null };
    }
    default:
      break;
  }
  if (m.job !== null) return refuse('HAKIT_E_MODULE_BUSY', `the module is ${m.state}/${m.status} running ${m.job.action}`);
  if (cmd.kind === 'start') {
    if (m.state !== 'STOP') return refuse('HAKIT_E_MODULE_ALREADY_STARTED', `the module is ${m.state}`);
    return { m: mirror ? startModule(m, fx, 'start', now_ms) : farmStart(persist(m, fx, { wasStarted: true }), fx, 'start', now_ms), refused: null };
  }
  return mirror ? mirrorCommand(m, fx, cmd, now_ms) : farmCommand(m, fx, cmd, now_ms);
}

function settle(m: ModuleMachine, fx: Fx, now_ms: number): ModuleMachine {
  const mirror = m.policy.mode === 'mirror';
  if (m.pendingStop && m.state !== 'STOP') {
    return mirror ? stopModule(m, fx, 'stop', m.pendingStart ? 'start' : null, now_ms) : farmStop(m, fx, 'stop', m.pendingStart ? 'start' : null, now_ms);
  }
  return mirror ? settleMirror(m, fx, now_ms) : settleFarm(m, fx, now_ms);
}

export function announcementOf(m: ModuleMachine): ModuleAnnouncement {
  const p = m.persisted;
  return {
    module: m.policy.module,
    mode: m.policy.mode,
    state: m.state,
    status: m.status,
    serving: m.app || m.vip || m.state === 'ALONE' || m.state === 'PRIM',
    epoch: p.epoch,
    copyComplete: p.copyComplete,
    lastRole: p.lastRole,
    tookOver: p.tookOver,
    handover: m.handover,
    wantsPrim: m.wantsPrim,
    started: m.state !== 'STOP' || m.job !== null,
    ...(m.policy.mode === 'mirror' ? { replicating: m.sessionUp, peerUnreplicatedSeen: peerUnreplicated(m), sessions: p.sessions, ...unreplicatedSession(m) } : {}),
  };
}

/** Announce (and, for farms, FarmMembers) only when they changed: effects are idempotent. */
function announce(m: ModuleMachine, fx: Fx): ModuleMachine {
  let cur = m;
  const a = announcementOf(cur);
  const key = JSON.stringify(a);
  if (key !== cur.announced) {
    fx.push({ type: 'Announce', announcement: a });
    cur = { ...cur, announced: key };
  }
  if (cur.policy.mode !== 'mirror') {
    const members = farmMembersOf(cur);
    const mk = members.join(',');
    if (mk !== cur.farmMembers) {
      fx.push({ type: 'FarmMembers', members });
      cur = { ...cur, farmMembers: mk };
    }
  }
  return cur;
}


/** For the runner and the console: is failover currently on. */
export { failoverOn };
