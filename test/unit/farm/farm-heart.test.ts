// Issue 7 / W3b item 2: a farm module may choose its heartbeat profile (and LANs) with <heart>,
// validated as for mirror; hakitd's heartbeat plan then uses it for the farm heartbeats.
import { crossCheckCluster } from '../../../core/config/pure/cross-check';
import { planHeartbeats } from '../../../core/daemon/heartbeat-plan';
import { heartbeatProfile, planModule } from '../../../core/daemon/module-plan';
import { cluster, farmXml, issuesOf, okConfig } from '../config/fixtures';

const VIP = '<vip><interface_list><interface><virtual_interface><virtual_addr addr="198.18.0.151"/></virtual_interface></interface></interface_list><rule port="80"/></vip>';

test('a farm without <heart> keeps the default profile on every cluster LAN', () => {
  const c = okConfig(farmXml());
  expect(c.heart).toBeNull();
  expect(heartbeatProfile(c)).toMatchObject({ name: 'default', period_ms: 500, timeout_ms: 2_500 });
  expect(planModule('web', c, cluster()).lans).toEqual(['default', 'flow']);
});

test('<heart profile="fast"> in a farm: fast heartbeats on its LANs, used by the heartbeat plan', () => {
  const c = okConfig(farmXml(`<heart profile="fast"><heartbeat name="default"/></heart>\n${VIP}`));
  expect(c.heart).toMatchObject({ profile: 'fast', period_ms: 150, timeout_ms: 800 });
  expect(crossCheckCluster(c, cluster(), 'userconfig.xml')).toEqual([]);
  const plan = planModule('web', c, cluster());
  expect(plan.policy.heartbeat).toMatchObject({ name: 'fast', period_ms: 150, timeout_ms: 800 });
  expect(plan.lans).toEqual(['default']);
  const hb = planHeartbeats('node1', cluster(), [plan]);
  expect(hb.membership.profile).toMatchObject({ name: 'fast', timeout_ms: 800 });
  expect(hb.lans.map((l) => l.index)).toEqual([0]);
});

test('a farm <heart> is validated as for mirror', () => {
  const codes = (inner: string) => issuesOf(farmXml(`${inner}\n${VIP}`)).map((i) => i.code);
  expect(codes('<heart profile="fast" pulse="300ms" timeout="500ms"><heartbeat name="default"/></heart>')).toContain('HAKIT_E_CONF_BAD_DURATION');
  expect(codes('<heart profile="fast"></heart>')).toContain('HAKIT_E_CONF_MISSING_ELEMENT');
  expect(codes('<heart profile="turbo"><heartbeat name="default"/></heart>').length).toBeGreaterThan(0);
  expect(codes('<heart><heartbeat name="default"/><heartbeat name="default"/></heart>')).toContain('HAKIT_E_CONF_DUPLICATE');
  const unknown = okConfig(farmXml(`<heart><heartbeat name="backup"/></heart>\n${VIP}`));
  expect(crossCheckCluster(unknown, cluster(), 'userconfig.xml').map((i) => i.code)).toContain('HAKIT_E_CONF_UNKNOWN_LAN');
});
