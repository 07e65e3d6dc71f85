// From a module's typed userconfig to what its monitor runs: the resources with their role and
// action (after <failover> rules), and one check per resource with its targets and timings.
import type { DeepReadonlyUserConfig } from '../../config/pure/types-frozen';
import type { CheckSpec, ProbeTiming } from '../../checkers/pure/types';
import type { ResourceSpec, RuleAction, RulesConfig } from './types';

/** errd: the full /proc scan runs every `polltimer`; known pids are re-checked this often, so a death is seen in well under 1 s. */
export const ERRD_FAST_WATCH_MS = 100;
/** errd: one /proc scan taking longer than this counts as a failed probe. */
export const ERRD_SCAN_TIMEOUT_MS = 2_000;
/** Module checker: time to get the other module's state. */
export const MODULE_CHECK_TIMEOUT_MS = 2_000;
/** Split-brain witness check: fall count (rise 1). */
export const SPLITBRAIN_FALL = 2;
/** Default action when a VIP's interface link or the VIP itself is lost. */
export const INTERFACE_DEFAULT_ACTION: RuleAction = 'stopstart';

export interface MonitorPlan {
  readonly rules: RulesConfig;
  readonly checks: readonly CheckSpec[];
}

export interface PlanOptions {
  /** Interface of each `<vip><interface>` as the daemon resolved it (null: unknown, not checked). */
  readonly vipIfnames?: readonly (string | null)[];
  /** Default: `machine` for farm (policy.waitOnResources), `stop` for mirror/light. */
  readonly waitVia?: 'machine' | 'stop';
}

function uniqueName(taken: Set<string>, base: string): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

export function planMonitor(cfg: DeepReadonlyUserConfig, module: string, opts: PlanOptions = {}): MonitorPlan {
  const resources: ResourceSpec[] = [];
  const checks: CheckSpec[] = [];
  const taken = new Set<string>();
  const overrides = new Map(cfg.failover.rules.map((r) => [r.when, r]));
  const add = (spec: Omit<ResourceSpec, 'rule'>, ident: string, check: Omit<CheckSpec, 'resource'>): void => {
    const rule = overrides.get(ident);
    resources.push({ ...spec, action: rule?.action ?? spec.action, rule: rule?.name ?? null });
    checks.push({ resource: spec.name, ...check });
  };

  for (const p of cfg.errd?.procs ?? []) {
    const name = uniqueName(taken, `errd.${p.name}`);
    const timing: ProbeTiming = { interval_ms: cfg.errd?.poll_ms ?? 10_000, timeout_ms: ERRD_SCAN_TIMEOUT_MS, rise: 1, fall: 1 };
    const what = { kind: 'proc', name: p.name, argregex: p.argregex, atleast: p.atleast, atmost: p.atmost } as const;
    add({ name, class: 'errd', role: p.class, action: p.action }, p.name, { downWhen: 'any', targets: [{ label: p.argregex ? `${p.name} ~ ${p.argregex}` : p.name, what, timing }] });
  }
  for (const c of cfg.checkers) {
    const name = uniqueName(taken, `${c.kind}.${c.ident}`);
    switch (c.kind) {
      case 'tcp':
        add({ name, class: 'tcp', role: c.when, action: c.action }, c.ident, { downWhen: 'any', targets: c.targets.map((t) => ({ label: `${t.addr}:${t.port}`, what: { kind: 'tcp', addr: t.addr, port: t.port }, timing: t })) });
        break;
      case 'ping':
        add({ name, class: 'ping', role: c.when, action: c.action }, c.ident, { downWhen: 'all', targets: c.targets.map((t) => ({ label: t.addr, what: { kind: 'ping', addr: t.addr }, timing: t })) });
        break;
      case 'intf':
        add({ name, class: 'intf', role: c.when, action: c.action }, c.ident, { downWhen: 'any', targets: c.targets.map((t) => ({ label: t.name, what: { kind: 'intf', name: t.name }, timing: t })) });
        break;
      case 'ip':
        add({ name, class: 'ip', role: c.when, action: c.action }, c.ident, { downWhen: 'any', targets: c.targets.map((t) => ({ label: t.addr, what: { kind: 'ip', addr: t.addr }, timing: t })) });
        break;
      case 'custom':
        add({ name, class: 'custom', role: c.when, action: c.action }, c.ident, { downWhen: 'any', targets: [{ label: c.exec, what: { kind: 'custom', exec: c.exec, args: c.args }, timing: c.probe }] });
        break;
      case 'module': {
        const timing = { interval_ms: c.interval_ms, timeout_ms: Math.min(c.interval_ms, MODULE_CHECK_TIMEOUT_MS), rise: 1, fall: 1 };
        const label = c.at ? `${c.module}@${c.at.addr}:${c.at.port}` : c.module;
        add({ name, class: 'module', role: 'pre', action: 'wait' }, c.ident, { downWhen: 'any', targets: [{ label, what: { kind: 'module', module: c.module, at: c.at }, timing }] });
        break;
      }
    }
  }
  const sb = cfg.splitbrain;
  if (sb) {
    const name = uniqueName(taken, `splitbrain.${sb.ident}`);
    const timing = { interval_ms: sb.interval_ms, timeout_ms: Math.min(sb.timeout_ms, sb.interval_ms), rise: 1, fall: SPLITBRAIN_FALL };
    const what = sb.exec === 'tcp' && sb.port !== null ? ({ kind: 'tcp', addr: sb.addr, port: sb.port } as const) : ({ kind: 'ping', addr: sb.addr } as const);
    add({ name, class: 'splitbrain', role: 'always', action: 'none' }, sb.ident, { downWhen: 'any', targets: [{ label: sb.port !== null ? `${sb.addr}:${sb.port}` : sb.addr, what, timing }] });
  }
  planVipChecks(cfg, opts, taken, resources, checks, overrides);
  const waitVia = opts.waitVia ?? (cfg.service.mode !== 'mirror' ? 'machine' : 'stop');
  return {
    rules: { module, handle_time_ms: cfg.failover.handle_time_ms, maxloop: cfg.service.maxloop, loop_interval_ms: cfg.service.loop_interval_ms, resources, waitVia },
    checks,
  };
}

/** Link timing of `<interface check="on">` and VIP `check="on"`: 1 s, down after 3 misses. */
export const VIP_CHECK_TIMING: ProbeTiming = { interval_ms: 1_000, timeout_ms: 1_000, rise: 1, fall: 3 };

function planVipChecks(
  cfg: DeepReadonlyUserConfig,
  opts: PlanOptions,
  taken: Set<string>,
  resources: ResourceSpec[],
  checks: CheckSpec[],
  overrides: ReadonlyMap<string, { readonly name: string; readonly action: RuleAction }>,
): void {
  const rule = overrides.get('interface_failure');
  const action = rule?.action ?? INTERFACE_DEFAULT_ACTION;
  (cfg.vip?.interfaces ?? []).forEach((intf, i) => {
    const ifname = intf.name ?? opts.vipIfnames?.[i] ?? null;
    if (intf.check && ifname !== null) {
      const name = uniqueName(taken, `interface.${ifname}`);
      resources.push({ name, class: 'interface', role: 'both', action, rule: rule?.name ?? null });
      checks.push({ resource: name, downWhen: 'any', targets: [{ label: ifname, what: { kind: 'intf', name: ifname }, timing: VIP_CHECK_TIMING }] });
    }
    for (const a of intf.addrs) {
      if (!a.check) continue;
      const name = uniqueName(taken, `ip.${a.addr}`);
      resources.push({ name, class: 'ip', role: 'prim', action, rule: rule?.name ?? null });
      checks.push({ resource: name, downWhen: 'any', targets: [{ label: a.addr, what: { kind: 'ip', addr: a.addr }, timing: VIP_CHECK_TIMING }] });
    }
  });
}

/** Resources whose `wait` the farm machine carries out: put them in ModulePolicy.waitOnResources. */
export function waitResourceNames(plan: MonitorPlan): string[] {
  return plan.rules.resources.filter((r) => r.action === 'wait').map((r) => r.name);
}
