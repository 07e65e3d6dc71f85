import { isHakitError } from '../../../core/errors/catalogue';
import {
  checkOwnedBuckets,
  defaultVirtualMac,
  ownedDifference,
  parseOwnedSet,
  renderFilterScript,
  renderOwnedUpdate,
  renderRemoveScript,
  validateFarmFilter,
  type FarmFilterConfig,
  type FarmRule,
  type ValidFarmFilter,
} from '../../../filters/pure';

const base: FarmFilterConfig = {
  module: 'web',
  interface: 'eth0',
  hash_seed: 0x1234,
  groups: [
    {
      vips: ['198.18.70.100'],
      rules: [
        { proto: 'tcp', ports: [80, 443, { from: 8000, to: 8080 }], balance: 'on_port' },
        { proto: 'udp', ports: [53], balance: 'on_addr' },
      ],
    },
  ],
};

/** The base config with one group of `rules` (and optionally other VIPs). */
function withRules(rules: FarmRule[], vips = ['198.18.70.100']): FarmFilterConfig {
  return { ...base, groups: [{ vips, rules }] };
}

function valid(config: FarmFilterConfig = base): ValidFarmFilter {
  const r = validateFarmFilter(config);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.filter;
}

function codes(config: FarmFilterConfig): string[] {
  const r = validateFarmFilter(config);
  return r.ok ? [] : r.errors.map((e) => e.code);
}

describe('farm filter validation', () => {
  test('a good config is defaulted and frozen', () => {
    const f = valid({ ...base, hash_seed: undefined });
    expect(f.table).toBe('hakit_web');
    expect(f.virtual_mac).toBe('01:00:5e:12:46:64');
    expect(f.hash_seed).toBe(valid({ ...base, hash_seed: undefined }).hash_seed);
    expect(Object.isFrozen(f.groups)).toBe(true);
    expect(f.groups[0]!.rules[0]!.ports).toEqual([
      { from: 80, to: 80 },
      { from: 443, to: 443 },
      { from: 8000, to: 8080 },
    ]);
  });

  test('default virtual MAC maps the low 23 bits of the VIP', () => {
    expect(defaultVirtualMac([198, 19, 255, 1])).toBe('01:00:5e:13:ff:01');
    expect(defaultVirtualMac([10, 200, 1, 2])).toBe('01:00:5e:48:01:02');
  });

  test('overlapping rules are refused and both rules are named', () => {
    const r = validateFarmFilter(
      withRules([
        { proto: 'tcp', ports: [{ from: 8000, to: 8100 }], balance: 'on_port', where: 'userconfig.xml:10' },
        { proto: 'tcp', ports: [8080], balance: 'on_addr', where: 'userconfig.xml:11' },
        { proto: 'udp', ports: [8080], balance: 'on_addr' },
      ]),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.code)).toEqual(['HAKIT_E_FILTER_OVERLAP']);
    expect(r.errors[0]!.message).toMatch(/userconfig.xml:10.*userconfig.xml:11/);
  });

  test('a port listed twice in one rule is an overlap too', () => {
    expect(codes(withRules([{ proto: 'tcp', ports: [80, 80], balance: 'on_port' }]))).toEqual(['HAKIT_E_FILTER_OVERLAP']);
  });

  test('two groups may use the same port on different VIPs; one VIP in two groups is refused', () => {
    const rules: FarmRule[] = [{ proto: 'tcp', ports: [80], balance: 'on_addr' }];
    const two = { ...base, groups: [{ vips: ['198.18.70.100', '198.18.70.101'], rules }, { vips: ['198.18.70.102'], rules }] };
    const f = valid(two);
    expect(f.vips).toEqual(['198.18.70.100', '198.18.70.101', '198.18.70.102']);
    expect(renderFilterScript(f, [])).toContain('ip daddr { 198.18.70.100, 198.18.70.101 } tcp dport { 80 } jhash ip saddr mod 256');
    expect(codes({ ...base, groups: [{ vips: ['198.18.70.100'], rules }, { vips: ['198.18.70.100'], rules }] })).toEqual(['HAKIT_E_FILTER_VIP']);
  });

  test.each([
    [0],
    [65536],
    [{ from: 100, to: 99 }],
    [{ from: 1, to: 70000 }],
    [1.5],
  ])('port %j is out of bounds', (port) => {
    expect(codes(withRules([{ proto: 'tcp', ports: [port], balance: 'on_port' }]))).toEqual(['HAKIT_E_FILTER_PORT_RANGE']);
  });

  test('bad VIP, MAC, interface, module name, protocol, empty ports', () => {
    expect(codes(withRules(base.groups[0]!.rules.slice(), ['198.18.1']))).toEqual(['HAKIT_E_FILTER_VIP']);
    expect(codes(withRules(base.groups[0]!.rules.slice(), ['224.0.0.1']))).toEqual(['HAKIT_E_FILTER_VIP']);
    expect(codes({ ...base, groups: [] })).toEqual(['HAKIT_E_FILTER_RULE']);
    expect(codes({ ...base, virtual_mac: '02:00:00:00:00:01' })).toEqual(['HAKIT_E_FILTER_MAC']);
    expect(codes({ ...base, interface: 'eth0"; drop' })).toEqual(['HAKIT_E_FILTER_INTERFACE']);
    expect(codes({ ...base, module: 'web farm' })).toEqual(['HAKIT_E_FILTER_MODULE_NAME']);
    expect(codes(withRules([{ proto: 'sctp' as 'tcp', ports: [1], balance: 'on_port' }]))).toEqual(['HAKIT_E_FILTER_RULE']);
    expect(codes(withRules([{ proto: 'tcp', ports: [], balance: 'on_port' }]))).toEqual(['HAKIT_E_FILTER_RULE']);
    expect(codes(withRules([]))).toEqual(['HAKIT_E_FILTER_RULE']);
  });

  test('all problems are reported at once', () => {
    expect(codes({ ...withRules([{ proto: 'tcp', ports: [0], balance: 'on_port' }], ['x']), interface: '' }).sort()).toEqual([
      'HAKIT_E_FILTER_INTERFACE',
      'HAKIT_E_FILTER_PORT_RANGE',
      'HAKIT_E_FILTER_VIP',
    ]);
  });
});

describe('farm filter rendering', () => {
  test('the full script (golden)', () => {
    expect(renderFilterScript(valid(), [0, 3, 7])).toBe(
      [
        '# hakit farm filter of module web (generated)',
        'table netdev hakit_web',
        'delete table netdev hakit_web',
        'table arp hakit_web',
        'delete table arp hakit_web',
        'table ip hakit_web',
        'delete table ip hakit_web',
        'table netdev hakit_web {',
        '  chain ingress {',
        '    type filter hook ingress device "eth0" priority -500; policy accept;',
        '    meta protocol != ip accept',
        '    ip daddr != { 198.18.70.100 } accept',
        '    meta pkttype set host',
        '  }',
        '}',
        'table arp hakit_web {',
        '  chain output {',
        '    type filter hook output priority 0; policy accept;',
        '    arp saddr ip { 198.18.70.100 } arp saddr ether set 01:00:5e:12:46:64',
        '  }',
        '}',
        'table ip hakit_web {',
        '  set owned { typeof numgen inc mod 256; elements = { 0, 3, 7 }; }',
        '  chain prerouting {',
        '    type filter hook prerouting priority -150; policy accept;',
        '    iifname != "eth0" accept',
        '    ip daddr != { 198.18.70.100 } accept',
        '    meta l4proto tcp ct state established,related accept',
        '    meta l4proto icmp ct state related accept',
        '    meta l4proto tcp tcp flags & (fin|syn|rst|ack) != syn drop',
        '    ip daddr { 198.18.70.100 } tcp dport { 80, 443, 8000-8080 } jhash ip saddr . tcp sport mod 256 seed 0x00001234 @owned accept',
        '    ip daddr { 198.18.70.100 } tcp dport { 80, 443, 8000-8080 } drop',
        '    ip daddr { 198.18.70.100 } udp dport { 53 } jhash ip saddr mod 256 seed 0x00001234 @owned accept',
        '    ip daddr { 198.18.70.100 } udp dport { 53 } drop',
        '    jhash ip daddr mod 1 seed 0x0 @owned accept',
        '    drop',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  test('only TCP bypasses @owned through conntrack: UDP and ICMP echo always follow the buckets', () => {
    const lines = renderFilterScript(valid(), [0]).split('\n').map((l) => l.trim());
    const ct = lines.filter((l) => l.includes('ct state'));
    // A tracked UDP flow (or ping) must not stay with its old owner after its bucket moved.
    expect(ct).toEqual(['meta l4proto tcp ct state established,related accept', 'meta l4proto icmp ct state related accept']);
    expect(ct.some((l) => /established/.test(l) && !l.startsWith('meta l4proto tcp '))).toBe(false);
    // The bypass comes before the bucket rules, the ICMP-error rule never names `established`.
    const firstBucketRule = lines.findIndex((l) => l.includes('@owned'));
    expect(lines.indexOf(ct[0]!)).toBeLessThan(firstBucketRule);
    expect(lines.indexOf(ct[1]!)).toBeLessThan(firstBucketRule);
  });

  test('an empty owned set renders without elements', () => {
    expect(renderFilterScript(valid(), [])).toContain('set owned { typeof numgen inc mod 256; }');
    expect(renderOwnedUpdate(valid(), [])).toBe('flush set ip hakit_web owned\n');
  });

  test('ownership update is one flush + one add (desired state, idempotent)', () => {
    expect(renderOwnedUpdate(valid(), [9, 1, 4])).toBe('flush set ip hakit_web owned\nadd element ip hakit_web owned { 1, 4, 9 }\n');
  });

  test('remove script deletes the three tables even when absent', () => {
    expect(renderRemoveScript('web').split('\n').filter(Boolean)).toHaveLength(6);
  });

  test('bad bucket lists are coded errors', () => {
    for (const bad of [[256], [-1], [1, 1], [0.5]]) {
      try {
        checkOwnedBuckets(bad, 'here');
        throw new Error('accepted');
      } catch (e) {
        expect(isHakitError(e) && e.code).toBe('HAKIT_E_FILTER_BUCKET');
      }
    }
  });
});

describe('read-back', () => {
  test('parses nft -j list set output, empty and with counters', () => {
    const doc = (elem?: unknown[]) =>
      JSON.stringify({ nftables: [{ metainfo: { version: '1.0.6' } }, { set: { family: 'ip', name: 'owned', table: 'hakit_web', type: 'integer', ...(elem ? { elem } : {}) } }] });
    expect(parseOwnedSet(doc([7, 0, 3]), 'w')).toEqual([0, 3, 7]);
    expect(parseOwnedSet(doc(), 'w')).toEqual([]);
    expect(parseOwnedSet(doc([{ elem: { val: 5, counter: { packets: 1 } } }]), 'w')).toEqual([5]);
    expect(() => parseOwnedSet('nope', 'w')).toThrow(/not JSON/);
    expect(() => parseOwnedSet(doc(['x']), 'w')).toThrow(/not a bucket/);
  });

  test('difference names missing and unexpected buckets', () => {
    expect(ownedDifference([1, 2], [1, 2])).toBeUndefined();
    expect(ownedDifference([1, 2], [2, 3])).toBe('missing buckets [1], unexpected [3]');
  });
});
