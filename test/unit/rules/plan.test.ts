// From userconfig.xml to resources, rules and checks.
import { planMonitor, waitResourceNames } from '../../../core/rules/pure/plan';
import { mirrorXml, okConfig, farmXml } from '../config/fixtures';

test('every checker becomes one class.ident resource with its role, action and targets; failover rules override', () => {
  const cfg = okConfig(
    mirrorXml(`<errd polltimer="1s"><proc name="httpd" atleast="2" action="restart" class="prim"/><proc name="httpd" argregex="worker"/></errd>
<check>
  <tcp ident="web" when="prim"><to addr="198.18.0.10" port="80" interval="2s" timeout="1s"/></tcp>
  <ping ident="gw"><to addr="198.18.0.1"/><to addr="198.18.0.2"/></ping>
  <custom ident="app" exec="check.sh" arg="-q x" when="both" interval="3s" timeout="2s" rise="2" fall="1"/>
  <splitbrain arg="198.18.0.202"/>
</check>
<failover handle_time="5s"><rule name="web_fails" when="web" action="stopstart"/></failover>`),
  );
  const p = planMonitor(cfg, 'm');
  expect(p.rules.resources.map((r) => `${r.name}:${r.role}:${r.action}:${r.rule ?? '-'}`)).toEqual([
    'errd.httpd:prim:restart:-',
    'errd.httpd_2:prim:restart:-',
    'tcp.web:prim:stopstart:web_fails',
    'ping.gw:prim:wait:-',
    'custom.app:both:wait:-',
    'splitbrain.witness:always:none:-',
  ]);
  expect(p.rules).toMatchObject({ handle_time_ms: 5_000, maxloop: 3, waitVia: 'stop' });
  const byName = Object.fromEntries(p.checks.map((c) => [c.resource, c]));
  expect(byName['errd.httpd']?.targets[0]).toMatchObject({ what: { kind: 'proc', name: 'httpd', atleast: 2, atmost: -1 }, timing: { interval_ms: 1_000, rise: 1, fall: 1 } });
  expect(byName['tcp.web']?.targets[0]).toMatchObject({ label: '198.18.0.10:80', timing: { interval_ms: 2_000, timeout_ms: 1_000, rise: 1, fall: 3 } });
  expect(byName['ping.gw']).toMatchObject({ downWhen: 'all' });
  expect(byName['custom.app']?.targets[0]).toMatchObject({ what: { kind: 'custom', exec: 'check.sh', args: ['-q', 'x'] }, timing: { interval_ms: 3_000, timeout_ms: 2_000, rise: 2, fall: 1 } });
  expect(waitResourceNames(p)).toEqual(['ping.gw', 'custom.app']);
});

test('farm: wait goes through the machine; VIP interface and address checks when check is on', () => {
  const cfg = okConfig(farmXml('<vip><interface_list><interface check="on"><virtual_interface><virtual_addr addr="198.18.0.151"/></virtual_interface></interface></interface_list><rule port="80"/></vip>'));
  const p = planMonitor(cfg, 'f', { vipIfnames: ['eth0'] });
  expect(p.rules.waitVia).toBe('machine');
  const names = p.rules.resources.map((r) => `${r.name}:${r.action}`);
  expect(names).toContain('interface.eth0:stopstart');
});
