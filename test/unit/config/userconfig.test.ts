// Typed values, defaults and the checks within one userconfig.xml.
import { parseAttr } from '../../../core/config/pure/attr-types';
import { crossCheckCluster, moduleNodes, replicationLan } from '../../../core/config/pure/cross-check';
import { cluster, farmXml, issuesOf, mirrorXml, okConfig } from './fixtures';

describe('defaults and types', () => {
  const c = okConfig(mirrorXml(''));

  test('service defaults follow SafeKit', () => {
    expect(c.service).toEqual({ mode: 'mirror', boot: 'off', defaultprim: null, failover: true, maxloop: 3, loop_interval_ms: 24 * 3600_000, nodes: ['node1', 'node2'] });
  });

  test('heart profile default is 500 ms / 2.5 s, fast is 150 ms / 800 ms, both overridable', () => {
    expect(c.heart).toMatchObject({ profile: 'default', period_ms: 500, timeout_ms: 2_500 });
    const fast = okConfig('<safe><service mode="mirror" nodes="a b"><heart profile="fast" pulse="200"><heartbeat name="x" ident="flow"/></heart></service></safe>');
    expect(fast.heart).toMatchObject({ profile: 'fast', period_ms: 200, timeout_ms: 800, flowLan: 'x' });
  });

  test('the config is deep-frozen', () => {
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.heart?.heartbeats[0])).toBe(true);
    expect(() => {
      (c.service as { maxloop: number }).maxloop = 9;
    }).toThrow();
  });

  test('user script timeouts default to 300 s even without <user>', () => {
    expect(c.user).toEqual({ start_timeout_ms: 300_000, nice_stop_timeout_ms: 300_000, force_stop_timeout_ms: 300_000, logging: 'userlog', vars: [] });
  });
});

test('macros expand in every attribute; %% is a literal %', () => {
  const c = okConfig(`<safe><macro name="D" value="/srv/x"/><macro name="P" value="50"/>
    <service mode="mirror" nodes="node1 node2"><heart><heartbeat name="default"/></heart>
    <rfs><replicated dir="%D%/data"/></rfs><user><var name="PCT" value="%P%%%"/></user></service></safe>`);
  expect(c.rfs?.replicated[0]?.dir).toBe('/srv/x/data');
  expect(c.user.vars).toEqual([{ name: 'PCT', value: '50%' }]);
  expect(c.macros).toEqual({ D: '/srv/x', P: '50' });
});

test('rfs options and notreplicated with a leading ! (replicate only those)', () => {
  const c = okConfig(mirrorXml(`<rfs async="second" mode="watch" bandwidth="10M" blocksize="128K" sync_secondary="on">
    <replicated dir="/srv/a/"><notreplicated path="cache"/><notreplicated regexpath="!\\.db$"/></replicated>
    <replicated dir="/srv/b" mode="sync"/></rfs>`));
  expect(c.rfs).toMatchObject({ async: 'second', capture: 'watch', bandwidth_bytes_per_s: 10 * 1024 ** 2, block_size_bytes: 128 * 1024, sync_secondary: true, ack_timeout_ms: 5_000 });
  expect(c.rfs?.replicated[0]).toEqual({ dir: '/srv/a', capture: 'watch', excluded: [{ path: 'cache', regexpath: null, invert: false }, { path: null, regexpath: '\\.db$', invert: true }] });
  expect(c.rfs?.replicated[1]?.capture).toBe('sync');
  expect(c.rfs?.encrypt).toBe(false); // frames authenticated, not encrypted, unless asked
  expect(okConfig(mirrorXml('<rfs encrypt="on"><replicated dir="/srv/a"/></rfs>')).rfs?.encrypt).toBe(true);
  expect(c.rfs?.writeback).toBe(false); // every write() queued to SECOND before it returns, unless asked
  expect(okConfig(mirrorXml('<rfs writeback="on"><replicated dir="/srv/a"/></rfs>')).rfs?.writeback).toBe(true);
});

test('farm: rules in <vip> and in SafeKit <loadbalancing_list>, power, virtual MAC', () => {
  const c = okConfig(farmXml(`<farm><lan name="default"><node name="node1" power="2"/><node name="node2"/></lan></farm>
    <vip><interface_list><interface name="eth0"><virtual_interface><virtual_addr addr="198.18.0.151"/></virtual_interface></interface></interface_list>
    <rule proto="udp" port="9082" filter="on_port"/>
    <loadbalancing_list><group name="web"><cluster><host name="198.18.0.151"/></cluster><rule port="8000-8010"/></group></loadbalancing_list></vip>`));
  expect(c.farm).toEqual({ lans: ['default'], nodes: [{ name: 'node1', power: 2 }, { name: 'node2', power: 1 }] });
  expect(c.service.nodes).toEqual(['node1', 'node2']);
  expect(c.vip?.rules).toEqual([
    { proto: 'udp', port: { first: 9082, last: 9082 }, filter: 'on_port', vips: ['198.18.0.151'] },
    { proto: 'tcp', port: { first: 8000, last: 8010 }, filter: 'on_addr', vips: ['198.18.0.151'] },
  ]);
  expect(c.vip?.interfaces[0]?.vmac).toEqual({ type: 'vmac_directed', mac: '01:00:5e:12:00:97' });
  expect(crossCheckCluster(c, cluster(), 'u')).toEqual([]);
});

test('farm: a virtual_addr that no <group> rule names is refused (it would have no filter on any node)', () => {
  const vip = (groups: string, extra = '') =>
    farmXml(`<vip><interface_list><interface name="eth0"><virtual_interface><virtual_addr addr="198.18.0.151"/>
    <virtual_addr addr="198.18.0.152"/></virtual_interface></interface></interface_list>${extra}
    <loadbalancing_list>${groups}</loadbalancing_list></vip>`);
  const group = (hosts: string[]) => `<group name="g${hosts.length}${hosts[0]!.slice(-1)}"><cluster>${hosts.map((h) => `<host name="${h}"/>`).join('')}</cluster><rule port="80"/></group>`;
  const issues = issuesOf(vip(group(['198.18.0.151'])));
  expect(issues.map((i) => i.code)).toEqual(['HAKIT_E_CONF_FARM_NO_RULE']);
  expect(issues[0]!.where).toMatch(/:4 .*198\.18\.0\.152/);
  expect(issues[0]!.message).toContain('virtual_addr 198.18.0.152');
  // Covered by a second group, or by the short <vip><rule> form (every VIP): fine.
  expect(issuesOf(vip(group(['198.18.0.151']) + group(['198.18.0.152'])))).toEqual([]);
  expect(issuesOf(vip(group(['198.18.0.151']), '<rule proto="udp" port="53"/>'))).toEqual([]);
});

test('checkers, splitbrain, failover rules and errd', () => {
  const c = okConfig(mirrorXml(`<errd><proc name="node" atleast="1" atmost="2" class="prim"/></errd>
    <check><tcp ident="web"><to addr="198.18.0.150" port="80" rise="2"/></tcp><ping ident="gw" when="both"><to addr="198.18.0.1"/></ping>
    <custom ident="c1" exec="check_app" arg="-q  --fast"/><module name="db"/>
    <splitbrain exec="tcp" arg="198.18.0.200:22"/></check>
    <failover handle_time="5s"><rule name="r" when="gw" action="stopstart"/></failover>`));
  expect(c.checkers.map((k) => `${k.kind}:${k.ident}`)).toEqual(['tcp:web', 'ping:gw', 'custom:c1', 'module:module_db']);
  expect(c.checkers[0]).toMatchObject({ action: 'restart', targets: [{ addr: '198.18.0.150', port: 80, interval_ms: 10_000, timeout_ms: 5_000, rise: 2, fall: 3 }] });
  expect(c.checkers[2]).toMatchObject({ exec: 'check_app', args: ['-q', '--fast'] });
  expect(c.splitbrain).toEqual({ ident: 'witness', exec: 'tcp', addr: '198.18.0.200', port: 22, interval_ms: 10_000, timeout_ms: 5_000 });
  expect(c.failover).toEqual({ handle_time_ms: 5000, rules: [{ name: 'r', when: 'gw', action: 'stopstart' }], mode: 'auto', approval_timer_ms: null });
  expect(c.scripts.required).toEqual(['start_prim', 'stop_prim', 'check_app']);
  expect(c.errd?.procs[0]).toMatchObject({ atleast: 1, atmost: 2, action: 'restart' });
});

test('every issue is collected, not just the first', () => {
  const issues = issuesOf(mirrorXml('<rfs bandwidth="x"><replicated dir="rel"/></rfs><user><var name="HAKIT_X" value="1"/></user>', 'maxloop="-1" boot="maybe"'));
  expect(issues.map((i) => i.code)).toEqual(['HAKIT_E_CONF_BAD_NUMBER', 'HAKIT_E_CONF_BAD_ENUM', 'HAKIT_E_CONF_BAD_SIZE', 'HAKIT_E_CONF_BAD_PATH']);
});

test('cluster.xml roles and module node resolution', () => {
  const cl = cluster();
  expect(cl.replicationLan).toBe('flow');
  expect(cl.keyfile).toBe('/etc/hakit/cluster.key');
  expect(cl.nodes[0]).toEqual({ name: 'node1', addrs: { default: { addr: '198.18.0.11', port: 9010 }, flow: { addr: '198.18.1.11', port: 9010 } } });
  const c = okConfig(mirrorXml(''));
  expect(moduleNodes(c, cl)).toEqual(['node1', 'node2']);
  expect(replicationLan(c, cl)).toBe('flow');
});

test.each([
  ['ip', '::1', true], ['ip', 'fe80::1:2', true], ['ip', '::ffff:198.18.0.1', true], ['ip', '1::2::3', false], ['ip', '198.18.0.256', false], ['ip', '01.2.3.4', false],
  ['portrange', '8000-8010', true], ['portrange', '10-9', false], ['duration', '1500', true], ['size', '1G', true], ['abspath', '/a/../b', false], ['witness', '[fe80::1]:22', true],
] as const)('%s %s → %s', (kind, raw, good) => {
  const type = kind === 'duration' ? { kind, bareUnit: 'ms', min_ms: 0, max_ms: 1e9 } as const : kind === 'size' ? { kind, min_bytes: 0, max_bytes: 2 ** 40 } as const : { kind } as const;
  expect(parseAttr(type, raw).ok).toBe(good);
});

test('a heartbeat timeout that leaves no room for the fencing leases is HAKIT_E_FENCE_TIMING at the <heart> line', () => {
  // pulse 100 ms, timeout 300 ms: 300 - 100 - 100 (margin) = 100 ms of bucket lease, below the 150 ms minimum.
  const issues = issuesOf('<safe><service mode="mirror" nodes="node1 node2">\n<heart pulse="100" timeout="300"><heartbeat name="default"/></heart></service></safe>');
  expect(issues).toContainEqual(expect.objectContaining({ code: 'HAKIT_E_FENCE_TIMING', where: expect.stringMatching(/:2\b.*timeout/) }));
  expect(issues.find((i) => i.code === 'HAKIT_E_FENCE_TIMING')?.message).toMatch(/raise the timeout to 350 ms or more/);
  // The profiles themselves pass.
  expect(issuesOf(mirrorXml('')).filter((i) => i.code === 'HAKIT_E_FENCE_TIMING')).toEqual([]);
  expect(issuesOf('<safe><service mode="mirror" nodes="node1 node2"><heart profile="fast"><heartbeat name="default"/></heart></service></safe>').filter((i) => i.code === 'HAKIT_E_FENCE_TIMING')).toEqual([]);
});
