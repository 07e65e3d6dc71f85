import { assertTransition, MIRROR_TABLE } from '../../../core/module/pure/table';
import { isHakitError } from '../../../core/errors/catalogue';
import { announcementOf, driver, peer, types } from './helpers';
import { defaultScriptTimeouts } from '../../../core/module/pure/policy';
import type { ModuleEffect } from '../../../core/module/pure/types';

/** A node in WAIT after `start` and prestart, having listened long enough. */
function waiting(node = 'n1', persisted = {}, policy = {}) {
  const d = driver(node, policy, persisted);
  d.send({ type: 'Command', command: { kind: 'start' } });
  d.settle();
  d.now += 5_000;
  return d;
}

describe('operator commands', () => {
  it('start runs prestart and settles in WAIT', () => {
    const d = driver('n1');
    const fx = d.send({ type: 'Command', command: { kind: 'start' } });
    expect(types(fx)).toEqual(['Persist', 'Log', 'RunScript:prestart', 'CommandAccepted', 'Announce']);
    expect(`${d.m.state}/${d.m.status}`).toBe('WAIT/Transient');
    d.settle();
    expect(`${d.m.state}/${d.m.status}`).toBe('WAIT/NotReady');
  });

  it.each([
    ['start twice', { kind: 'start' }, 'HAKIT_E_MODULE_ALREADY_STARTED'],
    ['second while the peer does not serve', { kind: 'second' }, 'HAKIT_E_PEER_NOT_PRIMARY'],
    ['swap in WAIT', { kind: 'swap' }, 'HAKIT_E_SWAP_NOT_READY'],
    ['restart in WAIT', { kind: 'restart' }, 'HAKIT_E_MODULE_NOT_RUNNING'],
  ] as const)('refuses %s with a code and changes nothing', (_name, command, code) => {
    const d = waiting();
    d.send({ type: 'PeerView', peers: [peer('n2', { state: 'WAIT' })] });
    const before = d.m;
    const fx = d.send({ type: 'Command', command, request_id: 'r1' });
    expect(fx).toEqual([expect.objectContaining({ type: 'Refuse', code, request_id: 'r1' })]);
    expect(d.m).toBe(before);
  });

  it('refuses stop when stopped, and prim/second outside WAIT', () => {
    const d = driver('n1');
    d.send({ type: 'PeerView', peers: [] }); // the first step announces the initial state
    expect(d.send({ type: 'Command', command: { kind: 'stop' } })).toEqual([expect.objectContaining({ code: 'HAKIT_E_MODULE_ALREADY_STOPPED' })]);
    expect(d.send({ type: 'Command', command: { kind: 'prim' } })).toEqual([expect.objectContaining({ code: 'HAKIT_E_MODULE_NOT_WAITING' })]);
  });

  it('refuses prim while the peer serves, and prim on a copy not known complete', () => {
    const d = waiting('n2', { lastRole: 'SECOND', epoch: 3, copyComplete: false });
    d.send({ type: 'PeerView', peers: [peer('n1', { state: 'ALONE', status: 'Ready', serving: true, epoch: 4, copyComplete: true, lastRole: 'ALONE' })] });
    expect(d.m.state).toBe('SECOND'); // it saw a primary and joined it
    const e = waiting('n2', { lastRole: 'SECOND', epoch: 3, copyComplete: false });
    e.send({ type: 'PeerView', peers: [peer('n1', { state: 'WAIT', epoch: 4, copyComplete: true, lastRole: 'PRIM' })] });
    expect(e.send({ type: 'Command', command: { kind: 'prim' } })).toEqual([expect.objectContaining({ code: 'HAKIT_E_COPY_INCOMPLETE' })]);
    const f = waiting('n2');
    f.send({ type: 'PeerView', peers: [peer('n1', { state: 'ALONE', serving: true, epoch: 1, copyComplete: true, lastRole: 'ALONE' })] });
    expect(f.send({ type: 'Command', command: { kind: 'prim' } })).toEqual([expect.objectContaining({ code: 'HAKIT_E_PEER_SERVING' })]);
  });

  it('refuses mirror commands on a farm module', () => {
    const d = driver('n1', {}, {}, 'farm');
    d.send({ type: 'Command', command: { kind: 'start' } });
    d.settle();
    expect(d.m.state).toBe('UP');
    expect(d.send({ type: 'Command', command: { kind: 'swap' } })).toEqual([expect.objectContaining({ code: 'HAKIT_E_NOT_MIRROR' })]);
  });

  it('refuses commands while scripts run, but queues stop', () => {
    const d = driver('n1');
    d.send({ type: 'Command', command: { kind: 'start' } });
    expect(d.send({ type: 'Command', command: { kind: 'prim' } })).toEqual([expect.objectContaining({ code: 'HAKIT_E_MODULE_BUSY' })]);
    expect(types(d.send({ type: 'Command', command: { kind: 'stop' } }))).toEqual(['CommandAccepted']);
    d.settle();
    expect(d.m.state).toBe('STOP');
  });

  it('failover and boot are persisted', () => {
    const d = driver('n1');
    const fx = d.send({ type: 'Command', command: { kind: 'boot', on: true } });
    expect(fx[0]).toEqual({ type: 'Persist', record: expect.objectContaining({ boot: true }) });
    d.send({ type: 'Command', command: { kind: 'failover', on: false } });
    expect(d.m.persisted.failover).toBe(false);
  });
});

describe('first start and effect order', () => {
  it('prim: the epoch is durable before the VIP, the VIP before start_prim, and the announcement last', () => {
    const d = waiting();
    d.send({ type: 'PeerView', peers: [peer('n2', { state: 'WAIT' })] });
    const fx = d.send({ type: 'Command', command: { kind: 'prim' } });
    const t = types(fx);
    expect(t.indexOf('Persist')).toBeLessThan(t.indexOf('SetVip:true'));
    expect(t.indexOf('SetVip:true')).toBeLessThan(t.indexOf('RunScript:start_prim'));
    expect(t[t.length - 1]).toBe('Announce');
    d.settle();
    expect(`${d.m.state}/${d.m.status}`).toBe('ALONE/Ready');
    expect(d.m.persisted).toEqual(expect.objectContaining({ epoch: 1, copyComplete: true, lastRole: 'ALONE' }));
    expect(types(d.effects)).toContain('GratuitousArp');
  });

  it('both nodes WAIT on first start: nobody serves without the operator', () => {
    const d = waiting();
    d.send({ type: 'PeerView', peers: [peer('n2', { state: 'WAIT' })] }, 10_000);
    expect(d.m.state).toBe('WAIT');
  });

  it('a later start picks the up-to-date node by itself', () => {
    const d = waiting('n2', { epoch: 5, copyComplete: true, lastRole: 'ALONE' });
    d.send({ type: 'PeerView', peers: [peer('n1', { state: 'WAIT', epoch: 4, copyComplete: true, lastRole: 'PRIM' })] });
    expect(d.m.state).toBe('ALONE');
    const e = waiting('n1', { epoch: 4, copyComplete: true, lastRole: 'PRIM' });
    e.send({ type: 'PeerView', peers: [peer('n2', { state: 'WAIT', epoch: 5, copyComplete: true, lastRole: 'ALONE' })] });
    expect(e.m.state).toBe('WAIT');
  });

  it('stop removes the VIP only after stop_prim', () => {
    const d = waiting();
    d.send({ type: 'Command', command: { kind: 'prim' } });
    d.settle();
    d.effects.length = 0;
    d.send({ type: 'Command', command: { kind: 'stop' } });
    d.settle();
    const t = types(d.effects);
    expect(t.indexOf('RunScript:stop_prim')).toBeLessThan(t.indexOf('SetVip:false'));
    expect(t.indexOf('SetVip:false')).toBeLessThan(t.indexOf('RunScript:poststop'));
    expect(d.m.state).toBe('STOP');
  });
});

describe('scripts', () => {
  it('the force run of a stop script has <user forcestoptimeout>, the nice one nicestoptimeout', () => {
    const d = waiting('n1', {}, { script_timeout_ms: { ...defaultScriptTimeouts(), stop_prim: 7_000 }, force_stop_timeout_ms: 3_000 });
    d.send({ type: 'Command', command: { kind: 'prim' } });
    d.settle();
    const nice = d.send({ type: 'Command', command: { kind: 'stop' } }).find((e) => e.type === 'RunScript');
    expect(nice).toMatchObject({ script: 'stop_prim', args: [], timeout_ms: 7_000 });
    const force = d.exit(1).find((e) => e.type === 'RunScript');
    expect(force).toMatchObject({ script: 'stop_prim', args: ['force'], timeout_ms: 3_000 });
  });

  it('a failing stop script is called again with force, then the machine gives up and goes on', () => {
    const d = waiting();
    d.send({ type: 'Command', command: { kind: 'prim' } });
    d.settle();
    d.effects.length = 0;
    d.send({ type: 'Command', command: { kind: 'stop' } });
    expect(types(d.exit(1))).toContain('RunScript:stop_prim:force');
    const fx = d.exit(1);
    expect(fx).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Log', code: 'HAKIT_E_STOP_SCRIPT_FAILED' }), { type: 'KillScripts' }]));
    expect(types(fx)).toContain('SetVip:false');
    d.settle();
    expect(d.m.state).toBe('STOP');
  });

  it('maxloop: more automatic restarts than allowed stop the module', () => {
    const d = waiting('n1', {}, { maxloop: 2 });
    d.send({ type: 'Command', command: { kind: 'prim' } });
    for (let i = 0; i < 3; i++) {
      d.exit(1); // start_prim fails
      d.exit(0); // stop_prim; then WAIT serves again by itself (the automatic restart)
    }
    d.settle();
    expect(d.m.state).toBe('STOP');
    expect(d.effects).toContainEqual(expect.objectContaining({ type: 'Log', code: 'HAKIT_E_MAXLOOP' }));
  });

  it('script environment names module, node, states and action', () => {
    const d = driver('n1');
    const run = d.send({ type: 'Command', command: { kind: 'start' } }).find((e) => e.type === 'RunScript');
    expect(run).toEqual(expect.objectContaining({ env: { HAKIT_MODULE: 'app', HAKIT_NODE: 'n1', HAKIT_FROM_STATE: 'STOP', HAKIT_TO_STATE: 'WAIT', HAKIT_ACTION: 'start' } }));
  });
});

describe('failover', () => {
  function second(policy = {}) {
    const d = waiting('n2', { lastRole: 'SECOND', epoch: 1 }, policy);
    const prim = peer('n1', { state: 'PRIM', status: 'Ready', serving: true, epoch: 1, copyComplete: true, lastRole: 'PRIM' });
    d.send({ type: 'PeerView', peers: [prim] });
    d.settle();
    d.send({ type: 'ReplicationConnected' });
    d.send({ type: 'ReplicationSynced' });
    expect(`${d.m.state}/${d.m.status}`).toBe('SECOND/Ready');
    return d;
  }

  it('an in_sync handled after the PRIM announced its session down does not make the copy complete; an announced session does', () => {
    const d = waiting('n2', { lastRole: 'SECOND', epoch: 1 });
    // ALONE with its epoch moved by the witness after it connected: lastRole says nothing of the session.
    const prim = (replicating: boolean) => [peer('n1', { state: 'PRIM', status: 'Ready', serving: true, epoch: 1, copyComplete: true, lastRole: 'ALONE', replicating })];
    d.send({ type: 'PeerView', peers: prim(true) });
    d.settle();
    d.send({ type: 'ReplicationConnected' });
    // The PRIM gave the session up while its in_sync was on the way.
    d.send({ type: 'PeerView', peers: prim(false) });
    expect(announcementOf(d.m).peerUnreplicatedSeen).toBe(true);
    d.send({ type: 'ReplicationSynced' });
    expect(d.m.persisted).toMatchObject({ copyComplete: false, lastRole: 'SECOND' });
    expect(`${d.m.state}/${d.m.status}`).toBe('SECOND/Transient');
    expect(announcementOf(d.m)).toMatchObject({ copyComplete: false, peerUnreplicatedSeen: true });
    // The peer announces a session with ours still up here (it had just connected): that in_sync stands.
    d.send({ type: 'PeerView', peers: prim(true) });
    expect(d.m.persisted).toMatchObject({ copyComplete: true, epoch: 1, lastRole: 'SECOND' });
    expect(`${d.m.state}/${d.m.status}`).toBe('SECOND/Ready');
    // Ended by a loss first, it would not have: the next session's pass decides.
    const e = waiting('n2', { lastRole: 'SECOND', epoch: 1 });
    e.send({ type: 'PeerView', peers: prim(true) });
    e.settle();
    e.send({ type: 'ReplicationConnected' });
    e.send({ type: 'PeerView', peers: prim(false) });
    e.send({ type: 'ReplicationSynced' });
    e.send({ type: 'ReplicationLost', reason: 'closed' });
    e.send({ type: 'PeerView', peers: prim(true) });
    expect(e.m.persisted.copyComplete).toBe(false);
    // A peer of an older version (no `replicating`): the in_sync counts at once, as before.
    const f = waiting('n2', { lastRole: 'SECOND', epoch: 1 });
    f.send({ type: 'PeerView', peers: [peer('n1', { state: 'PRIM', status: 'Ready', serving: true, epoch: 1, copyComplete: true, lastRole: 'ALONE' })] });
    f.settle();
    f.send({ type: 'ReplicationConnected' });
    f.send({ type: 'ReplicationSynced' });
    expect(f.m.persisted.copyComplete).toBe(true);
  });

  it('a complete SECOND whose connection went silent (the replication LAN alone cut) marks its copy out of date once the PRIM announces it serves without a session', () => {
    const d = waiting('n2', { lastRole: 'SECOND', epoch: 1 });
    const prim = (replicating: boolean, lastRole: 'PRIM' | 'ALONE') => [peer('n1', { state: 'PRIM', status: 'Ready', serving: true, epoch: 1, copyComplete: true, lastRole, replicating })];
    d.send({ type: 'PeerView', peers: prim(true, 'PRIM') });
    d.settle();
    d.send({ type: 'ReplicationConnected' });
    d.send({ type: 'ReplicationSynced' });
    expect(d.m.persisted).toMatchObject({ copyComplete: true, epoch: 1 });
    // No ReplicationLost here (the TCP connection is silent, not closed): the PRIM's word is enough.
    d.send({ type: 'PeerView', peers: prim(false, 'ALONE') });
    expect(d.m.persisted.copyComplete).toBe(false);
    expect(announcementOf(d.m)).toMatchObject({ copyComplete: false, peerUnreplicatedSeen: true });
    expect(d.m.state).toBe('SECOND');
    // The PRIM then lost: this copy lacks what it wrote since, so no takeover.
    d.send({ type: 'PeerView', peers: [peer('n1', null, false)] });
    d.settle();
    expect(d.m.state).toBe('WAIT');
  });

  it('the in-sync SECOND takes over when the primary is lost', () => {
    const d = second();
    d.send({ type: 'PeerView', peers: [peer('n1', null, false)] });
    expect(d.m.state).toBe('ALONE');
    expect(d.m.persisted).toEqual(expect.objectContaining({ epoch: 2, tookOver: true, lastRole: 'ALONE' }));
  });

  it('a SECOND that rejoined after a restart takes over only once a session brought its copy up to date', () => {
    // Complete as of before its crash; it sees its PRIM (a stale announcement: the PRIM has
    // since declared it lost and written under a new epoch) and becomes SECOND, no session yet.
    const d = waiting('n2', { lastRole: 'SECOND', epoch: 8, copyComplete: true });
    d.send({ type: 'PeerView', peers: [peer('n1', { state: 'PRIM', status: 'Ready', serving: true, epoch: 8, copyComplete: true, lastRole: 'PRIM' })] });
    d.settle();
    expect(d.m.state).toBe('SECOND');
    d.send({ type: 'PeerView', peers: [peer('n1', null, false)] });
    d.settle();
    expect(d.m.state).toBe('WAIT');
    expect(d.effects).toContainEqual(expect.objectContaining({ type: 'Log', msg: expect.stringMatching(/SECOND -> WAIT \(peer lost, copy not brought up to date since this node rejoined\)/) }));
  });

  it('failover off: the survivor waits', () => {
    const d = second({ failover: false });
    d.send({ type: 'PeerView', peers: [peer('n1', null, false)] });
    d.settle();
    expect(d.m.state).toBe('WAIT');
  });

  it('a SECOND still re-integrating never takes over', () => {
    const d = waiting('n2', { lastRole: 'SECOND', epoch: 1 });
    d.send({ type: 'PeerView', peers: [peer('n1', { state: 'PRIM', serving: true, epoch: 1, copyComplete: true, lastRole: 'PRIM' })] });
    d.settle();
    d.send({ type: 'ReplicationConnected' });
    d.send({ type: 'PeerView', peers: [peer('n1', null, false)] });
    d.settle();
    expect(d.m.state).toBe('WAIT');
    expect(d.m.persisted.copyComplete).toBe(false);
  });

  it('with a witness the SECOND asks for a lease and a new epoch before serving', () => {
    const d = second({ hasWitness: true });
    const fx = d.send({ type: 'PeerView', peers: [peer('n1', null, false)] });
    const req = fx.find((e) => e.type === 'WitnessRequest');
    expect(req).toEqual(expect.objectContaining({ bump: true, epoch: 1 }));
    expect(d.m.state).toBe('SECOND');
    if (req?.type !== 'WitnessRequest') throw new Error('no request');
    d.send({ type: 'WitnessReply', request_id: req.request_id, granted: true, lease_ms: 6000, epoch: 7 });
    expect(d.m.state).toBe('ALONE');
    expect(d.m.persisted.epoch).toBe(7);
  });
});

describe('the transition table', () => {
  it('asserts on transitions it does not have', () => {
    expect(() => assertTransition('mirror', 'STOP', 'SECOND', 'test')).toThrow(expect.objectContaining({ code: 'HAKIT_E_BAD_TRANSITION' }));
    try {
      assertTransition('farm', 'UP', 'PRIM', 'test');
    } catch (e) {
      expect(isHakitError(e)).toBe(true);
    }
    expect(() => assertTransition('mirror', 'SECOND', 'ALONE', 'test')).not.toThrow();
  });

  it('has no duplicate edges', () => {
    const keys = MIRROR_TABLE.map((r) => `${r.from}>${r.to}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('restarts and farms', () => {
  it('a node whose last role was ALONE serves alone, but only after listening for its peer', () => {
    const d = driver('n1', {}, { epoch: 3, copyComplete: true, lastRole: 'ALONE' });
    d.send({ type: 'Command', command: { kind: 'start' } });
    d.settle();
    const fx = d.send({ type: 'PeerView', peers: [peer('n2', null, false)] });
    expect(d.m.state).toBe('WAIT');
    expect(fx).toContainEqual(expect.objectContaining({ type: 'SetTimer', id: 'peer-wait' }));
    d.send({ type: 'TimerFired', id: 'peer-wait' }, 3_000);
    expect(d.m.state).toBe('ALONE');
  });

  /** n1 serving ALONE (its peer was not heard), as after a takeover. */
  function alonePrim() {
    const d = driver('n1', {}, { epoch: 3, copyComplete: true, lastRole: 'ALONE' });
    d.send({ type: 'Command', command: { kind: 'start' } });
    d.settle();
    d.send({ type: 'PeerView', peers: [peer('n2', null, false)] });
    d.send({ type: 'TimerFired', id: 'peer-wait' }, 3_000);
    d.settle();
    return d;
  }

  it('split brain: the winner keeps serving when its session with the yielded peer comes up before a view of it as SECOND', () => {
    const d = alonePrim();
    const epoch = d.m.persisted.epoch;
    // n2 served too, with the same epoch (no witness); n1 keeps the VIP (the smaller name), n2 yields.
    const n2Alone = [peer('n2', { state: 'ALONE', status: 'Ready', serving: true, epoch, copyComplete: true, lastRole: 'ALONE', tookOver: false, replicating: false })];
    const seen = d.send({ type: 'PeerView', peers: n2Alone });
    expect(seen).toContainEqual(expect.objectContaining({ code: 'HAKIT_E_SPLIT_BRAIN', msg: expect.stringMatching(/the peer yields/) }));
    // n2, now SECOND, connects before n1 hears it say so: the session (lastRole PRIM here)
    // must not turn the older view into a loss for n1.
    const fx = d.send({ type: 'ReplicationConnected' });
    expect(fx).not.toContainEqual(expect.objectContaining({ code: 'HAKIT_E_SPLIT_BRAIN' }));
    expect(d.m.state).toBe('ALONE');
    expect(d.m.persisted.copyComplete).toBe(true);
  });

  it('the fence: held sync calls of an ALONE PRIM are released only once the peer cannot take over without them', () => {
    const d = alonePrim();
    expect(d.m.state).toBe('ALONE');
    const fence = (fx: readonly ModuleEffect[]) => fx.filter((e) => e.type === 'ReplicationFence');
    // The peer is lost: nothing to wait for.
    expect(fence(d.send({ type: 'FenceWanted', token: 1 }))).toEqual([{ type: 'ReplicationFence', token: 1 }]);
    // In sync with a SECOND whose copy is complete; then the link is lost.
    const epoch = d.m.persisted.epoch;
    d.send({ type: 'ReplicationConnected' });
    d.send({ type: 'PeerView', peers: [peer('n2', { state: 'SECOND', status: 'Ready', epoch, copyComplete: true, lastRole: 'SECOND' })] });
    d.send({ type: 'ReplicationSynced' });
    d.send({ type: 'ReplicationLost', reason: 'test' });
    expect(fence(d.send({ type: 'FenceWanted', token: 2 }))).toEqual([]);
    // The peer still announces a complete copy: held. That view predates the loss: this node
    // goes on announcing ALONE (the peer's cue to mark its copy), and refuses a swap.
    expect(fence(d.send({ type: 'PeerView', peers: [peer('n2', { state: 'SECOND', status: 'Ready', epoch, copyComplete: true, lastRole: 'SECOND' })] }))).toEqual([]);
    expect(announcementOf(d.m)).toMatchObject({ replicating: false, lastRole: 'ALONE' });
    expect(d.m.persisted.lastRole).toBe('ALONE');
    const swap = d.send({ type: 'Command', command: { kind: 'swap' }, request_id: 's1' });
    expect(swap).toContainEqual(expect.objectContaining({ type: 'Refuse', code: 'HAKIT_E_SWAP_NOT_READY' }));
    expect(d.m.state).toBe('PRIM');
    // It marked its copy out of date: released, after the new epoch is persisted.
    const fx = d.send({ type: 'PeerView', peers: [peer('n2', { state: 'SECOND', status: 'Ready', epoch, copyComplete: false, lastRole: 'SECOND' })] });
    expect(fence(fx)).toEqual([{ type: 'ReplicationFence', token: 2 }]);
    expect(fx.findIndex((e) => e.type === 'Persist')).toBeLessThan(fx.findIndex((e) => e.type === 'ReplicationFence'));
    expect(d.m.persisted.epoch).toBe(epoch + 1);
    // Answered once; the peer lost by the heartbeats: the link gives its session up at once.
    const lost = d.send({ type: 'PeerView', peers: [peer('n2', null, false)] });
    expect(fence(lost)).toEqual([]);
    expect(types(lost)).toContain('ReplicationPeerLost');
  });

  it('the fence: a new session does not answer a fence asked for before it (the link fences itself once the SECOND marked its copy incomplete)', () => {
    const d = alonePrim();
    const epoch = d.m.persisted.epoch;
    const fence = (fx: readonly ModuleEffect[]) => fx.filter((e) => e.type === 'ReplicationFence');
    const complete = [peer('n2', { state: 'SECOND', status: 'Ready', epoch, copyComplete: true, lastRole: 'SECOND' })];
    d.send({ type: 'ReplicationConnected' });
    d.send({ type: 'PeerView', peers: complete });
    d.send({ type: 'ReplicationSynced' });
    // The session is lost; the sync calls made since wait: n2 still announces a complete copy.
    d.send({ type: 'ReplicationLost', reason: 'test' });
    expect(fence(d.send({ type: 'FenceWanted', token: 5 }))).toEqual([]);
    // The link connects again before n2 heard of the loss. The PRIM hears `connected` at
    // WELCOME, before n2 handled STATE syncing: its copy is still complete and lacks the held
    // writes. Before: the session cleared the pending bump and the fence was released here.
    expect(fence(d.send({ type: 'ReplicationConnected' }))).toEqual([]);
    expect(fence(d.send({ type: 'PeerView', peers: complete }))).toEqual([]);
    expect(d.m.fenceWanted).toBeNull();
    // Lost again before n2 answered: the link asks anew, and that one is answered by the rules.
    d.send({ type: 'ReplicationLost', reason: 'test' });
    expect(fence(d.send({ type: 'FenceWanted', token: 6 }))).toEqual([]);
    expect(fence(d.send({ type: 'PeerView', peers: [peer('n2', { state: 'SECOND', status: 'Ready', epoch, copyComplete: false, lastRole: 'SECOND' })] }))).toEqual([{ type: 'ReplicationFence', token: 6 }]);
  });

  it('the fence waits for a "copy out of date" announced from a view of this PRIM without a session: an older one may predate an in_sync on its way', () => {
    const d = alonePrim();
    const epoch = d.m.persisted.epoch;
    const sec = (copyComplete: boolean, peerUnreplicatedSeen: boolean) => [peer('n2', { state: 'SECOND', status: 'Transient', epoch, copyComplete, lastRole: 'SECOND', peerUnreplicatedSeen })];
    // A pass runs (SECOND announced its copy incomplete), then the link is lost mid-pass.
    d.send({ type: 'ReplicationConnected' });
    d.send({ type: 'PeerView', peers: sec(false, false) });
    expect(announcementOf(d.m).replicating).toBe(true);
    d.send({ type: 'ReplicationLost', reason: 'test' });
    expect(announcementOf(d.m)).toMatchObject({ replicating: false, lastRole: 'ALONE' });
    const fence = (fx: readonly ModuleEffect[]) => fx.filter((e) => e.type === 'ReplicationFence');
    expect(fence(d.send({ type: 'FenceWanted', token: 7 }))).toEqual([]);
    expect(fence(d.send({ type: 'PeerView', peers: sec(false, false) }))).toEqual([]);
    // The in_sync got there after all: complete, still from a view of us PRIM: held.
    expect(fence(d.send({ type: 'PeerView', peers: sec(true, false) }))).toEqual([]);
    // It heard us without a session and marked its copy out of date: released.
    expect(fence(d.send({ type: 'PeerView', peers: sec(false, true) }))).toEqual([{ type: 'ReplicationFence', token: 7 }]);
    expect(announcementOf(d.m).peerUnreplicatedSeen).toBe(false); // its own view of n2: a SECOND
  });

  it('swap hands over only to a SECOND in sync: a live session, its copy complete and Ready, at this node\'s epoch', () => {
    const d = alonePrim();
    const epoch = d.m.persisted.epoch;
    const sec = (e: number) => [peer('n2', { state: 'SECOND', status: 'Ready', epoch: e, copyComplete: true, lastRole: 'SECOND' })];
    d.send({ type: 'ReplicationConnected' });
    d.send({ type: 'PeerView', peers: sec(epoch) });
    d.send({ type: 'ReplicationSynced' });
    expect(d.m.state).toBe('PRIM');
    // A view of n2 from before it took this node's epoch: not yet in sync.
    d.send({ type: 'PeerView', peers: sec(epoch - 1) });
    const early = d.send({ type: 'Command', command: { kind: 'swap' }, request_id: 's0' });
    expect(early).toContainEqual(expect.objectContaining({ type: 'Refuse', code: 'HAKIT_E_SWAP_NOT_READY', message: expect.stringMatching(new RegExp(`epoch ${epoch} \\(it announces ${epoch - 1}\\)`)) }));
    expect(d.m.app).toBe(true);
    d.send({ type: 'PeerView', peers: sec(epoch) });
    const swap = d.send({ type: 'Command', command: { kind: 'swap' }, request_id: 's1' });
    expect(swap).not.toContainEqual(expect.objectContaining({ type: 'Refuse' }));
    expect(d.m.handover).toBe(true);
  });

  it.each([['stop'], ['swap']] as const)('the fence during a %s: a session lost while stop_prim runs holds the shutdown fsyncs until the peer marked its copy out of date', (kind) => {
    const d = alonePrim();
    const epoch = d.m.persisted.epoch;
    const sec = (copyComplete: boolean) => [peer('n2', { state: 'SECOND', status: 'Ready', epoch, copyComplete, lastRole: 'SECOND', peerUnreplicatedSeen: true })];
    d.send({ type: 'ReplicationConnected' });
    d.send({ type: 'PeerView', peers: sec(true) });
    d.send({ type: 'ReplicationSynced' });
    expect(d.m.state).toBe('PRIM');
    d.send({ type: 'Command', command: { kind } });
    expect(d.m.app).toBe(true); // stop_prim runs; the machine no longer hears its engine
    const fence = (fx: readonly ModuleEffect[]) => fx.filter((e) => e.type === 'ReplicationFence');
    // The engine lost its session: the application's last writes go on without n2.
    const fx = d.send({ type: 'FenceWanted', token: 4 });
    expect(fence(fx)).toEqual([]); // before: released at once, and n2 took over without them
    expect(fx).toContainEqual({ type: 'Persist', record: expect.objectContaining({ lastRole: 'ALONE', copyComplete: true }) });
    expect(announcementOf(d.m)).toMatchObject({ serving: true, lastRole: 'ALONE' });
    expect(fence(d.send({ type: 'PeerView', peers: sec(true) }))).toEqual([]);
    expect(fence(d.send({ type: 'PeerView', peers: sec(false) }))).toEqual([{ type: 'ReplicationFence', token: 4 }]);
  });

  it('the fence counts "copy out of date" only from a view of this node without a session since its last session (the echoed session count)', () => {
    const d = alonePrim();
    const epoch = d.m.persisted.epoch;
    const before = d.m.persisted.sessions;
    // n2 saw n1 ALONE (no session yet) and re-integrates: its announcement echoes that count.
    const sec = (copyComplete: boolean, echo: number) => [peer('n2', { state: 'SECOND', status: 'Transient', epoch, copyComplete, lastRole: 'SECOND', peerUnreplicatedSeen: true, peerUnreplicatedSession: echo })];
    d.send({ type: 'PeerView', peers: sec(false, before) });
    d.send({ type: 'ReplicationConnected' });
    expect(d.m.persisted.sessions).toBe(before + 1); // durable before it is announced
    expect(announcementOf(d.m)).toMatchObject({ replicating: true, sessions: before + 1 });
    d.send({ type: 'ReplicationSynced' });
    // The operator stops n1. n2 handled the in_sync (its copy complete) and its daemon died
    // before announcing it: n1's newest view of n2 is still the one from before the session.
    d.send({ type: 'Command', command: { kind: 'stop' } });
    const fence = (fx: readonly ModuleEffect[]) => fx.filter((e) => e.type === 'ReplicationFence');
    expect(fence(d.send({ type: 'FenceWanted', token: 9 }))).toEqual([]); // before: released, n2 took over without them
    // A view of n1 without a session since that session (the echo is n1's count): released.
    expect(fence(d.send({ type: 'PeerView', peers: sec(false, before + 1) }))).toEqual([{ type: 'ReplicationFence', token: 9 }]);
  });

  it('a SECOND echoes its serving peer\'s session count while it sees the peer without a session, and only then', () => {
    const d = driver('n2', {}, { epoch: 3, copyComplete: true, lastRole: 'SECOND' });
    d.send({ type: 'PeerView', peers: [peer('n1', { state: 'PRIM', status: 'Ready', serving: true, epoch: 3, copyComplete: true, lastRole: 'PRIM', replicating: true, sessions: 4 })] });
    expect(announcementOf(d.m)).toMatchObject({ peerUnreplicatedSeen: false, sessions: 0 });
    expect(announcementOf(d.m).peerUnreplicatedSession).toBeUndefined();
    d.send({ type: 'PeerView', peers: [peer('n1', { state: 'PRIM', status: 'Ready', serving: true, epoch: 3, copyComplete: true, lastRole: 'ALONE', replicating: false, sessions: 4 })] });
    expect(announcementOf(d.m)).toMatchObject({ peerUnreplicatedSeen: true, peerUnreplicatedSession: 4 });
  });

  /** n1 PRIM in sync with n2 (a witness granting every request when `hasWitness`), then the
   *  operator's stop: stop_prim runs, the machine no longer hears its engine. */
  function stoppingPrim(hasWitness: boolean) {
    const d = driver('n1', { hasWitness }, { epoch: 3, copyComplete: true, lastRole: 'ALONE' });
    const send = (ev: Parameters<typeof d.send>[0], advance_ms = 0): ModuleEffect[] => {
      const fx = d.send(ev, advance_ms);
      const req = fx.find((e) => e.type === 'WitnessRequest');
      if (req?.type === 'WitnessRequest') fx.push(...d.send({ type: 'WitnessReply', request_id: req.request_id, granted: true, lease_ms: 60_000, epoch: req.bump ? req.epoch + 1 : req.epoch }));
      return fx;
    };
    send({ type: 'Command', command: { kind: 'start' } });
    d.settle();
    send({ type: 'PeerView', peers: [peer('n2', null, false)] });
    send({ type: 'TimerFired', id: 'peer-wait' }, 3_000);
    d.settle();
    expect(d.m.state).toBe('ALONE');
    const epoch = d.m.persisted.epoch;
    send({ type: 'ReplicationConnected' });
    send({ type: 'PeerView', peers: [peer('n2', { state: 'SECOND', status: 'Ready', epoch, copyComplete: true, lastRole: 'SECOND', peerUnreplicatedSeen: true })] });
    send({ type: 'ReplicationSynced' });
    expect(d.m.state).toBe('PRIM');
    send({ type: 'Command', command: { kind: 'stop' } });
    expect(d.m.app).toBe(true);
    return { d, send, epoch };
  }
  const fenceFx = (fx: readonly ModuleEffect[]) => fx.filter((e) => e.type === 'ReplicationFence' || e.type === 'ReplicationFenceRefused');

  it('the fence during a stop, the peer then lost: released without a witness once the new epoch is durable; refused at once with one (the peer may be granted the lease)', () => {
    for (const hasWitness of [false, true]) {
      const { d, send, epoch } = stoppingPrim(hasWitness);
      expect(fenceFx(send({ type: 'FenceWanted', token: 1 }))).toEqual([]);
      expect(d.m.persisted.epoch).toBe(epoch); // the peer still believes its copy complete: no move yet
      const fx = send({ type: 'PeerView', peers: [peer('n2', null, false)] });
      if (hasWitness) {
        expect(fenceFx(fx)).toEqual([{ type: 'ReplicationFenceRefused', token: 1, reason: 'the peer is lost and may be granted the witness lease' }]);
        continue;
      }
      expect(fenceFx(fx)).toEqual([{ type: 'ReplicationFence', token: 1 }]);
      // Else n2, back with its older copy after this node stopped, would take over without them.
      expect(d.m.persisted).toMatchObject({ epoch: epoch + 1, lastRole: 'ALONE', copyComplete: true });
      expect(fx.findIndex((e) => e.type === 'Persist')).toBeLessThan(fx.findIndex((e) => e.type === 'ReplicationFence'));
    }
  });

  it('the fence during a stop is refused when it can never hold: the peer serves, or this copy is given up; the token is dropped once the application stopped', () => {
    const serving = stoppingPrim(false);
    serving.send({ type: 'FenceWanted', token: 2 });
    const fx = serving.send({ type: 'PeerView', peers: [peer('n2', { state: 'ALONE', status: 'Ready', serving: true, epoch: serving.epoch + 1, copyComplete: true, lastRole: 'ALONE', replicating: false })] });
    expect(fenceFx(fx)).toEqual([{ type: 'ReplicationFenceRefused', token: 2, reason: 'the peer serves (ALONE)' }]);
    expect(fx).toContainEqual(expect.objectContaining({ type: 'Log', code: 'HAKIT_E_MIRROR_FENCE_REFUSED' }));
    // A split-brain yield: this node's copy is given up; the winner never marks its own copy.
    const y = alonePrim();
    const epoch = y.m.persisted.epoch;
    y.send({ type: 'ReplicationConnected' });
    y.send({ type: 'PeerView', peers: [peer('n2', { state: 'SECOND', status: 'Ready', epoch, copyComplete: true, lastRole: 'SECOND' })] });
    y.send({ type: 'ReplicationSynced' });
    y.send({ type: 'ReplicationLost', reason: 'test' });
    expect(fenceFx(y.send({ type: 'FenceWanted', token: 3 }))).toEqual([]);
    const won = y.send({ type: 'PeerView', peers: [peer('n2', { state: 'ALONE', status: 'Ready', serving: true, started: true, epoch: epoch + 5, copyComplete: true, lastRole: 'ALONE', replicating: false, peerUnreplicatedSeen: true })] });
    expect(y.m.persisted.copyComplete).toBe(false);
    expect(fenceFx(won)).toEqual([{ type: 'ReplicationFenceRefused', token: 3, reason: expect.stringMatching(/copy is out of date/) }]);
    expect(y.m.persisted.epoch).toBe(epoch); // a given-up copy takes no new epoch
    // A token still unanswered when stop_prim ends is moot (the engine stopped with it).
    const late = stoppingPrim(false);
    late.send({ type: 'FenceWanted', token: 4 });
    late.d.settle();
    expect(late.d.m.app).toBe(false);
    expect(late.d.m.fenceWanted).toBeNull();
  });

  it('with a witness, a stop for a lost lease refuses the fence at once: a peer that cannot hear this node may be granted it', () => {
    const { d, send } = stoppingPrim(true);
    d.now += 120_000; // the lease ended long ago (this node was cut from the witness)
    const fx = send({ type: 'FenceWanted', token: 5 });
    expect(fenceFx(fx)).toEqual([{ type: 'ReplicationFenceRefused', token: 5, reason: expect.stringMatching(/lease ended/) }]);
  });

  it('the fence after a hakitd restart that kept the capture: the new engine starts ALONE, no loss was reported', () => {
    const d = driver('n1', {}, { epoch: 5, copyComplete: true, lastRole: 'PRIM', wasStarted: true });
    const sec = (copyComplete: boolean) => [peer('n2', { state: 'SECOND', status: 'Ready', epoch: 5, copyComplete, lastRole: 'SECOND' })];
    d.send({ type: 'PeerView', peers: sec(true) });
    d.send({ type: 'Booted', leftover: { state: 'PRIM', status: 'Ready', capture_kept: true } });
    d.settle();
    expect(d.m.state).toBe('PRIM');
    // The view of the SECOND as in sync predates the restart: no session yet, the record stays ALONE.
    expect(d.m.persisted.lastRole).toBe('ALONE');
    const fence = (fx: readonly ModuleEffect[]) => fx.filter((e) => e.type === 'ReplicationFence');
    expect(fence(d.send({ type: 'FenceWanted', token: 1 }))).toEqual([]);
    expect(d.m.epochBumpPending).toBe(true); // as after a reported loss: the epoch moves once the peer knows
    expect(fence(d.send({ type: 'PeerView', peers: sec(false) }))).toEqual([{ type: 'ReplicationFence', token: 1 }]);
  });

  it('a peer\'s newer epoch seen while the application was still stopping here marks the copy out of date once it stopped (no new view needed)', () => {
    const d = driver('n1', {}, { epoch: 2, copyComplete: true, lastRole: 'PRIM', wasStarted: true });
    d.send({ type: 'Booted', leftover: { state: 'PRIM', status: 'Ready', capture_kept: false } });
    expect(d.m.app).toBe(true); // stop_prim of the old application runs
    // The peer took over meanwhile: it serves ALONE under a newer epoch.
    d.send({ type: 'PeerView', peers: [peer('n2', { state: 'ALONE', status: 'Ready', serving: true, epoch: 3, copyComplete: true, lastRole: 'ALONE', replicating: false })] });
    expect(d.m.persisted.copyComplete).toBe(true); // not while the application runs here
    d.settle();
    expect(d.m.app).toBe(false);
    expect(d.m.persisted.copyComplete).toBe(false);
    expect(d.effects).toContainEqual(expect.objectContaining({ type: 'Log', msg: expect.stringMatching(/writes without this copy \(epoch 2\): marked out of date/) }));
  });

  it('a former PRIM or SECOND waits for its peer: the other may have served since', () => {
    for (const lastRole of ['PRIM', 'SECOND'] as const) {
      const d = waiting('n1', { epoch: 3, copyComplete: true, lastRole });
      d.send({ type: 'PeerView', peers: [peer('n2', null, false)] }, 60_000);
      expect(d.m.state).toBe('WAIT');
    }
  });

  it('farm: FarmMembers lists the UP and Ready nodes (the bucket share\'s rule), itself included once UP', () => {
    const d = driver('n1', {}, {}, 'farm');
    d.send({ type: 'PeerView', peers: [peer('n2', { mode: 'farm', state: 'UP', status: 'Ready' }), peer('n3', { mode: 'farm', state: 'WAIT' }), peer('n4', { mode: 'farm', state: 'UP', status: 'Transient' })] });
    expect(d.effects).toContainEqual({ type: 'FarmMembers', members: ['n2'] });
    d.send({ type: 'Command', command: { kind: 'start' } });
    d.settle();
    expect(d.effects).toContainEqual({ type: 'FarmMembers', members: ['n1', 'n2'] });
    d.send({ type: 'ResourceChanged', resource: 'net', state: 'down' });
    expect(d.m.state).toBe('UP'); // not a waitOnResources resource
  });

  it('farm: the VIP is set before start_both and removed after stop_both (start, stop, wait, restart)', () => {
    const d = driver('n1', { waitOnResources: ['net'] }, {}, 'farm');
    d.send({ type: 'Command', command: { kind: 'start' } });
    d.settle();
    let t = types(d.effects);
    expect(t.indexOf('RunScript:prestart')).toBeLessThan(t.indexOf('SetVip:true'));
    expect(t.indexOf('SetVip:true')).toBeLessThan(t.indexOf('RunScript:start_both'));
    expect(d.m.vip).toBe(true);

    d.effects.length = 0;
    d.send({ type: 'ResourceChanged', resource: 'net', state: 'down' });
    d.settle();
    t = types(d.effects);
    expect(d.m.state).toBe('WAIT');
    expect(t.indexOf('RunScript:stop_both')).toBeLessThan(t.indexOf('SetVip:false'));
    d.effects.length = 0;
    d.send({ type: 'ResourceChanged', resource: 'net', state: 'up' });
    d.settle();
    t = types(d.effects);
    expect(d.m.state).toBe('UP');
    expect(t.indexOf('SetVip:true')).toBeLessThan(t.indexOf('RunScript:start_both'));

    // A restart keeps the VIP: only the application restarts.
    d.effects.length = 0;
    d.send({ type: 'Command', command: { kind: 'restart' } });
    d.settle();
    expect(types(d.effects).filter((x) => x.startsWith('SetVip') || x.startsWith('RunScript'))).toEqual(['RunScript:stop_both', 'RunScript:start_both']);

    d.effects.length = 0;
    d.send({ type: 'Command', command: { kind: 'stop' } });
    d.settle();
    t = types(d.effects);
    expect(t.indexOf('RunScript:stop_both')).toBeLessThan(t.indexOf('SetVip:false'));
    expect(t.indexOf('SetVip:false')).toBeLessThan(t.indexOf('RunScript:poststop'));
    expect(d.m.vip).toBe(false);
  });

  it('farm: a failed start_both removes the VIP it set', () => {
    const d = driver('n1', {}, {}, 'farm');
    d.send({ type: 'Command', command: { kind: 'start' } });
    d.exit(0); // prestart
    d.exit(1); // start_both
    d.settle();
    const t = types(d.effects);
    expect(t.lastIndexOf('RunScript:stop_both')).toBeLessThan(t.lastIndexOf('SetVip:false'));
    expect(t.lastIndexOf('SetVip:false')).toBeLessThan(t.lastIndexOf('SetVip:true'));
  });

  it('light: one node runs start_prim inside its VIP, restarts locally, stops with stop_prim', () => {
    const d = driver('n1', {}, {}, 'light');
    d.send({ type: 'Command', command: { kind: 'start' } });
    d.settle();
    expect(d.m.state).toBe('UP');
    d.send({ type: 'Command', command: { kind: 'restart' } });
    d.settle();
    d.send({ type: 'Command', command: { kind: 'stop' } });
    d.settle();
    expect(d.m.state).toBe('STOP');
    const t = types(d.effects).filter((x) => x.startsWith('SetVip') || x.startsWith('RunScript'));
    expect(t).toEqual(['RunScript:prestart', 'SetVip:true', 'RunScript:start_prim', 'RunScript:stop_prim', 'RunScript:start_prim', 'RunScript:stop_prim', 'SetVip:false', 'RunScript:poststop']);
    expect(types(d.effects).some((x) => x.includes('start_both'))).toBe(false);
  });
});
