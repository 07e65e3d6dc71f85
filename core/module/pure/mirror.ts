// The mirror module machine: one handler per state (STOP, WAIT, ALONE/PRIM, SECOND) deciding
// from the persisted record, the peer's announcement and the witness lease.
//
// Handshake that keeps the VIP and the application on one node at a time: a node starts
// serving only when its peer is unreachable (lost on all LANs) or announces serving=false,
// and a node announces serving=false only after stop_prim has ended and the VIP is gone.
// With a witness, serving also needs a valid lease (see lease.ts).
import type { PeerModuleView } from '../../membership/pure/types';
import { become, becomeQuiet, countRestart, peerStillBelievesComplete, persist, settledStatus, type ScriptFailure } from './jobs';
import { bumpInFlight, leaseValid, releaseLease, requestLease } from './lease';
import { approvalGate, endApproval, manualFailover } from './approval';
import type { Fx, ModuleMachine } from './machine-state';
import { eligible, pickPrimary, splitBrainLoser, type Candidate } from './rank';
import type { ModuleAnnouncement, ModuleEffect, OperatorCommand } from './types';

type Refusal = Extract<ModuleEffect, { type: 'Refuse' }>['code'];
export type CommandOutcome = { readonly m: ModuleMachine; readonly refused: null | { code: Refusal; message: string } };

export function failoverOn(m: ModuleMachine): boolean {
  return m.persisted.failover ?? m.policy.failover;
}

function peerView(m: ModuleMachine): PeerModuleView | null {
  return m.peers[0] ?? null;
}

/** This node's view of its peer shows it serving without a replication session
 *  (announced as `peerUnreplicatedSeen`). */
export function peerUnreplicated(m: ModuleMachine): boolean {
  const pa = peerAnn(m);
  return pa !== null && pa.serving && pa.replicating === false;
}

/** The echo of the serving peer's session count, announced with `peerUnreplicatedSeen`. */
export function unreplicatedSession(m: ModuleMachine): { peerUnreplicatedSession?: number } {
  const pa = peerAnn(m);
  return pa !== null && peerUnreplicated(m) && pa.sessions !== undefined ? { peerUnreplicatedSession: pa.sessions } : {};
}

/**
 * This serving node has no session, and its peer announces its copy incomplete, but not yet
 * from a view of us without one since our last session: that announcement may predate an
 * in_sync of our given-up session still on its way to it (found by the data-path
 * simulation). A view of us without a session from before that session came up says nothing
 * of its end: the echoed session count tells them apart (found by the cluster simulation: a
 * SECOND's daemon died right after its in_sync, before announcing it; a stopping PRIM
 * released its shutdown fsyncs on the older view, and the SECOND, its copy complete, took
 * over without them). A peer of an older version (no `peerUnreplicatedSeen`, or no count) is
 * taken at its word, as before.
 */
function peerNotYetToldAlone(m: ModuleMachine): boolean {
  const pa = peerAnn(m);
  if (m.sessionUp || pa === null) return false;
  if (pa.peerUnreplicatedSeen === false) return true;
  return pa.peerUnreplicatedSeen === true && pa.peerUnreplicatedSession !== undefined && pa.peerUnreplicatedSession !== m.persisted.sessions;
}

/** The peer's announcement when it is reachable and announces this module. */
export function peerAnn(m: ModuleMachine): ModuleAnnouncement | null {
  const pv = peerView(m);
  return pv !== null && pv.reachable && pv.module !== null ? pv.module : null;
}

/**
 * The peer, a SECOND, holds every write this PRIM made: a live session (a view of it as Ready
 * may predate the session's loss), its copy complete and Ready, and this node's epoch (an
 * older one means it has not yet taken a bump). Gates both a handover (`swap`, a SECOND's
 * `wantsPrim`) and recording lastRole PRIM.
 */
function peerInSync(m: ModuleMachine, pa: ModuleAnnouncement): boolean {
  return m.sessionUp && pa.state === 'SECOND' && pa.copyComplete && pa.status === 'Ready' && pa.epoch === m.persisted.epoch;
}

function me(m: ModuleMachine): Candidate {
  const p = m.persisted;
  return { node: m.node, epoch: p.epoch, copyComplete: p.copyComplete, lastRole: p.lastRole, tookOver: p.tookOver };
}

function peerCandidate(m: ModuleMachine, pa: ModuleAnnouncement): Candidate {
  return { node: peerView(m)?.node ?? '?', epoch: pa.epoch, copyComplete: pa.copyComplete, lastRole: pa.lastRole, tookOver: pa.tookOver };
}

const servingState = (s: string): boolean => s === 'ALONE' || s === 'PRIM';

// ---------------------------------------------------------------- edges

export function startModule(m: ModuleMachine, fx: Fx, action: string, now_ms: number): ModuleMachine {
  const m1 = persist(m, fx, { wasStarted: true });
  const m2: ModuleMachine = { ...m1, pendingStart: false, takeoverPending: false, forced: false, primRequested: false, forceRequested: false, startedAt_ms: now_ms };
  return become(m2, fx, 'WAIT', action, ['prestart'], now_ms);
}

export function stopModule(m: ModuleMachine, fx: Fx, action: string, then: 'start' | null, now_ms: number): ModuleMachine {
  let cur: ModuleMachine = { ...m, pendingStop: false, pendingStart: then === 'start', wantsPrim: false, secondAllowed: false, takeoverPending: false };
  cur = persist(cur, fx, { wasStarted: false });
  cur = stopReplication(cur, fx);
  switch (cur.state) {
    case 'WAIT':
      return become(cur, fx, 'STOP', action, ['poststop'], now_ms);
    case 'ALONE':
    case 'PRIM':
      return become(cur, fx, 'STOP', action, ['stop_prim', 'vip-', 'poststop'], now_ms);
    case 'SECOND': {
      // The PRIM writes on without us (unless we see it stopped): our copy falls behind now.
      const pa = peerAnn(cur);
      if (pa === null || pa.serving) cur = persist(cur, fx, { copyComplete: false });
      return become(cur, fx, 'STOP', action, ['stop_second', 'poststop'], now_ms);
    }
    default:
      return cur;
  }
}

function stopReplication(m: ModuleMachine, fx: Fx): ModuleMachine {
  if (m.replication === 'off') return m;
  fx.push({ type: 'StopReplication' });
  return { ...m, replication: 'off', synced: false, sessionUp: false };
}

function becomeSecond(m: ModuleMachine, fx: Fx, action: string, now_ms: number): ModuleMachine {
  const cur: ModuleMachine = { ...m, takeoverPending: false, synced: false, followed: false, wantsPrim: false, primRequested: false, forceRequested: false };
  return become(cur, fx, 'SECOND', action, ['start_second', 'repl-receiver'], now_ms);
}

/** WAIT or SECOND -> ALONE. The new epoch is durable before the VIP or any heartbeat shows it. */
function becomeAlone(m: ModuleMachine, fx: Fx, action: string, now_ms: number): ModuleMachine {
  const fromSecond = m.state === 'SECOND';
  // With a witness the new epoch is the one it assigned (unique across nodes); else +1.
  const lease = m.lease;
  const epoch = m.policy.hasWitness && lease !== null ? lease.epoch : m.persisted.epoch + 1;
  let cur = persist(m, fx, { epoch, copyComplete: true, lastRole: 'ALONE', tookOver: fromSecond, wasStarted: true });
  // The first renewal (right after this step) confirms the epoch; only then may the application write.
  if (lease !== null) cur = { ...cur, lease: { ...lease, fresh: false, confirmed: false }, epochBumpPending: false, lastWitnessRequest_ms: null };
  if (fromSecond) cur = stopReplication(cur, fx);
  cur = { ...cur, takeoverPending: false, wantsPrim: false, forced: m.forceRequested || m.forced, primRequested: false, forceRequested: false };
  const steps = fromSecond ? (['stop_second', 'vip+', 'start_prim', 'arp'] as const) : (['vip+', 'start_prim', 'arp'] as const);
  return become(cur, fx, 'ALONE', action, steps, now_ms);
}

/** Witness mode: serve only with a valid lease that carries a new epoch assigned for us. */
function mayServeNow(m: ModuleMachine, now_ms: number): boolean {
  return !m.policy.hasWitness || (leaseValid(m, now_ms) && m.lease?.fresh === true);
}

function stopServing(m: ModuleMachine, fx: Fx, action: string, now_ms: number): ModuleMachine {
  const cur = stopReplication(m, fx);
  return become(cur, fx, 'WAIT', action, ['stop_prim', 'vip-'], now_ms);
}

/** Serve now if the witness (when configured) holds a lease for us; else ask for one. */
function tryServe(m: ModuleMachine, fx: Fx, action: string, now_ms: number): ModuleMachine {
  if (mayServeNow(m, now_ms)) return becomeAlone(m, fx, action, now_ms);
  if (m.witnessReq !== null) return m;
  return requestLease(m, fx, now_ms, m.forceRequested, true);
}

// ---------------------------------------------------------------- commands

export function mirrorCommand(m: ModuleMachine, fx: Fx, cmd: OperatorCommand, now_ms: number): CommandOutcome {
  const pa = peerAnn(m);
  const refuse = (code: Refusal, message: string): CommandOutcome => ({ m, refused: { code, message } });
  const ok = (next: ModuleMachine): CommandOutcome => ({ m: next, refused: null });
  switch (cmd.kind) {
    case 'prim':
    case 'primforce': {
      if (m.state !== 'WAIT') return refuse('HAKIT_E_MODULE_NOT_WAITING', `${cmd.kind} needs WAIT, the module is ${m.state}`);
      if (pa?.serving) return refuse('HAKIT_E_PEER_SERVING', `the peer serves the module (${pa.state})`);
      if (cmd.kind === 'prim') {
        const p = m.persisted;
        const firstStart = p.lastRole === 'none' && !(pa !== null && pa.copyComplete && pa.lastRole !== 'none');
        if (!p.copyComplete && !firstStart) return refuse('HAKIT_E_COPY_INCOMPLETE', `this node's copy is not known to be complete (epoch ${p.epoch})`);
        if (pa !== null && pa.copyComplete && pa.epoch > p.epoch) return refuse('HAKIT_E_COPY_INCOMPLETE', `the peer's copy is newer (epoch ${pa.epoch} > ${p.epoch})`);
        return ok({ ...persist(m, fx, { copyComplete: true }), primRequested: true });
      }
      fx.push({ type: 'Log', level: 'warn', msg: `${m.policy.module}: primforce: serving this node's copy whatever its state (epoch ${m.persisted.epoch})` });
      return ok({ ...persist(m, fx, { copyComplete: true }), primRequested: true, forceRequested: true });
    }
    case 'second':
      if (m.state !== 'WAIT') return refuse('HAKIT_E_MODULE_NOT_WAITING', `second needs WAIT, the module is ${m.state}`);
      if (pa === null || !servingState(pa.state)) return refuse('HAKIT_E_PEER_NOT_PRIMARY', `the peer is ${pa?.state ?? 'unreachable'}`);
      return ok({ ...m, secondAllowed: true });
    case 'swap':
      if (m.state === 'PRIM' && !m.sessionUp) return refuse('HAKIT_E_SWAP_NOT_READY', 'the replication session is down: the peer\'s copy may lack the latest writes');
      if (m.state === 'PRIM' && pa !== null && peerInSync(m, pa)) return ok({ ...stopServing(m, fx, 'swap', now_ms), handover: true });
      if (m.state === 'PRIM' && pa?.state === 'SECOND' && pa.epoch !== m.persisted.epoch) {
        return refuse('HAKIT_E_SWAP_NOT_READY', `the peer has not yet taken this node's epoch ${m.persisted.epoch} (it announces ${pa.epoch})`);
      }
      if (m.state === 'SECOND' && m.synced && pa?.state === 'PRIM') return ok({ ...m, wantsPrim: true });
      return refuse('HAKIT_E_SWAP_NOT_READY', `this node is ${m.state}/${m.status}, the peer is ${pa ? `${pa.state}/${pa.status}` : 'unreachable'}`);
    case 'restart':
      if (servingState(m.state)) return ok(become(m, fx, m.state, 'restart', ['stop_prim', 'start_prim'], now_ms));
      if (m.state === 'SECOND') return ok(become(m, fx, 'SECOND', 'restart', ['stop_second', 'start_second'], now_ms));
      return refuse('HAKIT_E_MODULE_NOT_RUNNING', `restart needs ALONE, PRIM or SECOND, the module is ${m.state}`);
    default:
      return refuse('HAKIT_E_USAGE', `${cmd.kind} is not a mirror state command`);
  }
}

// ---------------------------------------------------------------- settle: one handler per state

/** Called after every event while no script runs. */
export function settleMirror(m0: ModuleMachine, fx: Fx, now_ms: number): ModuleMachine {
  const m = m0.approval !== null && m0.state !== 'WAIT' ? endApproval(m0, fx, `the module is ${m0.state}`) : m0;
  switch (m.state) {
    case 'STOP':
      return m.pendingStart ? startModule(m, fx, 'stopstart', now_ms) : dropLease(m, fx);
    case 'WAIT':
      return stepWait(m, fx, now_ms);
    case 'ALONE':
    case 'PRIM':
      return stepServing(m, fx, now_ms);
    case 'SECOND':
      return stepSecond(m, fx, now_ms);
    default:
      return m;
  }
}

function dropLease(m: ModuleMachine, fx: Fx): ModuleMachine {
  return m.app ? m : releaseLease(m, fx);
}

function canServeAlone(m: ModuleMachine): boolean {
  const p = m.persisted;
  return p.copyComplete && (p.lastRole === 'ALONE' || (m.takeoverPending && failoverOn(m)));
}

function stepWait(m0: ModuleMachine, fx: Fx, now_ms: number): ModuleMachine {
  const pa = peerAnn(m0);
  // Manual failover: a peer heard again ends the wait for approval (the rules below decide).
  const m = pa !== null && m0.approval !== null ? endApproval(m0, fx, 'the peer is back') : m0;
  if (pa !== null && pa.serving) {
    const may = (m.persisted.lastRole !== 'none' || m.secondAllowed) && pa.started && servingState(pa.state);
    const cur = dropLease({ ...m, primRequested: false, forceRequested: false, takeoverPending: false }, fx);
    return may ? becomeSecond(cur, fx, m.secondAllowed ? 'second' : 'peer serves', now_ms) : cur;
  }
  if (m.primRequested) return tryServe(m, fx, m.forceRequested ? 'primforce' : 'prim', now_ms);
  // Just started: what we know of the peer may predate our start (it may have begun serving
  // since). Listen two heartbeat periods first, a full timeout if the peer is not heard at all.
  const hb = m.policy.heartbeat;
  const listen_ms = pa === null ? hb.timeout_ms + hb.period_ms : 2 * hb.period_ms;
  const listening = now_ms - m.startedAt_ms < listen_ms;
  if (pa === null) {
    if (!canServeAlone(m)) return dropLease(m, fx);
    if (listening) return listen(m, fx, listen_ms);
    if (!m.takeoverPending || m.persisted.lastRole === 'ALONE') return tryServe(m, fx, 'up-to-date copy', now_ms);
    // A takeover after the peer was lost: with manual failover only once approved.
    const gate = approvalGate(m, fx, now_ms);
    if (!gate.go) return dropLease(gate.m, fx);
    return tryServe(gate.m, fx, gate.m.approval === null ? 'failover' : `failover approved (${gate.m.approval.approved ?? '?'})`, now_ms);
  }
  // The peer is reachable and does not serve.
  if (pa.state === 'SECOND' && pa.started) return dropLease(m, fx); // it takes over itself, or goes WAIT
  const mine = me(m);
  let serve: string | null = null;
  if (!pa.started) {
    // A stopped peer decides nothing: serve if our copy is at least as new as its
    // (but a SECOND left waiting by failover off keeps waiting).
    const asNew = eligible(mine) && (!pa.copyComplete || pa.epoch <= mine.epoch);
    if (asNew && !(m.takeoverPending && !failoverOn(m))) serve = 'failover: peer stopped';
  } else if (pickPrimary(mine, peerCandidate(m, pa), m.policy.defaultprim) === m.node) {
    // Both WAIT: both compute the same winner from the same records, so they never both serve.
    // (A one-sided rule here, like "I was the SECOND, I take over", races the peer's choice.)
    serve = 'up-to-date copy';
  }
  if (serve === null) return dropLease(m, fx);
  return listening ? listen(m, fx, listen_ms) : tryServe(m, fx, serve, now_ms);
}

function listen(m: ModuleMachine, fx: Fx, listen_ms: number): ModuleMachine {
  fx.push({ type: 'SetTimer', id: 'peer-wait', at_ms: m.startedAt_ms + listen_ms });
  return m;
}

function stepServing(m: ModuleMachine, fx: Fx, now_ms: number): ModuleMachine {
  let cur = m;
  if (cur.policy.hasWitness) {
    if (!leaseValid(cur, now_ms)) {
      fx.push({ type: 'Log', level: 'error', code: 'HAKIT_E_WITNESS_LEASE_LOST', msg: `${cur.policy.module}: no witness lease: stopping the application` });
      return stopServing(cur, fx, 'witness lease lost', now_ms);
    }
  }
  const pa = peerAnn(cur);
  if (pa !== null && pa.serving && servingState(pa.state) && pa.started) {
    // A live session means the peer runs its receiver, as a SECOND: a view of it serving is
    // older than the session (it yielded since). Deciding on it would use this node's record
    // as the session changed it (lastRole PRIM), not as the peer compared it when it yielded:
    // both nodes yielded, and the module waited for an operator (found by the cluster
    // simulation, no witness, seed 9404).
    if (cur.sessionUp) return { ...cur, status: settledStatus(cur) };
    const loser = splitBrainLoser(me(cur), peerCandidate(cur, pa), cur.policy.defaultprim);
    if (loser === cur.node) {
      fx.push({ type: 'Log', level: 'error', code: 'HAKIT_E_SPLIT_BRAIN', msg: `${cur.policy.module}: SPLIT BRAIN healed: both nodes served; this node yields (stopstart + full resync), its writes since the cut are discarded` });
      const yielded = persist(cur, fx, { copyComplete: false });
      return stopServing(yielded, fx, 'split brain: yield', now_ms);
    }
    if (!cur.splitBrainSeen) {
      fx.push({ type: 'Log', level: 'error', code: 'HAKIT_E_SPLIT_BRAIN', msg: `${cur.policy.module}: SPLIT BRAIN healed: both nodes served; the peer yields, this node keeps the VIP` });
      fx.push({ type: 'GratuitousArp' });
      cur = { ...cur, splitBrainSeen: true };
    }
    return { ...cur, status: settledStatus(cur) };
  }
  cur = { ...cur, splitBrainSeen: false };
  if (pa !== null && pa.state === 'SECOND' && pa.started) {
    if (cur.replication !== 'sender') {
      fx.push({ type: 'StartReplication', role: 'sender' });
      cur = { ...cur, replication: 'sender' };
    }
    if (cur.state === 'ALONE') cur = becomeQuiet(cur, fx, 'PRIM', 'peer became SECOND', cur.status);
    // In sync only over a live session: setting lastRole back to PRIM on an older view would
    // hide the session's loss from the peer (it marks its copy out of date on our ALONE, which
    // the fence waits for).
    const inSync = peerInSync(cur, pa);
    if (inSync) cur = persist(cur, fx, { lastRole: 'PRIM', tookOver: false });
    cur = bumpWhenPeerOutdated(cur, fx);
    if (inSync && pa.wantsPrim) return { ...stopServing(cur, fx, cur.policy.defaultprim === peerView(cur)?.node ? 'defaultprim' : 'swap', now_ms), handover: true };
    return { ...cur, status: settledStatus(cur) };
  }
  // Lost by the heartbeats: the link need not wait for its own ack timeout to give up the
  // session (the application's sync calls would stall that long); the fence then holds at once.
  if (pa === null && cur.replication === 'sender') fx.push({ type: 'ReplicationPeerLost' });
  cur = stopReplication(cur, fx);
  if (cur.state === 'PRIM') {
    // The copy on the peer stops following ours: a new epoch marks it as older.
    cur = leaveSecondBehind(cur, fx);
    cur = becomeQuiet(cur, fx, 'ALONE', 'peer lost or left SECOND', cur.status);
    if (cur.policy.hasWitness && cur.witnessReq === null) cur = requestLease({ ...cur, lastWitnessRequest_ms: null }, fx, now_ms, false, true);
  }
  cur = bumpWhenPeerOutdated(cur, fx);
  return { ...cur, status: settledStatus(cur) };
}

/**
 * On every view: a peer that served (or holds a complete copy) under a newer epoch has writes
 * this node lacks, so this node's copy is no longer complete. Applied at once, even while
 * scripts run, so that no later decision uses the stale flag.
 */
export function absorbPeerView(m0: ModuleMachine, fx: Fx): ModuleMachine {
  const pa = peerAnn(m0);
  // The peer serves without a session, and without us (ALONE, or a newer epoch), while this
  // SECOND, its copy complete, still follows one:
  // a cut of the replication LAN alone leaves this node's connection silent, not closed, and
  // the peer announces a session only from its engine's 'connected' until it gives the session
  // up (ALONE), so none this node could be in is alive. This node no longer follows the peer;
  // the rules below mark its copy out of date, which the peer's fence waits for (else its
  // sync calls would wait for as long as this connection looks alive: found by the lab test
  // test/mirror-lab/replication-cut.test.ts).
  // A PRIM still announcing lastRole PRIM at our epoch is stopping (a hand-over's stop_prim:
  // its engine ships until the script ends), not going on without us.
  const leftUs = pa !== null && (pa.lastRole === 'ALONE' || pa.epoch > m0.persisted.epoch);
  const m = pa !== null && leftUs && m0.state === 'SECOND' && m0.synced && m0.persisted.copyComplete && pa.serving && pa.replicating === false ? { ...m0, synced: false } : m0;
  // An in_sync that came while the peer announced no session was held (onReplicationEvent):
  // the session is live after all once the peer announces one (from its 'connected', after
  // this node's receiver took the new connection, which ended the old session here).
  if (pa !== null && m.state === 'SECOND' && m.synced && !m.persisted.copyComplete && pa.serving && pa.replicating === true) {
    return { ...persist(m, fx, { copyComplete: true, epoch: pa.epoch, lastRole: 'SECOND', tookOver: false }), followed: true };
  }
  if (pa !== null && m.state === 'SECOND' && m.synced && pa.serving && pa.replicating !== false && pa.epoch > m.persisted.epoch) {
    // In sync over a live session: every write of the primary's new epoch reaches us too.
    return persist(m, fx, { epoch: pa.epoch, copyComplete: true });
  }
  return outdatedByPeer(m, fx, true);
}

/**
 * The view's "out of date" rules, on a node that neither serves nor runs the application
 * nor follows a session: a peer complete or serving under a newer epoch, or (`alone`) a live
 * peer that declares itself sole authority at our epoch or later.
 */
function outdatedByPeer(m: ModuleMachine, fx: Fx, withAlone: boolean): ModuleMachine {
  const pa = peerAnn(m);
  if (pa === null || !m.persisted.copyComplete || m.synced || m.app || servingState(m.state)) return m;
  const newer = pa.epoch > m.persisted.epoch && (pa.copyComplete || pa.serving);
  // A live primary that declares itself sole authority goes on writing without this copy.
  const alone = withAlone && pa.serving && pa.copyComplete && pa.lastRole === 'ALONE' && pa.epoch >= m.persisted.epoch;
  if (!newer && !alone) return m;
  fx.push({ type: 'Log', level: 'info', msg: `${m.policy.module}: the peer (epoch ${pa.epoch}, ${pa.lastRole}) writes without this copy (epoch ${m.persisted.epoch}): marked out of date` });
  return persist(m, fx, { copyComplete: false });
}

/**
 * After any event but a view: a peer's newer epoch makes this copy stale even when the view
 * that showed it came while the rule could not apply (the application still stopping here
 * after a restart), since views come only on change. Found by the cluster simulation: such a
 * node became SECOND, then took over with the stale copy when the peer died. The same-epoch
 * `alone` rule is left to views: after a split brain the yielding peer still announces
 * itself serving for a while.
 */
export function outdatedByNewerEpoch(m: ModuleMachine, fx: Fx): ModuleMachine {
  return outdatedByPeer(m, fx, false);
}

function stepSecond(m: ModuleMachine, fx: Fx, now_ms: number): ModuleMachine {
  const cur = m;
  const pa = peerAnn(cur);
  const complete = cur.persisted.copyComplete;
  if (pa !== null && pa.serving) {
    const wants = cur.synced && complete && pa.state === 'PRIM' && (cur.wantsPrim || cur.policy.defaultprim === cur.node);
    return { ...cur, takeoverPending: false, wantsPrim: wants, status: settledStatus(cur) };
  }
  // A copy no session completed since this node became SECOND is complete only as of before
  // (a restart): the PRIM may have declared this node lost meanwhile and written without it,
  // under a new epoch whose announcement never got here (found by the cluster simulation,
  // crashes only, no witness: the PRIM died right after).
  const canTake = complete && cur.followed && (pa === null || pa.epoch <= cur.persisted.epoch);
  const allowed = failoverOn(cur) || (pa !== null && pa.handover);
  if (pa !== null && pa.state === 'SECOND') return toWait(cur, fx, 'peer lost or left SECOND', false, now_ms);
  if (!canTake || !allowed) {
    const why = canTake ? 'failover off' : complete && !cur.followed ? 'peer lost, copy not brought up to date since this node rejoined' : 'peer lost, copy incomplete';
    return toWait(cur, fx, why, canTake, now_ms);
  }
  // Manual failover: the loss of the peer may be a cut between sites; wait in WAIT for approval.
  if (pa === null && manualFailover(cur)) return toWait(cur, fx, 'peer lost, manual failover', true, now_ms);
  const action = pa === null ? 'failover: peer lost' : pa.handover ? 'swap' : 'failover: peer stopped';
  if (!cur.policy.hasWitness) return becomeAlone(cur, fx, action, now_ms);
  if (mayServeNow(cur, now_ms)) return becomeAlone(cur, fx, action, now_ms);
  if (cur.witnessDenied && cur.witnessReq === null) return toWait({ ...cur, witnessDenied: false }, fx, 'witness refused', true, now_ms);
  if (cur.witnessReq !== null) return cur;
  return requestLease({ ...cur, lastWitnessRequest_ms: null }, fx, now_ms, false, true);
}

function toWait(m: ModuleMachine, fx: Fx, action: string, takeoverPending: boolean, now_ms: number): ModuleMachine {
  const cur = stopReplication({ ...m, takeoverPending, wantsPrim: false }, fx);
  return become(cur, fx, 'WAIT', action, ['stop_second'], now_ms);
}

// ---------------------------------------------------------------- events

/**
 * The SECOND's copy stops following ours. Without a witness the epoch goes up now (durable
 * before any further write); with one, the witness assigns it (epochBumpPending) and the
 * application writes again only once it has (status Ready).
 */
export function leaveSecondBehind(m: ModuleMachine, fx: Fx): ModuleMachine {
  return { ...persist(m, fx, { lastRole: 'ALONE' }), epochBumpPending: true };
}

/**
 * Without a witness, the new epoch is taken once the peer can no longer take over with its
 * old copy (it is lost, or announced its copy out of date): only then may writes go on. An
 * epoch bumped earlier could collide with one the peer takes when it fails over.
 */
function bumpWhenPeerOutdated(m: ModuleMachine, fx: Fx): ModuleMachine {
  if (m.policy.hasWitness || !m.epochBumpPending || peerStillBelievesComplete(m)) return m;
  return { ...persist(m, fx, { epoch: m.persisted.epoch + 1, lastRole: 'ALONE' }), epochBumpPending: false };
}

export function onReplicationEvent(m: ModuleMachine, fx: Fx, kind: 'connected' | 'synced' | 'lost'): ModuleMachine {
  if (m.state === 'SECOND') {
    if (kind === 'connected') return { ...persist(m, fx, { copyComplete: false }), synced: false }; // re-integration starts
    if (kind === 'lost') return { ...m, synced: false };
    const pa = peerAnn(m);
    if (pa === null) return m;
    // The peer announces no replication session: this in_sync may have been sent before it
    // gave the session up, and the peer may have released sync calls since (grantFence). Or
    // the peer connected a moment ago and we have not heard it say so yet. Held until it does
    // (absorbPeerView); meanwhile this node is a SECOND with an incomplete copy.
    if (pa.serving && pa.replicating === false) return { ...persist(m, fx, { lastRole: 'SECOND', tookOver: false }), synced: true };
    const cur = persist(m, fx, { copyComplete: true, epoch: pa.epoch, lastRole: 'SECOND', tookOver: false });
    return { ...cur, synced: true, followed: true };
  }
  if (servingState(m.state) && kind === 'connected') {
    // From now on the SECOND may become in sync at any moment, before we hear of it: this
    // node alone no longer knows it holds the only complete copy. The SECOND persisted its
    // copy as incomplete when the session started, so a pending epoch bump is moot now.
    // Counted before it is announced (peerNotYetToldAlone).
    // A fence asked for before this session is no longer ours to answer: the link hears
    // `connected` at the SECOND's WELCOME, before the SECOND handled STATE syncing, so its copy
    // may still be complete without the held writes, and this session just cleared what held
    // the fence (the pending bump, the peer's view without a session). The link fences itself
    // once the SECOND answers STATE syncing, or asks again if the session is lost first.
    return { ...persist(m, fx, { lastRole: 'PRIM', sessions: m.persisted.sessions + 1 }), epochBumpPending: m.policy.hasWitness && bumpInFlight(m), sessionUp: true, fenceWanted: null };
  }
  if (servingState(m.state) && kind === 'lost') {
    // Writes go on without the SECOND (which may have been in sync a moment ago, even if its
    // announcement has not reached us): its copy is older from now on. With a witness the
    // application writes again only once the witness holds the new epoch (status Ready).
    const cur = { ...leaveSecondBehind(m, fx), lastWitnessRequest_ms: null, sessionUp: false };
    return { ...cur, status: cur.job === null ? settledStatus(cur) : cur.status };
  }
  return m;
}

/** The PRIM engine asks for the fence (grantFence answers; settleStoppingFence while stopping). */
export function onFenceWanted(m: ModuleMachine, token: number): ModuleMachine {
  return { ...m, fenceWanted: token };
}

/** The application runs here but the node no longer serves: its stop_prim runs. */
function stopping(m: ModuleMachine): boolean {
  return m.app && !servingState(m.state);
}

/**
 * While the application still stops here (a stop, a hand-over, a lost lease: the machine
 * stopped listening to its engine, which ships the application's last writes until stop_prim
 * ends) with the fence asked for, those writes go on without SECOND, and no loss may have been
 * reported. A complete copy here is the newer one from now on: lastRole ALONE, persisted before
 * the announcement, which the peer reads as "mark your copy out of date" (the fence then waits
 * for that). Also when the fence was asked for before the stop: whatever set lastRole last,
 * a peer never told would never mark its copy (found by the cluster simulation with stop_prim
 * waiting on held calls, when a stale view could still set it back to PRIM). Without a
 * witness the epoch moves too, as a serving node's does (bumpWhenPeerOutdated, which the state
 * handlers run only when no script runs): else a peer lost during the stop and back later
 * would take over without the writes the fence released meanwhile. Only for a complete copy:
 * a yielding node's copy is given up, and its epoch must not pass the winner's.
 */
export function settleStoppingFence(m: ModuleMachine, fx: Fx): ModuleMachine {
  if (!stopping(m) || !m.persisted.copyComplete) return m;
  let cur = m;
  if (cur.fenceWanted !== null && cur.persisted.lastRole !== 'ALONE') {
    cur = { ...persist(cur, fx, { lastRole: 'ALONE' }), epochBumpPending: cur.epochBumpPending || !cur.policy.hasWitness };
  }
  return bumpWhenPeerOutdated(cur, fx);
}

/**
 * The fence (docs/mirror.md, "The ALONE fence"): the PRIM engine holds sync calls made without
 * SECOND until SECOND cannot take over with a copy lacking them: the peer announced its copy
 * out of date (it persisted that first), or is lost. With a witness, a lost peer may still be
 * alive and ask it for a lease, so the witness must hold our new epoch too. Not tied to the
 * state handler: a stop_prim running meanwhile (an application's shutdown fsync) is released
 * as well, but only on the peer's own word when the loss came during the stop (stoppedFence),
 * and refused when that word cannot come (fenceCannotHold). Emitted after the step's Persist
 * and Announce. Once the engine has stopped (the application ended), the token is moot.
 */
export function grantFence(m: ModuleMachine, fx: Fx, now_ms: number): ModuleMachine {
  if (m.fenceWanted === null) return m;
  const serving = servingState(m.state);
  if (!serving && !m.app) return { ...m, fenceWanted: null };
  const why = serving ? null : fenceCannotHold(m, now_ms);
  if (why !== null) {
    fx.push({ type: 'Log', level: 'warn', code: 'HAKIT_E_MIRROR_FENCE_REFUSED', msg: `${m.policy.module}: the application's sync calls made since the replication link left the peer behind fail: ${why}` });
    fx.push({ type: 'ReplicationFenceRefused', token: m.fenceWanted, reason: why });
    return { ...m, fenceWanted: null };
  }
  if (peerStillBelievesComplete(m) || peerNotYetToldAlone(m) || (m.policy.hasWitness && m.epochBumpPending)) return m;
  if (!serving && !stoppedFence(m)) return m;
  fx.push({ type: 'ReplicationFence', token: m.fenceWanted });
  return { ...m, fenceWanted: null };
}

/**
 * A node no longer serving (its application stopping) took no new epoch when its session was
 * lost, so the epoch rules above cannot tell whether the peer may take over without the
 * stopping application's last writes (after a hand-over or a stop it will, at once, with the
 * copy it holds). Only the peer's announced "copy out of date" says it cannot; or, without a
 * witness, its loss once the new epoch is durable (settleStoppingFence). Found by the cluster
 * simulation once its PRIM engine shipped through stop_prim.
 */
function stoppedFence(m: ModuleMachine): boolean {
  const pa = peerAnn(m);
  return pa === null ? !m.policy.hasWitness && !m.epochBumpPending : !pa.copyComplete;
}

/**
 * Why a stopping node's fence can never hold, or null while the peer may still mark its copy
 * out of date. Held calls would otherwise hold the application's stop (and the VIP, removed
 * after it) until stop_prim's timeout: this node's copy is given up (a split-brain yield); the
 * peer serves or holds a newer copy (what this node writes now is not its history); or, with a
 * witness, the peer may be granted the lease: it is lost, or this node's own lease ended (the
 * peer may not hear us: a one-way cut; found by the cluster simulation, where the peer served
 * while the application here still waited). A failed sync call is no lost acknowledged write:
 * the application was told.
 */
function fenceCannotHold(m: ModuleMachine, now_ms: number): string | null {
  const pa = peerAnn(m);
  if (!m.persisted.copyComplete) return 'this node\'s copy is out of date (it yields to the peer)';
  if (m.policy.hasWitness && !leaseValid(m, now_ms)) return 'this node\'s witness lease ended: the peer may be granted it';
  if (pa === null) return m.policy.hasWitness ? 'the peer is lost and may be granted the witness lease' : null;
  if (pa.serving && servingState(pa.state)) return `the peer serves (${pa.state})`;
  if (pa.epoch > m.persisted.epoch) return `the peer holds a newer copy (epoch ${pa.epoch})`;
  return null;
}

/** A start script failed: stop what was started, back to WAIT (or STOP past maxloop). */
export function onMirrorFailure(m: ModuleMachine, fx: Fx, failure: ScriptFailure, now_ms: number): ModuleMachine {
  if (failure.kind === 'prestart') return become({ ...m, pendingStart: false }, fx, 'STOP', 'prestart failed', ['poststop'], now_ms);
  const counted = countRestart(m, now_ms);
  if (counted.exceeded) {
    fx.push({ type: 'Log', level: 'error', code: 'HAKIT_E_MAXLOOP', msg: `${m.policy.module}: more than ${m.policy.maxloop} restarts within ${m.policy.loop_interval_ms} ms: stopping` });
    return stopModule(counted.m, fx, 'maxloop', null, now_ms);
  }
  const cur = counted.m;
  if (failure.script === 'start_second') return toWait(cur, fx, 'start_second failed', false, now_ms);
  return stopServing(cur, fx, 'start_prim failed', now_ms);
}
