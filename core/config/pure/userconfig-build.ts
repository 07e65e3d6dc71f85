// userconfig.xml: parsed tree → macros expanded → schema-checked → typed, checked within the
// file, frozen. Checks that need cluster.xml or other modules live in cross-check.ts.
import { expandMacros } from './macros';
import type { PortRange } from './attr-types';
import type { DeepReadonlyUserConfig } from './types-frozen';
import type { Checker, CheckerAction, LbRule, Probe, Role, ServiceMode, UserConfig, VipConfig } from './types';
import { HEART_PROFILES, REQUIRED_SCRIPTS } from './types';
import { USERCONFIG_SCHEMA } from './userconfig-schema';
import type { CheckedElement } from './validate-tree';
import { bool, kid, kids, list, num, optNum, optStr, str, validateTree } from './validate-tree';
import type { Checked, ConfigIssue, XmlNode } from './xml-tree';
import { deepFreeze, whereOf } from './xml-tree';
import { checkDirsNotNested } from './dirs';
import { fenceTimingProblem } from '../../net/pure/fence-timing';

/** Silence on every LAN shorter than this many pulses would declare peers dead on one lost packet. */
const HEART_TIMEOUT_MIN_PULSES = 3;

interface Ctx {
  readonly file: string;
  readonly issues: ConfigIssue[];
  readonly lines: Record<string, number>;
}

export function buildUserConfig(root: XmlNode, file = 'userconfig.xml'): Checked<DeepReadonlyUserConfig> {
  const expanded = expandMacros(root, file);
  const { element, issues } = validateTree(USERCONFIG_SCHEMA, expanded.root, file);
  issues.unshift(...expanded.issues);
  const service = kid(element, 'service');
  if (!element || !service || issues.length > 0) return { ok: false, errors: issues };
  const ctx: Ctx = { file, issues, lines: { service: service.line } };
  const mode = str(service, 'mode') as ServiceMode;
  checkModes(service, mode, ctx);
  if (issues.length > 0) return { ok: false, errors: issues };

  const checkers = buildCheckers(kid(service, 'check'), ctx);
  const config: UserConfig = {
    macros: expanded.macros,
    service: buildService(service, mode, ctx),
    heart: buildHeart(kid(service, 'heart'), mode, service, ctx),
    farm: buildFarm(kid(service, 'farm'), ctx),
    vip: buildVip(kid(service, 'vip'), mode, ctx),
    rfs: buildRfs(kid(service, 'rfs'), ctx),
    user: buildUser(kid(service, 'user'), ctx),
    errd: buildErrd(kid(service, 'errd'), ctx),
    checkers,
    splitbrain: buildSplitBrain(kid(kid(service, 'check'), 'splitbrain')),
    failover: buildFailover(kid(service, 'failover'), checkers, ctx),
    lines: ctx.lines,
    scripts: {
      required: [...REQUIRED_SCRIPTS[mode], ...checkers.flatMap((c) => (c.kind === 'custom' ? [c.exec] : []))],
      optional: ['prestart', 'poststop', 'start_second', 'stop_second'],
    },
  };
  if (mode === 'farm' && config.farm) {
    config.service.nodes = config.service.nodes ?? (config.farm.nodes.length > 0 ? config.farm.nodes.map((n) => n.name) : null);
  }
  if (issues.length > 0) return { ok: false, errors: issues };
  return { ok: true, value: deepFreeze(config) };
}

function checkModes(el: CheckedElement, mode: ServiceMode, ctx: Ctx): void {
  const spec = USERCONFIG_SCHEMA.elements[el.spec];
  if (spec?.modes && !spec.modes.includes(mode)) {
    ctx.issues.push({ code: 'HAKIT_E_CONF_MODE_MISMATCH', where: whereOf(ctx.file, el), message: `not allowed in a ${mode} module (only ${spec.modes.join(', ')})` });
    return;
  }
  for (const child of el.children) checkModes(child, mode, ctx);
}

function buildService(el: CheckedElement, mode: ServiceMode, ctx: Ctx): UserConfig['service'] {
  const defaultprim = str(el, 'defaultprim');
  if (defaultprim !== 'alone' && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(defaultprim)) {
    ctx.issues.push({ code: 'HAKIT_E_CONF_BAD_NAME', where: whereOf(ctx.file, el, 'defaultprim', defaultprim), message: 'not a node name nor "alone"' });
  }
  if (mode === 'farm' && el.given.has('defaultprim')) {
    ctx.issues.push({ code: 'HAKIT_E_CONF_MODE_MISMATCH', where: whereOf(ctx.file, el, 'defaultprim', defaultprim), message: 'a farm has no primary' });
  }
  const nodes = list(el, 'nodes');
  if (nodes) {
    const dup = nodes.find((n, i) => nodes.indexOf(n) !== i);
    if (dup) ctx.issues.push({ code: 'HAKIT_E_CONF_DUPLICATE', where: whereOf(ctx.file, el, 'nodes', nodes.join(' ')), message: `node ${dup} listed twice` });
    if (mode === 'light' && nodes.length !== 1) {
      ctx.issues.push({ code: 'HAKIT_E_CONF_LIGHT_NODES', where: whereOf(ctx.file, el, 'nodes', nodes.join(' ')), message: `a light module runs on exactly 1 node, not ${nodes.length} (for 2 nodes without replication: mode="mirror" with no <rfs>)` });
    }
    if (mode === 'mirror' && nodes.length !== 2) {
      ctx.issues.push({ code: 'HAKIT_E_CONF_MIRROR_NODES', where: whereOf(ctx.file, el, 'nodes', nodes.join(' ')), message: `a ${mode} module runs on exactly 2 nodes, not ${nodes.length}` });
    }
    if (mode === 'farm' && nodes.length < 2) {
      ctx.issues.push({ code: 'HAKIT_E_CONF_FARM_NODES', where: whereOf(ctx.file, el, 'nodes', nodes.join(' ')), message: `a farm module needs at least 2 nodes, not ${nodes.length}` });
    }
  }
  return {
    mode,
    boot: str(el, 'boot') as 'on' | 'off' | 'auto',
    defaultprim: defaultprim === 'alone' ? null : defaultprim,
    failover: bool(el, 'failover'),
    maxloop: num(el, 'maxloop'),
    loop_interval_ms: num(el, 'loop_interval'),
    nodes: nodes ? [...nodes] : null,
  };
}

function buildHeart(el: CheckedElement | undefined, mode: ServiceMode, service: CheckedElement, ctx: Ctx): UserConfig['heart'] {
  if (!el) {
    if (mode === 'mirror') ctx.issues.push({ code: 'HAKIT_E_CONF_NO_HEARTBEAT', where: whereOf(ctx.file, service), message: `a ${mode} module needs <heart> with at least one <heartbeat name="LAN">` });
    return null;
  }
  const profile = str(el, 'profile') as 'default' | 'fast' | 'wan';
  const period_ms = optNum(el, 'pulse') ?? HEART_PROFILES[profile].period_ms;
  const timeout_ms = optNum(el, 'timeout') ?? HEART_PROFILES[profile].timeout_ms;
  if (timeout_ms < HEART_TIMEOUT_MIN_PULSES * period_ms) {
    ctx.issues.push({ code: 'HAKIT_E_CONF_BAD_DURATION', where: whereOf(ctx.file, el, 'timeout', `${timeout_ms}ms`), message: `must be at least ${HEART_TIMEOUT_MIN_PULSES} pulses (${HEART_TIMEOUT_MIN_PULSES * period_ms}ms)` });
  } else {
    // Fencing by expiry (docs/adr/0005-fencing-by-expiry.md): the leases must run out before
    // the peers' timeout; hakitd checks it again at start, this says so at the line.
    const fence = fenceTimingProblem({ period_ms, timeout_ms });
    if (fence !== null) ctx.issues.push({ code: 'HAKIT_E_FENCE_TIMING', where: whereOf(ctx.file, el, 'timeout', `${timeout_ms}ms`), message: fence });
  }
  const heartbeats: { name: string; flow: boolean }[] = [];
  for (const hb of kids(el, 'heartbeat')) {
    const name = str(hb, 'name');
    if (heartbeats.some((h) => h.name === name)) {
      ctx.issues.push({ code: 'HAKIT_E_CONF_DUPLICATE', where: whereOf(ctx.file, hb, 'name', name), message: 'heartbeat on this LAN given twice' });
      continue;
    }
    ctx.lines[`heartbeat/${name}`] = hb.line;
    heartbeats.push({ name, flow: str(hb, 'ident') === 'flow' });
  }
  const flows = heartbeats.filter((h) => h.flow);
  if (flows.length > 1) {
    ctx.issues.push({ code: 'HAKIT_E_CONF_DUPLICATE', where: whereOf(ctx.file, el), message: `more than one heartbeat has ident="flow" (${flows.map((f) => f.name).join(', ')})` });
  }
  return { profile, period_ms, timeout_ms, heartbeats, flowLan: flows[0]?.name ?? null };
}

function buildFarm(el: CheckedElement | undefined, ctx: Ctx): UserConfig['farm'] {
  if (!el) return null;
  const lans: string[] = [];
  const nodes: { name: string; power: number }[] = [];
  for (const lanEl of kids(el, 'lan')) {
    const name = str(lanEl, 'name');
    if (lans.includes(name)) {
      ctx.issues.push({ code: 'HAKIT_E_CONF_DUPLICATE', where: whereOf(ctx.file, lanEl, 'name', name), message: 'LAN given twice' });
      continue;
    }
    lans.push(name);
    ctx.lines[`farm_lan/${name}`] = lanEl.line;
    for (const nodeEl of kids(lanEl, 'node')) {
      const node = str(nodeEl, 'name');
      const power = num(nodeEl, 'power');
      const known = nodes.find((n) => n.name === node);
      if (known && known.power !== power) {
        ctx.issues.push({ code: 'HAKIT_E_CONF_DUPLICATE', where: whereOf(ctx.file, nodeEl, 'power', String(power)), message: `node ${node} has power ${known.power} on another LAN` });
      } else if (known && ctx.lines[`farm_node/${node}/${name}`] !== undefined) {
        ctx.issues.push({ code: 'HAKIT_E_CONF_DUPLICATE', where: whereOf(ctx.file, nodeEl, 'name', node), message: 'node listed twice on this LAN' });
      } else if (!known) {
        nodes.push({ name: node, power });
        ctx.lines[`farm_node/${node}`] = nodeEl.line;
      }
      ctx.lines[`farm_node/${node}/${name}`] = nodeEl.line;
    }
  }
  if (nodes.length > 0 && nodes.length < 2) {
    ctx.issues.push({ code: 'HAKIT_E_CONF_FARM_NODES', where: whereOf(ctx.file, el), message: `a farm module needs at least 2 nodes, not ${nodes.length}` });
  }
  return { lans, nodes };
}

function buildVip(el: CheckedElement | undefined, mode: ServiceMode, ctx: Ctx): VipConfig | null {
  if (!el) return null;
  const allAddrs: string[] = [];
  const addrEls = new Map<string, CheckedElement>();
  const interfaces: VipConfig['interfaces'] = [];
  for (const intf of kids(kid(el, 'interface_list'), 'interface')) {
    const holder = kid(intf, 'real_interface') ?? kid(intf, 'virtual_interface');
    if (!holder || (kid(intf, 'real_interface') && kid(intf, 'virtual_interface'))) {
      ctx.issues.push({ code: 'HAKIT_E_CONF_MISSING_ELEMENT', where: whereOf(ctx.file, intf), message: mode === 'farm' ? 'needs one <virtual_interface>' : 'needs one <real_interface>' });
      continue;
    }
    const addrs = kids(holder, 'virtual_addr').map((a) => {
      const addr = str(a, 'addr').toLowerCase();
      if (allAddrs.includes(addr)) ctx.issues.push({ code: 'HAKIT_E_CONF_DUPLICATE', where: whereOf(ctx.file, a, 'addr', addr), message: 'virtual address given twice' });
      allAddrs.push(addr);
      addrEls.set(addr, a);
      ctx.lines[`vip/${addr}`] = a.line;
      const family: 4 | 6 = addr.includes(':') ? 6 : 4;
      // The VIP code (ip -4, gratuitous ARP) and the farm filter (table ip) are IPv4 only: an
      // IPv6 VIP was accepted here and then never set, the module serving without it.
      if (family === 6) ctx.issues.push({ code: 'HAKIT_E_CONF_VIP_IPV6', where: whereOf(ctx.file, a, 'addr', addr), message: 'IPv6 virtual addresses are not supported yet: give an IPv4 address' });
      const prefixlen = optNum(a, 'prefixlen');
      if (prefixlen !== null && family === 4 && prefixlen > 32) {
        ctx.issues.push({ code: 'HAKIT_E_CONF_BAD_NUMBER', where: whereOf(ctx.file, a, 'prefixlen', String(prefixlen)), message: 'out of range 1..32 for IPv4' });
      }
      return { addr, family, prefixlen, where: str(a, 'where') as 'one_side_alias' | 'alias', check: bool(a, 'check') };
    });
    const vmac = holder.name === 'virtual_interface' ? { type: str(holder, 'type') as 'vmac_directed' | 'vmac_invisible', mac: optStr(holder, 'vmac') ?? defaultVmac(addrs[0]?.addr ?? '0.0.0.0') } : null;
    interfaces.push({ name: optStr(intf, 'name'), check: bool(intf, 'check'), arpreroute: bool(intf, 'arpreroute'), addrs, vmac });
  }
  const rules: LbRule[] = kids(el, 'rule').map((r) => rule(r, allAddrs));
  for (const group of kids(kid(el, 'loadbalancing_list'), 'group')) {
    const hosts = kids(kid(group, 'cluster'), 'host').map((h) => {
      const name = str(h, 'name');
      if (!allAddrs.includes(name)) ctx.issues.push({ code: 'HAKIT_E_CONF_UNKNOWN_REF', where: whereOf(ctx.file, h, 'name', name), message: 'not a <virtual_addr> of this module' });
      return name;
    });
    rules.push(...kids(group, 'rule').map((r) => rule(r, hosts)));
  }
  if (mode === 'farm' && rules.length === 0) {
    ctx.issues.push({ code: 'HAKIT_E_CONF_FARM_NO_RULE', where: whereOf(ctx.file, el), message: 'a farm VIP needs at least one load-balancing <rule proto port filter> (in <vip> or <loadbalancing_list><group>)' });
  } else if (mode === 'farm') {
    // The farm filter is built from the rules only (core/farm/pure/filter-config.ts), but every
    // virtual_addr is added on every node: a VIP no rule names would get no ingress filter and
    // no ARP rewrite, so every node would answer for it, and farm VIPs never expire
    // (docs/adr/0005-fencing-by-expiry.md). Refused here rather than silently left open.
    const covered = new Set(rules.flatMap((r) => r.vips));
    for (const addr of allAddrs) {
      if (covered.has(addr)) continue;
      const a = addrEls.get(addr);
      ctx.issues.push({
        code: 'HAKIT_E_CONF_FARM_NO_RULE',
        where: a ? whereOf(ctx.file, a, 'addr', addr) : whereOf(ctx.file, el),
        message: `virtual_addr ${addr} of this farm module is covered by no load-balancing rule: name it in a <loadbalancing_list><group><cluster><host>, or use <vip><rule> (every VIP)`,
      });
    }
  }
  return { interfaces, rules };
}

function rule(el: CheckedElement, vips: readonly string[]): LbRule {
  return { proto: str(el, 'proto') as 'tcp' | 'udp', port: el.attrs['port'] as PortRange, filter: str(el, 'filter') as 'on_addr' | 'on_port', vips: [...vips] };
}

/** 01:00:5e + low 23 bits of the IPv4 address: the multicast MAC the LAN floods to every port. */
function defaultVmac(addr: string): string {
  const parts = addr.split('.').map((p) => Number(p) || 0);
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `01:00:5e:${hex((parts[1] ?? 0) & 0x7f)}:${hex(parts[2] ?? 0)}:${hex(parts[3] ?? 0)}`;
}

function buildRfs(el: CheckedElement | undefined, ctx: Ctx): UserConfig['rfs'] {
  if (!el) return null;
  const capture = str(el, 'mode') as 'sync' | 'watch';
  const replicated = kids(el, 'replicated').map((r) => {
    const dir = str(r, 'dir');
    ctx.lines[`dir/${dir}`] = r.line;
    const excluded = kids(r, 'notreplicated').map((n) => {
      const path = optStr(n, 'path');
      const regexpath = optStr(n, 'regexpath');
      if ((path === null) === (regexpath === null)) {
        ctx.issues.push({ code: path === null ? 'HAKIT_E_CONF_MISSING_ATTR' : 'HAKIT_E_CONF_BAD_VALUE', where: whereOf(ctx.file, n), message: 'give exactly one of path or regexpath' });
      }
      const invert = regexpath?.startsWith('!') ?? false;
      return { path, regexpath: invert && regexpath ? regexpath.slice(1) : regexpath, invert };
    });
    return { dir, capture: (optStr(r, 'mode') ?? capture) as 'sync' | 'watch', excluded };
  });
  ctx.issues.push(...checkDirsNotNested(replicated.map((r) => ({ dir: r.dir, line: ctx.lines[`dir/${r.dir}`] ?? 0 })), ctx.file));
  return {
    async: str(el, 'async') as 'none' | 'second',
    capture,
    bandwidth_bytes_per_s: num(el, 'bandwidth'),
    block_size_bytes: num(el, 'blocksize'),
    sync_secondary: bool(el, 'sync_secondary'),
    writeback: bool(el, 'writeback'),
    encrypt: bool(el, 'encrypt'),
    ack_timeout_ms: num(el, 'acktimeout'),
    reintegration_parallel_files: num(el, 'nbrei'),
    reintegration_stall_timeout_ms: num(el, 'reitimeout'),
    replicated,
  };
}

function buildUser(el: CheckedElement | undefined, ctx: Ctx): UserConfig['user'] {
  const vars: { name: string; value: string }[] = [];
  for (const v of kids(el, 'var')) {
    const name = str(v, 'name');
    if (/^HAKIT_/i.test(name)) ctx.issues.push({ code: 'HAKIT_E_CONF_BAD_NAME', where: whereOf(ctx.file, v, 'name', name), message: 'names starting with HAKIT_ are reserved for hakit' });
    else if (vars.some((x) => x.name === name)) ctx.issues.push({ code: 'HAKIT_E_CONF_DUPLICATE', where: whereOf(ctx.file, v, 'name', name), message: 'variable defined twice' });
    else vars.push({ name, value: str(v, 'value') });
  }
  const seconds = (attr: string, dflt_ms: number) => (el ? num(el, attr) : dflt_ms);
  return {
    start_timeout_ms: seconds('starttimeout', 300_000),
    nice_stop_timeout_ms: seconds('nicestoptimeout', 300_000),
    force_stop_timeout_ms: seconds('forcestoptimeout', 300_000),
    logging: el ? (str(el, 'logging') as 'userlog' | 'none') : 'userlog',
    vars,
  };
}

function buildErrd(el: CheckedElement | undefined, ctx: Ctx): UserConfig['errd'] {
  if (!el) return null;
  const procs = kids(el, 'proc').map((p) => {
    const atleast = num(p, 'atleast');
    const atmost = num(p, 'atmost');
    if (atmost !== -1 && atmost < atleast) {
      ctx.issues.push({ code: 'HAKIT_E_CONF_BAD_NUMBER', where: whereOf(ctx.file, p, 'atmost', String(atmost)), message: `smaller than atleast (${atleast})` });
    }
    return { name: str(p, 'name'), argregex: optStr(p, 'argregex'), atleast, atmost, action: str(p, 'action') as CheckerAction | 'none', class: str(p, 'class') as Role };
  });
  return { poll_ms: num(el, 'polltimer'), procs };
}

function probe(el: CheckedElement): Probe {
  return { interval_ms: num(el, 'interval'), timeout_ms: optNum(el, 'timeout') ?? num(el, 'interval'), rise: num(el, 'rise'), fall: num(el, 'fall') };
}

function buildCheckers(el: CheckedElement | undefined, ctx: Ctx): Checker[] {
  const out: Checker[] = [];
  for (const c of el?.children ?? []) {
    if (c.name === 'splitbrain') continue;
    const ident = c.name === 'module' ? (optStr(c, 'ident') ?? `module_${str(c, 'name')}`) : str(c, 'ident');
    if (out.some((o) => o.ident === ident) || ident === 'interface_failure') {
      ctx.issues.push({ code: 'HAKIT_E_CONF_DUPLICATE', where: whereOf(ctx.file, c, 'ident', ident), message: 'checker ident used twice (or reserved)' });
      continue;
    }
    const base = { ident, when: str(c, 'when') as Role, action: str(c, 'action') as CheckerAction };
    const to = kids(c, 'to');
    switch (c.name) {
      case 'tcp': out.push({ kind: 'tcp', ...base, targets: to.map((t) => ({ addr: str(t, 'addr'), port: num(t, 'port'), ...probe(t) })) }); break;
      case 'ping': out.push({ kind: 'ping', ...base, targets: to.map((t) => ({ addr: str(t, 'addr'), ...probe(t) })) }); break;
      case 'intf': out.push({ kind: 'intf', ...base, targets: to.map((t) => ({ name: str(t, 'name'), ...probe(t) })) }); break;
      case 'ip': out.push({ kind: 'ip', ...base, targets: to.map((t) => ({ addr: str(t, 'addr'), ...probe(t) })) }); break;
      case 'custom': {
        const exec = str(c, 'exec');
        ctx.lines[`exec/${exec}`] = c.line;
        out.push({ kind: 'custom', ...base, exec, args: str(c, 'arg').split(' ').filter((a) => a !== ''), probe: probe(c) });
        break;
      }
      case 'module': {
        const at = to[0];
        out.push({ kind: 'module', ident, module: str(c, 'name'), interval_ms: num(c, 'interval'), at: at ? { addr: str(at, 'addr'), port: num(at, 'port') } : null });
        break;
      }
    }
  }
  return out;
}

function buildSplitBrain(el: CheckedElement | undefined): UserConfig['splitbrain'] {
  if (!el) return null;
  const arg = str(el, 'arg');
  const m = /^\[(.*)\]:([0-9]+)$/.exec(arg) ?? /^([0-9.]+):([0-9]+)$/.exec(arg);
  const addr = m ? (m[1] ?? '') : arg.replace(/^\[|\]$/g, '');
  return { ident: str(el, 'ident'), exec: str(el, 'exec') as 'ping' | 'tcp', addr, port: m ? Number(m[2]) : null, interval_ms: num(el, 'interval'), timeout_ms: num(el, 'timeout') };
}

function buildFailover(el: CheckedElement | undefined, checkers: readonly Checker[], ctx: Ctx): UserConfig['failover'] {
  if (!el) return { handle_time_ms: 0, rules: [], mode: 'auto', approval_timer_ms: null };
  const rules = kids(el, 'rule').map((r) => {
    const when = str(r, 'when');
    if (when !== 'interface_failure' && !checkers.some((c) => c.ident === when)) {
      ctx.issues.push({ code: 'HAKIT_E_CONF_UNKNOWN_REF', where: whereOf(ctx.file, r, 'when', when), message: `no checker has ident="${when}" (known: ${[...checkers.map((c) => c.ident), 'interface_failure'].join(', ')})` });
    }
    return { name: str(r, 'name'), when, action: str(r, 'action') as CheckerAction };
  });
  const mode = str(el, 'mode') as 'auto' | 'manual';
  const approval_timer_ms = optNum(el, 'timer') ?? null;
  if (approval_timer_ms !== null && mode !== 'manual') {
    ctx.issues.push({ code: 'HAKIT_E_CONF_BAD_VALUE', where: whereOf(ctx.file, el, 'timer', String(approval_timer_ms)), message: 'timer applies to mode="manual" only' });
  }
  return { handle_time_ms: num(el, 'handle_time'), rules, mode, approval_timer_ms };
}
