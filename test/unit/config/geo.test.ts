// Geo clusters in the config (docs/geo.md): cluster.xml <site> and <arbitrator>, userconfig
// <failover mode="manual" timer>, the wan profile, and what the daemon plans from them.
import { parseClusterText } from '../../../core/config/load';
import { acrossSites, atLeastProfile, siteOf, spansSites } from '../../../core/config/pure/sites';
import { planHeartbeats } from '../../../core/daemon/heartbeat-plan';
import { planModule } from '../../../core/daemon/module-plan';
import { initMembership, membershipStep, peerTimeout } from '../../../core/membership/pure/membership';
import { HEARTBEAT_PROFILES } from '../../../core/module/pure/policy';
import { issuesOf, mirrorXml, okConfig } from './fixtures';

const LANS = `  <lan name="default">
    <node name="node1" addr="198.18.0.11"/>
    <node name="node2" addr="198.18.0.12"/>
    <node name="node3" addr="198.18.0.13"/>
  </lan>`;

function clusterWith(extra: string) {
  return parseClusterText(`<cluster name="geo">\n${LANS}\n${extra}\n</cluster>\n`, 'cluster.xml', '/etc/hakit');
}

function geoCluster() {
  const c = clusterWith('  <site name="paris" nodes="node1 node3"/>\n  <site name="lyon" nodes="node2"/>\n  <arbitrator addr="198.18.0.200"/>\n  <arbitrator addr="198.18.0.201" port="9020"/>');
  if (!c.ok) throw new Error(JSON.stringify(c.errors));
  return c.value;
}

describe('cluster.xml sites and arbitrators', () => {
  it('parses sites and arbitrators (default port 9010)', () => {
    const c = geoCluster();
    expect(c.sites).toEqual([
      { name: 'paris', nodes: ['node1', 'node3'] },
      { name: 'lyon', nodes: ['node2'] },
    ]);
    expect(c.arbitrators).toEqual([
      { addr: '198.18.0.200', port: 9010 },
      { addr: '198.18.0.201', port: 9020 },
    ]);
    expect(siteOf(c, 'node2')).toBe('lyon');
    expect(acrossSites(c, 'node1', 'node3')).toBe(false);
    expect(acrossSites(c, 'node1', 'node2')).toBe(true);
    expect(spansSites(c, ['node1', 'node2'])).toBe(true);
    expect(spansSites(c, ['node1', 'node3'])).toBe(false);
  });

  it('without sites nothing is across sites', () => {
    const c = clusterWith('');
    if (!c.ok) throw new Error('cluster');
    expect(c.value.sites).toEqual([]);
    expect(c.value.arbitrators).toEqual([]);
    expect(acrossSites(c.value, 'node1', 'node2')).toBe(false);
  });

  it('an arbitrator configured twice: HAKIT_E_ARBITRATOR_DUPLICATE', () => {
    const c = clusterWith('  <arbitrator addr="198.18.0.200"/>\n  <arbitrator addr="198.18.0.200" port="9010"/>');
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.errors.map((e) => e.code)).toEqual(['HAKIT_E_ARBITRATOR_DUPLICATE']);
    expect(c.errors[0]?.where).toMatch(/cluster\.xml:\d+/);
  });

  it('a node in two sites, an unknown node, a site twice: coded errors', () => {
    const codes = (x: string) => {
      const c = clusterWith(x);
      return c.ok ? [] : c.errors.map((e) => e.code);
    };
    expect(codes('<site name="a" nodes="node1"/><site name="b" nodes="node1"/>')).toEqual(['HAKIT_E_CONF_DUPLICATE']);
    expect(codes('<site name="a" nodes="node9"/>')).toEqual(['HAKIT_E_CONF_UNKNOWN_NODE']);
    expect(codes('<site name="a" nodes="node1"/><site name="a" nodes="node2"/>')).toEqual(['HAKIT_E_CONF_DUPLICATE']);
  });
});

describe('userconfig <failover mode timer>', () => {
  it('manual with a timer', () => {
    const c = okConfig(mirrorXml('<failover mode="manual" timer="90s"/>'));
    expect(c.failover).toEqual({ handle_time_ms: 0, rules: [], mode: 'manual', approval_timer_ms: 90_000 });
  });

  it('default: auto, no timer', () => {
    expect(okConfig(mirrorXml('')).failover).toEqual({ handle_time_ms: 0, rules: [], mode: 'auto', approval_timer_ms: null });
  });

  it('bad mode, a timer too short, a timer without manual: coded errors', () => {
    expect(issuesOf(mirrorXml('<failover mode="ask"/>')).map((e) => e.code)).toEqual(['HAKIT_E_CONF_BAD_ENUM']);
    expect(issuesOf(mirrorXml('<failover mode="manual" timer="10ms"/>')).map((e) => e.code)).toEqual(['HAKIT_E_CONF_BAD_DURATION']);
    expect(issuesOf(mirrorXml('<failover timer="60"/>')).map((e) => e.code)).toEqual(['HAKIT_E_CONF_BAD_VALUE']);
  });

  it('the module policy carries the mode and the timer', () => {
    const plan = planModule('app', okConfig(mirrorXml('<failover mode="manual" timer="2m"/>')), geoCluster());
    expect(plan.policy.failover_mode).toBe('manual');
    expect(plan.policy.approval_timer_ms).toBe(120_000);
  });
});

describe('heartbeats between sites', () => {
  it('a module on two sites gets at least the wan profile; one site keeps its own', () => {
    const c = geoCluster();
    const across = planModule('app', okConfig(mirrorXml('', 'nodes="node1 node2"')), c);
    expect(across.policy.heartbeat).toEqual(expect.objectContaining({ period_ms: 1000, timeout_ms: 5000 }));
    const local = planModule('app', okConfig(mirrorXml('', 'nodes="node1 node3"')), c);
    expect(local.policy.heartbeat).toEqual(HEARTBEAT_PROFILES.default);
    expect(okConfig(mirrorXml('').replace('<heart>', '<heart profile="wan">')).heart?.timeout_ms).toBe(5000);
  });

  it('atLeastProfile keeps a slower profile', () => {
    const slow = { name: 'x', period_ms: 2000, timeout_ms: 9000 };
    expect(atLeastProfile(slow, HEARTBEAT_PROFILES.wan)).toBe(slow);
  });

  it('membership times a peer on another site with the wan timeout', () => {
    const c = geoCluster();
    const plan = planHeartbeats('node1', c, [planModule('app', okConfig(mirrorXml('', 'nodes="node1 node3"')), c)]);
    const cfg = plan.membership;
    expect(peerTimeout(cfg, 'node3')).toBe(HEARTBEAT_PROFILES.default.timeout_ms);
    expect(peerTimeout(cfg, 'node2')).toBe(HEARTBEAT_PROFILES.wan.timeout_ms);
    // node2 (other site) and node3 (same site) both fall silent: node3 is lost first.
    let st = initMembership(cfg);
    const hb = (node: string, now: number) => {
      const r = membershipStep(st, { type: 'HeartbeatReceived', heartbeat: { from: node, lan: 0, incarnation: 1, seq: now, payload: { version: 1, modules: [] } } }, now);
      st = r.state;
    };
    hb('node2', 1000);
    hb('node3', 1000);
    const tick = (now: number) => {
      const r = membershipStep(st, { type: 'Tick' }, now);
      st = r.state;
      return r.effects;
    };
    const at4 = tick(1000 + HEARTBEAT_PROFILES.default.timeout_ms + 100);
    expect(at4).toContainEqual({ type: 'PeerDown', node: 'node3' });
    expect(at4).not.toContainEqual({ type: 'PeerDown', node: 'node2' });
    expect(tick(1000 + HEARTBEAT_PROFILES.wan.timeout_ms + 100)).toContainEqual({ type: 'PeerDown', node: 'node2' });
  });
});
