// `hakit start|stop|prim|second|swap` wait for the end of the action (core/cli/pure/action-wait.ts),
// and `state -v` prints an unreachable peer as unreachable and only its mode's fields.
import { WAIT_STABLE_MS, actionProgress, hasMoved, targetStates, type Observed } from '../../../core/cli/pure/action-wait';
import { formatPeer, modeFields } from '../../../core/cli/commands/control';
import type { ModuleStatus } from '../../../core/control/api';

const o = (state: Observed['state'], status: Observed['status']): Observed => ({ state, status });

describe('actionProgress', () => {
  test('stop: waits through the transition, reached in STOP', () => {
    const before = o('UP', 'Ready');
    expect(actionProgress('stop', 'farm', before, o('UP', 'Ready'), false).kind).toBe('waiting');
    expect(actionProgress('stop', 'farm', before, o('UP', 'Transient'), true).kind).toBe('waiting');
    expect(actionProgress('stop', 'farm', before, o('STOP', 'NotReady'), true).kind).toBe('reached');
  });

  test('start of a farm: UP Ready; a failed start that falls back to STOP ends in another state', () => {
    const before = o('STOP', 'NotReady');
    expect(actionProgress('start', 'farm', before, o('STOP', 'NotReady'), false).kind).toBe('waiting');
    expect(actionProgress('start', 'farm', before, o('UP', 'Transient'), true).kind).toBe('waiting');
    expect(actionProgress('start', 'farm', before, o('UP', 'Ready'), true).kind).toBe('reached');
    expect(actionProgress('start', 'farm', before, o('STOP', 'NotReady'), true)).toMatchObject({ kind: 'other', why: expect.stringMatching(/STOP.*wanted UP/) });
  });

  test('start of a mirror: a WAIT that holds is the end (waiting for the peer); a short WAIT on the way to SECOND is not', () => {
    const before = o('STOP', 'NotReady');
    expect(actionProgress('start', 'mirror', before, o('WAIT', 'NotReady'), true, 500).kind).toBe('waiting');
    expect(actionProgress('start', 'mirror', before, o('WAIT', 'NotReady'), true, WAIT_STABLE_MS).kind).toBe('reached');
    expect(actionProgress('start', 'mirror', before, o('SECOND', 'Ready'), true).kind).toBe('reached');
  });

  test('start ends in UP for farm and light modules (STOP|WAIT|UP), in a role for a mirror', () => {
    expect(targetStates('start', 'farm', 'STOP')).toEqual(['UP']);
    expect(targetStates('start', 'light', 'STOP')).toEqual(['UP']);
    expect(actionProgress('start', 'light', o('STOP', 'NotReady'), o('UP', 'Ready'), true).kind).toBe('reached');
    expect(targetStates('start', 'mirror', 'STOP')).toEqual(['PRIM', 'SECOND', 'ALONE']);
  });

  test('prim/second never end in WAIT; swap ends in the other role only', () => {
    expect(actionProgress('prim', 'mirror', o('WAIT', 'NotReady'), o('WAIT', 'NotReady'), true, 10 * WAIT_STABLE_MS).kind).toBe('waiting');
    expect(actionProgress('prim', 'mirror', o('WAIT', 'NotReady'), o('ALONE', 'Ready'), true).kind).toBe('reached');
    expect(targetStates('swap', 'mirror', 'PRIM')).toEqual(['SECOND']);
    expect(actionProgress('swap', 'mirror', o('PRIM', 'Ready'), o('PRIM', 'Ready'), false).kind).toBe('waiting');
    expect(actionProgress('swap', 'mirror', o('PRIM', 'Ready'), o('SECOND', 'Ready'), true).kind).toBe('reached');
    expect(actionProgress('swap', 'mirror', o('SECOND', 'Ready'), o('PRIM', 'Ready'), true).kind).toBe('reached');
    expect(actionProgress('swap', 'mirror', o('PRIM', 'Ready'), o('STOP', 'NotReady'), true).kind).toBe('other');
  });

  test('hasMoved: a transition or another state', () => {
    expect(hasMoved(o('UP', 'Ready'), o('UP', 'Ready'))).toBe(false);
    expect(hasMoved(o('UP', 'Ready'), o('UP', 'Transient'))).toBe(true);
    expect(hasMoved(o('UP', 'Ready'), o('STOP', 'NotReady'))).toBe(true);
  });
});

describe('state -v', () => {
  const base: ModuleStatus = { module: 'm', mode: 'farm', state: 'UP', status: 'Ready', epoch: 0, copyComplete: false, failover: true, boot: false, peers: [], last_error: null };

  test('a farm shows no mirror fields; a mirror shows its epoch and copy', () => {
    expect(modeFields(base)).toBe('mode=farm boot=off');
    expect(modeFields({ ...base, mode: 'mirror', epoch: 3, copyComplete: true })).toBe('mode=mirror epoch=3 copy=complete failover=on boot=off');
  });

  test('an unreachable peer shows as unreachable with when it was last heard, never as its last state', () => {
    const line = formatPeer({ node: 'node2', reachable: false, lansUp: [], state: 'UP', status: 'Ready', silent_ms: 12_345 });
    expect(line).toBe('  peer node2        unreachable, last heard 12 s ago (it last announced UP (Ready))');
    expect(line).not.toMatch(/node2 +UP/);
    expect(formatPeer({ node: 'node3', reachable: false, lansUp: [], state: null, status: null, silent_ms: null })).toBe('  peer node3        unreachable, not heard since hakitd started');
    expect(formatPeer({ node: 'node2', reachable: true, lansUp: [0, 1], state: 'UP', status: 'Ready', silent_ms: 100 })).toBe('  peer node2        UP      (Ready)  reachable on LAN 0,1');
  });
});
