import { initMembership, membershipStep, type MembershipState } from '../../../core/membership/pure/membership';
import type { HeartbeatProfile, MembershipEffect, ReceivedHeartbeat } from '../../../core/membership/pure/types';
import { HEARTBEAT_PROFILES } from '../../../core/module/pure/policy';
import type { ModuleAnnouncement } from '../../../core/module/pure/types';

const ann = (state: ModuleAnnouncement['state']): ModuleAnnouncement => ({
  module: 'app',
  mode: 'mirror',
  state,
  status: 'Ready',
  serving: state === 'PRIM',
  epoch: 1,
  copyComplete: true,
  lastRole: 'PRIM',
  tookOver: false,
  handover: false,
  wantsPrim: false,
  started: true,
});

function hb(lan: number, version: number, state: ModuleAnnouncement['state'] = 'PRIM', incarnation = 1): { type: 'HeartbeatReceived'; heartbeat: ReceivedHeartbeat } {
  return { type: 'HeartbeatReceived', heartbeat: { from: 'n2', lan, incarnation, seq: version, payload: { version, modules: [ann(state)] } } };
}

function fresh(profile: HeartbeatProfile = HEARTBEAT_PROFILES.default): MembershipState {
  return initMembership({ self: 'n1', profile, peers: [{ node: 'n2', lans: [0, 1] }], modules: [{ module: 'app', nodes: ['n1', 'n2'] }] });
}

function run(s: MembershipState, steps: [Parameters<typeof membershipStep>[1], number][]): { s: MembershipState; fx: MembershipEffect[] } {
  const fx: MembershipEffect[] = [];
  for (const [ev, t] of steps) {
    const r = membershipStep(s, ev, t);
    s = r.state;
    fx.push(...r.effects);
  }
  return { s, fx };
}

describe('membership', () => {
  it('a peer is waited for as long as it asks (its fences follow its own, slower profile), never less than our own timeout', () => {
    const heard = (version: number, lost_after_ms?: number) => ({ type: 'HeartbeatReceived' as const, heartbeat: { from: 'n2', lan: 0, incarnation: 1, seq: version, payload: { version, modules: [ann('PRIM')], ...(lost_after_ms !== undefined ? { lost_after_ms } : {}) } } });
    const fast = HEARTBEAT_PROFILES.fast.timeout_ms;
    const asked = HEARTBEAT_PROFILES.default.timeout_ms;
    let { s } = run(fresh(HEARTBEAT_PROFILES.fast), [[heard(1, asked), 0]]);
    let fx: MembershipEffect[];
    ({ s, fx } = run(s, [[{ type: 'Tick' }, fast + 100]]));
    expect(fx.filter((e) => e.type === 'PeerDown')).toEqual([]);
    ({ fx } = run(s, [[{ type: 'Tick' }, asked]]));
    expect(fx).toContainEqual({ type: 'PeerDown', node: 'n2' });
    // Asking for less than our own timeout changes nothing; a sender that asks nothing (an older one) gets our own.
    for (const ask of [100, undefined]) {
      ({ s, fx } = run(fresh(HEARTBEAT_PROFILES.fast), [[heard(1, ask), 0], [{ type: 'Tick' }, fast - 1]]));
      expect(fx.filter((e) => e.type === 'PeerDown')).toEqual([]);
      ({ fx } = run(s, [[{ type: 'Tick' }, fast]]));
      expect(fx).toContainEqual({ type: 'PeerDown', node: 'n2' });
    }
  });

  it('a peer is up when heard and lost only when silent on ALL its LANs for the timeout', () => {
    const timeout = HEARTBEAT_PROFILES.default.timeout_ms;
    let { s, fx } = run(fresh(), [[hb(0, 1), 0], [hb(1, 2), 0]]);
    expect(fx).toContainEqual({ type: 'PeerUp', node: 'n2' });
    // LAN 1 goes silent; LAN 0 keeps talking: the peer stays up.
    const steps: [Parameters<typeof membershipStep>[1], number][] = [];
    for (let t = 500; t <= 10_000; t += 500) steps.push([hb(0, 2 + t), t], [{ type: 'Tick' }, t]);
    ({ s, fx } = run(s, steps));
    expect(fx.filter((e) => e.type === 'PeerDown')).toEqual([]);
    expect(s.peers.n2?.up).toBe(true);
    // Now both are silent: lost exactly when the timeout passes.
    ({ s, fx } = run(s, [[{ type: 'Tick' }, 10_000 + timeout - 1]]));
    expect(fx.filter((e) => e.type === 'PeerDown')).toEqual([]);
    ({ fx } = run(s, [[{ type: 'Tick' }, 10_000 + timeout]]));
    expect(fx).toContainEqual({ type: 'PeerDown', node: 'n2' });
    expect(fx).toContainEqual(expect.objectContaining({ type: 'ModuleView', module: 'app', peers: [expect.objectContaining({ node: 'n2', reachable: false })] }));
  });

  it.each([
    ['default', HEARTBEAT_PROFILES.default, 3000],
    ['fast', HEARTBEAT_PROFILES.fast, 1000],
  ] as const)('profile %s detects a silent peer within its bound when ticked every period', (_n, profile, bound_ms) => {
    let s = run(fresh(profile), [[hb(0, 1), 0], [hb(1, 1), 0]]).s;
    let lost_at: number | null = null;
    for (let t = profile.period_ms; t <= 10_000 && lost_at === null; t += profile.period_ms) {
      const r = membershipStep(s, { type: 'Tick' }, t);
      s = r.state;
      if (r.effects.some((e) => e.type === 'PeerDown')) lost_at = t;
    }
    expect(lost_at).not.toBeNull();
    expect(lost_at).toBeLessThanOrEqual(bound_ms);
  });

  it('a late heartbeat on a slow LAN never rolls the peer state back', () => {
    const { s } = run(fresh(), [[hb(0, 5, 'PRIM'), 0], [hb(1, 3, 'SECOND'), 10]]);
    expect(s.peers.n2?.modules[0]?.state).toBe('PRIM');
    expect(s.peers.n2?.lastHeard_ms[1]).toBe(10); // but LAN 1 still counts as heard
  });

  it('a new incarnation resets the version; an old incarnation is ignored', () => {
    let { s } = run(fresh(), [[hb(0, 100, 'PRIM', 2), 0]]);
    ({ s } = run(s, [[hb(0, 1, 'WAIT', 3), 10]]));
    expect(s.peers.n2?.modules[0]?.state).toBe('WAIT');
    ({ s } = run(s, [[hb(0, 500, 'PRIM', 2), 20]]));
    expect(s.peers.n2?.modules[0]?.state).toBe('WAIT');
  });

  it('emits a module view only when it changes, and ignores unknown senders and LANs', () => {
    let { s, fx } = run(fresh(), [[hb(0, 1), 0]]);
    expect(fx.filter((e) => e.type === 'ModuleView')).toHaveLength(1);
    ({ s, fx } = run(s, [[hb(0, 2), 100], [{ type: 'Tick' }, 200]]));
    expect(fx.filter((e) => e.type === 'ModuleView')).toHaveLength(0);
    const stranger: ReceivedHeartbeat = { from: 'evil', lan: 0, incarnation: 1, seq: 1, payload: { version: 1, modules: [] } };
    const wrongLan: ReceivedHeartbeat = { from: 'n2', lan: 7, incarnation: 1, seq: 1, payload: { version: 9, modules: [] } };
    expect(membershipStep(s, { type: 'HeartbeatReceived', heartbeat: stranger }, 300).state).toBe(s);
    expect(membershipStep(s, { type: 'HeartbeatReceived', heartbeat: wrongLan }, 300).state).toBe(s);
  });
});
