// Manual failover approval (core/module/pure/approval.ts, docs/geo.md): a survivor that lost
// its peer waits in WAIT/Approval until approve, deny keeps it waiting, the timer approves.
import { driver, peer, type Driver } from './helpers';
import type { ModulePolicy } from '../../../core/module/pure/policy';
import { approvalStatus } from '../../../core/module/pure/approval';
import { formatApproval } from '../../../core/cli/commands/failover';
import { moduleOnNode } from '../../../core/api/pure/map';

const LOST = { type: 'PeerView' as const, peers: [peer('n1', null, false)] };

/** n2: the in-sync SECOND of n1 with the given policy. */
function second(policy: Partial<ModulePolicy> = {}): Driver {
  const d = driver('n2', { failover_mode: 'manual', ...policy }, { lastRole: 'SECOND', epoch: 1 });
  d.send({ type: 'Command', command: { kind: 'start' } });
  d.settle();
  d.now += 5_000;
  d.send({ type: 'PeerView', peers: [peer('n1', { state: 'PRIM', status: 'Ready', serving: true, epoch: 1, copyComplete: true, lastRole: 'PRIM' })] });
  d.settle();
  d.send({ type: 'ReplicationConnected' });
  d.send({ type: 'ReplicationSynced' });
  expect(`${d.m.state}/${d.m.status}`).toBe('SECOND/Ready');
  return d;
}

/** The SECOND lost its peer and now waits for approval. */
function waitingForApproval(policy: Partial<ModulePolicy> = {}): Driver {
  const d = second(policy);
  d.send(LOST, 100);
  d.settle(); // stop_second
  expect(`${d.m.state}/${d.m.status}`).toBe('WAIT/Approval');
  return d;
}

const cmd = (kind: 'approve' | 'deny') => ({ type: 'Command' as const, command: { kind } });
const refusals = (d: Driver) => d.effects.filter((e) => e.type === 'Refuse');

describe('manual failover approval', () => {
  it('the survivor does not take over: WAIT/Approval, announced, with a coded log line', () => {
    const d = waitingForApproval();
    expect(d.m.vip).toBe(false);
    expect(d.m.app).toBe(false);
    expect(d.effects).toContainEqual(expect.objectContaining({ type: 'Log', code: 'HAKIT_E_FAILOVER_AWAITING_APPROVAL' }));
    const last = [...d.effects].reverse().find((e) => e.type === 'Announce');
    expect(last).toEqual(expect.objectContaining({ announcement: expect.objectContaining({ state: 'WAIT', status: 'Approval', serving: false }) }));
    // More views of the lost peer change nothing.
    d.send(LOST, 60_000);
    expect(`${d.m.state}/${d.m.status}`).toBe('WAIT/Approval');
  });

  it('approve: the survivor takes over (ALONE, new epoch)', () => {
    const d = waitingForApproval();
    const fx = d.send(cmd('approve'), 1000);
    expect(fx).toContainEqual(expect.objectContaining({ type: 'CommandAccepted', command: 'approve' }));
    expect(d.m.state).toBe('ALONE');
    d.settle();
    expect(`${d.m.state}/${d.m.status}`).toBe('ALONE/Ready');
    expect(d.m.persisted).toEqual(expect.objectContaining({ epoch: 2, lastRole: 'ALONE' }));
    expect(d.m.approval).toBeNull();
  });

  it('deny keeps it waiting; a later approve still works', () => {
    const d = waitingForApproval();
    const fx = d.send(cmd('deny'), 1000);
    expect(fx).toContainEqual(expect.objectContaining({ type: 'CommandAccepted', command: 'deny' }));
    expect(`${d.m.state}/${d.m.status}`).toBe('WAIT/Approval');
    expect(d.m.approval?.denied).toBe(true);
    d.send(cmd('approve'), 1000);
    expect(d.m.state).toBe('ALONE');
  });

  it('the timer approves by itself', () => {
    const d = waitingForApproval({ approval_timer_ms: 30_000 });
    const set = d.effects.find((e) => e.type === 'SetTimer' && e.id === 'approval');
    if (set?.type !== 'SetTimer') throw new Error('no approval timer');
    // Early wake-up: still waiting, the timer is set again.
    const early = d.send({ type: 'TimerFired', id: 'approval' }, 1000);
    expect(early).toContainEqual(expect.objectContaining({ type: 'SetTimer', id: 'approval', at_ms: set.at_ms }));
    expect(d.m.state).toBe('WAIT');
    d.now = set.at_ms;
    d.send({ type: 'TimerFired', id: 'approval' });
    expect(d.m.state).toBe('ALONE');
  });

  it('deny cancels the timer: its firing changes nothing', () => {
    const d = waitingForApproval({ approval_timer_ms: 30_000 });
    const fx = d.send(cmd('deny'), 1000);
    expect(fx).toContainEqual({ type: 'CancelTimer', id: 'approval' });
    d.send({ type: 'TimerFired', id: 'approval' }, 60_000);
    expect(`${d.m.state}/${d.m.status}`).toBe('WAIT/Approval');
  });

  it('the peer back serving ends the wait: the survivor becomes its SECOND', () => {
    const d = waitingForApproval({ approval_timer_ms: 30_000 });
    const fx = d.send({ type: 'PeerView', peers: [peer('n1', { state: 'ALONE', status: 'Ready', serving: true, epoch: 2, copyComplete: true, lastRole: 'ALONE' })] }, 1000);
    expect(fx).toContainEqual({ type: 'CancelTimer', id: 'approval' });
    expect(d.m.approval).toBeNull();
    expect(d.m.state).toBe('SECOND');
    expect(refusals(d)).toEqual([]);
  });

  it('approve or deny on a module that is not waiting: coded refusal, nothing changes', () => {
    const d = second();
    for (const k of ['approve', 'deny'] as const) {
      const before = d.m;
      const fx = d.send(cmd(k));
      expect(fx).toContainEqual(expect.objectContaining({ type: 'Refuse', command: k, code: 'HAKIT_E_FAILOVER_NOT_WAITING' }));
      expect(d.m).toEqual(before);
    }
    // A module whose failover is automatic never waits for approval.
    const auto = driver('n1');
    const fx = auto.send(cmd('approve'));
    expect(fx).toContainEqual(expect.objectContaining({ type: 'Refuse', code: 'HAKIT_E_FAILOVER_NOT_WAITING' }));
    // Farm modules refuse too.
    const farm = driver('n1', {}, {}, 'farm');
    expect(farm.send(cmd('deny'))).toContainEqual(expect.objectContaining({ type: 'Refuse', code: 'HAKIT_E_FAILOVER_NOT_WAITING' }));
  });

  it('approve after the wait ended (peer back) is refused', () => {
    const d = waitingForApproval();
    d.send({ type: 'PeerView', peers: [peer('n1', { state: 'ALONE', status: 'Ready', serving: true, epoch: 2, copyComplete: true, lastRole: 'ALONE' })] }, 1000);
    d.settle();
    expect(d.send(cmd('approve'))).toContainEqual(expect.objectContaining({ type: 'Refuse', code: 'HAKIT_E_FAILOVER_NOT_WAITING' }));
    expect(d.m.state).toBe('SECOND');
  });

  it('stop while waiting ends the wait (STOP, no approval left)', () => {
    const d = waitingForApproval({ approval_timer_ms: 30_000 });
    d.send({ type: 'Command', command: { kind: 'stop' } });
    d.settle();
    expect(d.m.state).toBe('STOP');
    expect(d.m.approval).toBeNull();
    d.send({ type: 'TimerFired', id: 'approval' }, 60_000);
    expect(d.m.state).toBe('STOP');
  });

  it('automatic failover is unchanged', () => {
    const d = second({ failover_mode: 'auto' });
    d.send(LOST, 100);
    expect(d.m.state).toBe('ALONE');
  });

  it('a PRIM that loses its SECOND keeps serving (nothing to approve)', () => {
    const d = driver('n1', { failover_mode: 'manual' }, { lastRole: 'ALONE', epoch: 1, copyComplete: true });
    d.send({ type: 'Command', command: { kind: 'start' } });
    d.settle();
    d.now += 5_000;
    d.send(LOST);
    d.settle();
    expect(`${d.m.state}/${d.m.status}`).toBe('ALONE/Ready');
  });

  it('with a witness the approved survivor still needs the lease', () => {
    const d = waitingForApproval({ hasWitness: true });
    const fx = d.send(cmd('approve'), 1000);
    const req = fx.find((e) => e.type === 'WitnessRequest');
    if (req?.type !== 'WitnessRequest') throw new Error('no lease request');
    expect(d.m.state).toBe('WAIT');
    d.send({ type: 'WitnessReply', request_id: req.request_id, granted: true, lease_ms: 6000, epoch: 5 });
    expect(d.m.state).toBe('ALONE');
    expect(d.m.persisted.epoch).toBe(5);
  });

  it('hakit state and the API show the wait: since when, the timer, a deny', () => {
    const d = waitingForApproval({ approval_timer_ms: 30_000 });
    d.now += 5_000;
    const a = approvalStatus(d.m, d.now);
    expect(a).toEqual({ waiting_ms: expect.any(Number), timer_left_ms: expect.any(Number), denied: false });
    expect(a?.timer_left_ms).toBeLessThanOrEqual(25_000);
    expect(formatApproval(a!)).toMatch(/waiting for failover approval for \d+ s \(the timer approves in \d+ s\)/);
    d.send(cmd('deny'));
    const denied = approvalStatus(d.m, d.now);
    expect(denied).toEqual(expect.objectContaining({ denied: true, timer_left_ms: null }));
    expect(formatApproval(denied!)).toContain('denied, no timer');
    const status = { module: 'app', mode: 'mirror' as const, state: 'WAIT' as const, status: 'Approval' as const, epoch: 1, copyComplete: true, failover: true, boot: false, peers: [], last_error: null, approval: denied };
    expect(moduleOnNode('n2', status)).toEqual(expect.objectContaining({ status: 'Approval', approval: denied }));
    d.send(cmd('approve'));
    expect(approvalStatus(d.m, d.now)).toBeNull();
  });
});
