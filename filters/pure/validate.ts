// Checks and defaults a farm filter description once (docs/architecture.md, rule 10). All problems are
// reported together, each as a coded error that names where it came from.
import { HakitError } from '../../core/errors/catalogue';
import {
  INTERFACE_NAME_MAX_CHARS,
  LEASE_MAX_MS,
  LEASE_MIN_MS,
  MODULE_NAME_MAX_CHARS,
  PORTS_PER_RULE_MAX,
  PORT_MAX,
  PORT_MIN,
  RULES_MAX,
  TABLE_PREFIX,
  VIPS_MAX,
} from './limits';
import type { FarmFilterConfig, FarmGroup, FarmRule, PortInterval, ValidFarmFilter, ValidFarmGroup, ValidFarmRule } from './types';

export type ValidationResult = { readonly ok: true; readonly filter: ValidFarmFilter } | { readonly ok: false; readonly errors: readonly HakitError[] };

const MODULE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const INTERFACE_NAME = /^[A-Za-z0-9_.:-]+$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Parses dotted-quad IPv4; undefined when malformed. */
export function parseIpv4(text: string): [number, number, number, number] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p))) return undefined;
  const octets = parts.map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return [octets[0]!, octets[1]!, octets[2]!, octets[3]!];
}

/** 01:00:5e followed by the low 23 bits of the address, as IPv4 multicast MACs are formed. */
export function defaultVirtualMac(vip: readonly [number, number, number, number]): string {
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  return `01:00:5e:${hex(vip[1] & 0x7f)}:${hex(vip[2])}:${hex(vip[3])}`;
}

/** FNV-1a of the module name: the same jhash seed on every node without configuration. */
export function defaultHashSeed(module: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < module.length; i++) {
    h ^= module.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function at(where: string | undefined, fallback: string): string {
  return where ?? fallback;
}

type Ipv4 = [number, number, number, number];

function checkVip(text: string, where: string, errors: HakitError[]): Ipv4 | undefined {
  const vip = parseIpv4(text);
  if (!vip) {
    errors.push(new HakitError('HAKIT_E_FILTER_VIP', `"${text}" is not an IPv4 address`, where));
    return undefined;
  }
  if (vip[0] === 0 || vip[0] === 127 || vip[0] >= 224) {
    errors.push(new HakitError('HAKIT_E_FILTER_VIP', `${text} is not a unicast address a farm can serve`, where));
    return undefined;
  }
  return vip;
}

function portInterval(spec: FarmRule['ports'][number], rule: string, errors: HakitError[]): PortInterval | undefined {
  const [from, to] = typeof spec === 'number' ? [spec, spec] : [spec.from, spec.to];
  const ok = Number.isInteger(from) && Number.isInteger(to) && from >= PORT_MIN && to <= PORT_MAX && from <= to;
  if (!ok) {
    const text = typeof spec === 'number' ? `port ${spec}` : `port range ${spec.from}-${spec.to}`;
    errors.push(new HakitError('HAKIT_E_FILTER_PORT_RANGE', `${text} is outside ${PORT_MIN}..${PORT_MAX} or reversed`, rule));
    return undefined;
  }
  return { from, to };
}

function checkRule(rule: FarmRule, index: number, module: string, errors: HakitError[]): ValidFarmRule | undefined {
  const where = at(rule.where, `module ${module}: rule #${index + 1}`);
  const before = errors.length;
  if (rule.proto !== 'tcp' && rule.proto !== 'udp') {
    errors.push(new HakitError('HAKIT_E_FILTER_RULE', `protocol "${String(rule.proto)}" is not tcp or udp`, where));
  }
  if (rule.balance !== 'on_addr' && rule.balance !== 'on_port') {
    errors.push(new HakitError('HAKIT_E_FILTER_RULE', `balance "${String(rule.balance)}" is not on_addr or on_port`, where));
  }
  if (rule.ports.length === 0 || rule.ports.length > PORTS_PER_RULE_MAX) {
    errors.push(new HakitError('HAKIT_E_FILTER_RULE', `a rule needs 1..${PORTS_PER_RULE_MAX} ports or ranges, it has ${rule.ports.length}`, where));
  }
  const ports = rule.ports.map((p) => portInterval(p, where, errors)).filter((p): p is PortInterval => p !== undefined);
  if (errors.length > before) return undefined;
  return { proto: rule.proto, balance: rule.balance, ports: [...ports].sort((a, b) => a.from - b.from) };
}

function portText(p: PortInterval): string {
  return p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`;
}

/** Two rules (or one rule twice) covering one protocol/port of a group would be ambiguous. */
function checkOverlaps(module: string, group: FarmGroup, rules: readonly (ValidFarmRule | undefined)[], errors: HakitError[]): void {
  for (const proto of ['tcp', 'udp'] as const) {
    const items = rules.flatMap((r, index) => (r && r.proto === proto ? r.ports.map((p) => ({ p, index })) : []));
    items.sort((a, b) => a.p.from - b.p.from || a.p.to - b.p.to);
    for (let i = 1; i < items.length; i++) {
      const prev = items[i - 1]!;
      const cur = items[i]!;
      if (cur.p.from > prev.p.to) continue;
      const whereA = at(group.rules[prev.index]?.where, `rule #${prev.index + 1}`);
      const whereB = at(group.rules[cur.index]?.where, `rule #${cur.index + 1}`);
      const msg = `${proto} ${portText(prev.p)} (${whereA}) overlaps ${proto} ${portText(cur.p)} (${whereB})`;
      errors.push(new HakitError('HAKIT_E_FILTER_OVERLAP', msg, at(group.where, `module ${module}`)));
    }
  }
}

function checkGroup(config: FarmFilterConfig, group: FarmGroup, index: number, seen: Set<string>, errors: HakitError[]): ValidFarmGroup | undefined {
  const where = at(group.where, at(config.where, `module ${config.module}: group #${index + 1}`));
  const before = errors.length;
  if (group.vips.length === 0 || group.vips.length > VIPS_MAX) {
    errors.push(new HakitError('HAKIT_E_FILTER_VIP', `a group needs 1..${VIPS_MAX} VIPs, it has ${group.vips.length}`, where));
  }
  for (const vip of group.vips) {
    if (!checkVip(vip, where, errors)) continue;
    if (seen.has(vip)) errors.push(new HakitError('HAKIT_E_FILTER_VIP', `VIP ${vip} is listed twice`, where));
    seen.add(vip);
  }
  if (group.rules.length === 0 || group.rules.length > RULES_MAX) {
    errors.push(new HakitError('HAKIT_E_FILTER_RULE', `a group needs 1..${RULES_MAX} rules, it has ${group.rules.length}`, where));
  }
  const rules = group.rules.map((r, i) => checkRule(r, i, config.module, errors));
  checkOverlaps(config.module, group, rules, errors);
  if (errors.length > before) return undefined;
  return { vips: [...group.vips], rules: rules.filter((r): r is ValidFarmRule => r !== undefined) };
}

function checkNames(config: FarmFilterConfig, errors: HakitError[]): void {
  if (!MODULE_NAME.test(config.module) || config.module.length > MODULE_NAME_MAX_CHARS) {
    errors.push(new HakitError('HAKIT_E_FILTER_MODULE_NAME', `"${config.module}" cannot name the nft table ${TABLE_PREFIX}<module>`, `module ${config.module}`));
  }
  if (!INTERFACE_NAME.test(config.interface) || config.interface.length > INTERFACE_NAME_MAX_CHARS) {
    errors.push(new HakitError('HAKIT_E_FILTER_INTERFACE', `"${config.interface}" is not an interface name`, at(config.where, `module ${config.module}: <vip>`)));
  }
}

function checkMac(config: FarmFilterConfig, firstVip: Ipv4 | undefined, errors: HakitError[]): string {
  if (config.virtual_mac === undefined) return firstVip ? defaultVirtualMac(firstVip) : '';
  const mac = config.virtual_mac.toLowerCase();
  if (!MAC.test(mac) || (parseInt(mac.slice(0, 2), 16) & 1) !== 1) {
    errors.push(new HakitError('HAKIT_E_FILTER_MAC', `"${config.virtual_mac}" is not a multicast MAC (the LAN must flood VIP frames to every node)`, at(config.where, `module ${config.module}: <vip>`)));
  }
  return mac;
}

export function validateFarmFilter(config: FarmFilterConfig): ValidationResult {
  const errors: HakitError[] = [];
  checkNames(config, errors);
  if (config.hash_seed !== undefined && (!Number.isInteger(config.hash_seed) || config.hash_seed < 0 || config.hash_seed > 0xffffffff)) {
    errors.push(new HakitError('HAKIT_E_FILTER_RULE', `hash seed ${config.hash_seed} is not a 32-bit unsigned integer`, `module ${config.module}`));
  }
  if (config.lease_ms !== undefined && (!Number.isInteger(config.lease_ms) || config.lease_ms < LEASE_MIN_MS || config.lease_ms > LEASE_MAX_MS)) {
    errors.push(new HakitError('HAKIT_E_FILTER_RULE', `bucket lease ${config.lease_ms} ms is not an integer in ${LEASE_MIN_MS}..${LEASE_MAX_MS}`, `module ${config.module}`));
  }
  if (config.groups.length === 0) {
    errors.push(new HakitError('HAKIT_E_FILTER_RULE', 'a farm filter needs at least one VIP with rules', at(config.where, `module ${config.module}`)));
  }
  const seen = new Set<string>();
  const groups = config.groups.map((g, i) => checkGroup(config, g, i, seen, errors));
  const firstVip = parseIpv4(config.groups[0]?.vips[0] ?? '');
  const virtual_mac = checkMac(config, firstVip, errors);
  if (errors.length > 0) return { ok: false, errors };
  const valid = groups.filter((g): g is ValidFarmGroup => g !== undefined);
  const filter: ValidFarmFilter = {
    module: config.module,
    table: TABLE_PREFIX + config.module,
    vips: valid.flatMap((g) => g.vips),
    interface: config.interface,
    virtual_mac,
    hash_seed: config.hash_seed ?? defaultHashSeed(config.module),
    groups: valid,
    lease_ms: config.lease_ms ?? null,
  };
  return { ok: true, filter: deepFreeze(filter) };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
