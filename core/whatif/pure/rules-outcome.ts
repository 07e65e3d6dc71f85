// The failover rules' part of a what-if answer: for each resource the scenario makes fail,
// the rule of userconfig.xml that applies (core/rules/pure/plan.ts resolved it), what it does
// in words, and what the engine did in the world; and the warnings an operator must read
// (nobody watches the application, the checker does not run there, maxloop, left stopped).
import type { CheckerRole, ResourceSpec, RulesConfig } from '../../rules/pure/types';
import { appResources } from './app-resources';
import type { NodeOutcome, RuleOutcome, WhatIfModuleNow, WhatIfScenario, WhatIfWarning } from './types';
import type { WorldRecord } from './world';

/** "24 h", "2 s", "500 ms". */
export function duration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1_000 && ms % 100 === 0) return `${ms / 1_000} s`;
  return `${ms} ms`;
}

const ROLE_WORDS: Readonly<Record<CheckerRole, string>> = {
  prim: 'serving (ALONE, PRIM or UP) and settled',
  second: 'SECOND and settled',
  both: 'serving or SECOND, and settled',
  pre: 'started (WAIT included)',
  always: 'in every state',
};

/** When a checker of this role runs, in the module's own words (a farm has no PRIM or SECOND). */
function roleWords(m: WhatIfModuleNow, role: CheckerRole): string {
  if (m.policy.mode !== 'mirror' && (role === 'prim' || role === 'both')) return 'UP and settled';
  return ROLE_WORDS[role];
}

/** What a resource's action does to this module, in words. */
export function explainRule(m: WhatIfModuleNow, spec: ResourceSpec, cfg: RulesConfig): string {
  const mode = m.policy.mode;
  const after = cfg.handle_time_ms > 0 ? `once down for ${duration(cfg.handle_time_ms)}: ` : 'when down: ';
  const loop = `more than ${cfg.maxloop} within ${duration(cfg.loop_interval_ms)} become a stop`;
  const failoverOff = mode === 'mirror' && !m.policy.failover ? '; failover is off on this module: the SECOND does not take over' : '';
  const leaves = 'the node leaves the farm and the others take its buckets';
  let what: string;
  switch (spec.action) {
    case 'none':
      return 'none: shown only, no rule acts on it';
    case 'restart':
      what =
        mode === 'mirror'
          ? `restart in place (stop_prim then start_prim; the node keeps its role and the VIP); ${loop}, and then the SECOND takes over (failover)`
          : mode === 'farm'
            ? `restart the application in place (stop_both then start_both; the node's buckets go to the others while its scripts run and come back); ${loop}: ${leaves}`
            : `restart in place; ${loop}`;
      break;
    case 'stopstart':
      what =
        mode === 'mirror'
          ? `stop and start the module: a PRIM hands over to its SECOND (failover: the SECOND becomes PRIM, the VIP moves) and comes back as SECOND; ${loop}`
          : mode === 'farm'
            ? `stop and start the node: ${leaves}, then it joins again; ${loop}`
            : `stop and start the module; ${loop}`;
      break;
    case 'stop':
      what = mode === 'mirror' ? 'stop the module on this node: a PRIM hands over to its SECOND (failover, the VIP moves); it stays STOP until an operator starts it' : mode === 'farm' ? `stop the module on this node: ${leaves}; it stays STOP until an operator starts it` : 'stop the module; it stays STOP until an operator starts it';
      break;
    case 'wait':
      what = mode === 'farm' ? `WAIT while it is down: ${leaves}; back to UP once it is up` : 'stop the module while it is down (a PRIM hands over to its SECOND) and start it again once it is up';
      break;
  }
  return `${after}${what}${failoverOff} (its checker runs while the module is ${roleWords(m, spec.role)})`;
}

/** The resources each application or checker fault of this module makes fail, per node, in fault order. */
function failingPairs(s: WhatIfScenario, m: WhatIfModuleNow): { node: string; resource: string; at_ms: number }[] {
  const out: { node: string; resource: string; at_ms: number }[] = [];
  const seen = new Set<string>();
  for (const f of s.faults) {
    if ((f.kind !== 'app' && f.kind !== 'checker') || f.module !== m.policy.module) continue;
    for (const resource of f.kind === 'app' ? appResources(m) : [f.resource]) {
      const k = `${f.node}\u0000${resource}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ node: f.node, resource, at_ms: f.at_ms });
    }
  }
  return out;
}

export function ruleOutcomes(s: WhatIfScenario, m: WhatIfModuleNow, rec: WorldRecord): RuleOutcome[] {
  const plan = m.monitor ?? null;
  if (plan === null) return [];
  const name = m.policy.module;
  const out: RuleOutcome[] = [];
  for (const p of failingPairs(s, m)) {
    const spec = plan.rules.resources.find((r) => r.name === p.resource);
    if (spec === undefined) continue;
    const down = rec.downs.find((d) => d.node === p.node && d.module === name && d.resource === p.resource && d.at_ms >= p.at_ms);
    const taken = rec.rules.filter((r) => r.node === p.node && r.module === name && (r.resource === p.resource || (r.resource === '' && r.action === 'start')) && r.at_ms >= p.at_ms).map((r) => ({ at_ms: r.at_ms, action: r.action }));
    out.push({
      node: p.node,
      resource: p.resource,
      class: spec.class,
      role: spec.role,
      rule: spec.rule,
      action: spec.action,
      handle_time_ms: plan.rules.handle_time_ms,
      maxloop: plan.rules.maxloop,
      loop_interval_ms: plan.rules.loop_interval_ms,
      explains: explainRule(m, spec, plan.rules),
      down_at_ms: down?.at_ms ?? null,
      taken,
    });
  }
  return out;
}

export function ruleWarnings(s: WhatIfScenario, m: WhatIfModuleNow, nodes: readonly NodeOutcome[], rec: WorldRecord): WhatIfWarning[] {
  const name = m.policy.module;
  const out: WhatIfWarning[] = [];
  const w = (kind: WhatIfWarning['kind'], message: string): void => void out.push({ kind, module: name, message });
  const plan = m.monitor ?? null;
  const after = (node: string): string => nodes.find((n) => n.node === node)?.after ?? 'UNKNOWN';
  for (const f of s.faults) {
    if (f.kind !== 'app' || f.module !== name) continue;
    if (plan === null) w('not-watched', `the checkers of ${name} are not known here: its application failing on ${f.node} is not simulated`);
    else if (appResources(m).length === 0) w('not-watched', `no checker watches the application of ${name} (no errd process, tcp or custom checker): hakit would not notice it failing on ${f.node}; the module stays ${after(f.node)} with its application dead`);
  }
  if (plan === null) return out;
  const failed = new Set(s.fail_nodes);
  for (const f of s.faults) {
    if ((f.kind !== 'app' && f.kind !== 'checker') || f.module !== name || failed.has(f.node)) continue;
    const specs = (f.kind === 'app' ? appResources(m) : [f.resource]).map((r) => plan.rules.resources.find((x) => x.name === r)).filter((x): x is ResourceSpec => x !== undefined);
    for (const spec of specs) if (spec.action === 'none') w('action-none', `${spec.name} is shown only (action none): no rule acts when it fails on ${f.node}`);
    const acting = specs.filter((x) => x.action !== 'none');
    // Seen by none of its checkers: they do not run there now (another checker seeing it first is fine).
    if (acting.length === 0 || rec.downs.some((d) => d.node === f.node && d.module === name && d.at_ms >= f.at_ms && acting.some((x) => x.name === d.resource))) continue;
    const runs = acting.map((x) => `${x.name} while ${roleWords(m, x.role)} (when=${x.role})`).join('; ');
    const what = f.kind === 'app' ? `the checkers of ${name}'s application run only: ${runs}` : `checker ${runs.replace(' while ', ' runs only while ')}`;
    w('checker-idle', `${what}; on ${f.node} ${name} is ${after(f.node)}: the failure is not seen and no rule acts (it would be once the module runs there in that role)`);
  }
  const loops = new Set<string>();
  for (const x of rec.maxloop) {
    if (x.module !== name || loops.has(x.node)) continue;
    loops.add(x.node);
    w('maxloop', `${name} on ${x.node}: more than ${plan.rules.maxloop} restarts within ${duration(plan.rules.loop_interval_ms)}: it is stopped instead (maxloop)`);
  }
  for (const n of nodes) {
    const holds = rec.rules.filter((r) => r.node === n.node && r.module === name && r.action === 'hold').map((r) => r.resource);
    if (!n.failed && n.after.startsWith('WAIT/') && holds.length > 0) w('waits', `${name} waits on ${n.node} (WAIT, out of service) while ${[...new Set(holds)].join(', ')} is down; it comes back once it is up`);
    if (n.failed || !n.after.startsWith('STOP/') || n.before.startsWith('STOP/')) continue;
    const stops = rec.rules.filter((r) => r.node === n.node && r.module === name && r.action === 'stop');
    if (stops.length === 0 && !loops.has(n.node)) continue;
    const waits = stops.filter((r) => plan.rules.resources.find((x) => x.name === r.resource)?.action === 'wait').map((r) => r.resource);
    if (waits.length > 0 && !loops.has(n.node)) w('stays-stopped', `${name} is stopped on ${n.node} while ${[...new Set(waits)].join(', ')} is down; it starts again once it is up`);
    else w('stays-stopped', `${name} stays STOP on ${n.node} until an operator starts it (hakit start -m ${name})`);
  }
  return out;
}
