// The failover rules engine: step(state, event, now_ms) -> { state, effects }. It keeps each
// resource's state, decides which checkers run (by the module's role and the errd/checker
// switches), and turns a resource that stayed down for handle_time into one module action,
// counted against maxloop. One action at a time: the next waits until the module settled.
import { HakitError } from '../../errors/catalogue';
import type { CheckerRole, ModuleView, ResourceSpec, ResourceState, RuleAction, RulesConfig, RulesEffect, RulesEvent, RulesState, RulesStep } from './types';

/** Stronger actions win when several resources are due at once. */
const SEVERITY: Readonly<Record<Exclude<RuleAction, 'wait'>, number>> = { restart: 1, stopstart: 2, stop: 3 };
const SERVING = new Set(['ALONE', 'PRIM', 'UP']);
const STARTED = new Set(['WAIT', 'ALONE', 'PRIM', 'SECOND', 'UP']);
/** After the module refused an action, the rules wait this long before acting again. */
export const ACT_RETRY_MS = 2_000;

export function initRules(config: RulesConfig): RulesState {
  const names = new Set<string>();
  for (const r of config.resources) {
    if (names.has(r.name)) throw new HakitError('HAKIT_E_INTERNAL', `resource ${r.name} declared twice`, `module ${config.module}`);
    names.add(r.name);
  }
  const values: RulesState['values'] = Object.fromEntries(config.resources.map((r) => [r.name, { state: 'init' as const, since_ms: 0, source: 'checker' as const }]));
  return { config, module: null, values, errdOn: true, checkersOn: true, held: [], stoppedForWait: false, acting: null, retryAt_ms: 0, actions_ms: [], lastRule: null, activeKey: '', holdKey: '' };
}

export function specOf(s: RulesState, resource: string): ResourceSpec | undefined {
  return s.config.resources.find((r) => r.name === resource);
}

/** Is a checker of this role wanted in the module's current state. */
export function roleActive(role: CheckerRole, view: ModuleView | null): boolean {
  if (role === 'always') return true;
  if (view === null) return false;
  if (role === 'pre') return STARTED.has(view.state);
  if (view.status !== 'Ready') return false;
  if (role === 'prim') return SERVING.has(view.state);
  if (role === 'second') return view.state === 'SECOND';
  return SERVING.has(view.state) || view.state === 'SECOND';
}

/** maxloop: records one action; true when more than maxloop fell within loop_interval_ms. */
export function countAction(actions_ms: readonly number[], now_ms: number, maxloop: number, loop_interval_ms: number): { actions_ms: number[]; exceeded: boolean } {
  const recent = actions_ms.filter((t) => now_ms - t < loop_interval_ms);
  const next = [...recent, now_ms];
  return { actions_ms: next, exceeded: next.length > maxloop };
}

export function stepRules(s: RulesState, ev: RulesEvent, now_ms: number): RulesStep {
  const fx: RulesEffect[] = [];
  let cur = absorb(s, fx, ev, now_ms);
  cur = settleActing(cur);
  cur = refreshActive(cur, fx, now_ms);
  cur = refreshHeld(cur, fx, now_ms);
  cur = maybeAct(cur, fx, now_ms);
  return { state: cur, effects: fx };
}

function setValue(s: RulesState, fx: RulesEffect[], resource: string, to: ResourceState, source: 'checker' | 'operator' | 'rules', now_ms: number): RulesState {
  const prev = s.values[resource];
  if (prev === undefined) return s;
  if (prev.state === to && source !== 'operator') return s;
  fx.push({ type: 'ResourceChanged', resource, from: prev.state, to, source });
  const v = { state: to, since_ms: prev.state === to ? prev.since_ms : now_ms, source: source === 'operator' ? ('operator' as const) : ('checker' as const) };
  return { ...s, values: { ...s.values, [resource]: v } };
}

function absorb(s: RulesState, fx: RulesEffect[], ev: RulesEvent, now_ms: number): RulesState {
  switch (ev.type) {
    case 'Resource': {
      const spec = specOf(s, ev.resource);
      if (spec === undefined) {
        fx.push({ type: 'Log', level: 'warn', msg: `${s.config.module}: report for unknown resource ${ev.resource} ignored` });
        return s;
      }
      // A late report from a probe that was just stopped must not revive an inactive resource.
      if (ev.source === 'checker' && !isActive(s, spec)) return s;
      return setValue(s, fx, ev.resource, ev.state, ev.source, now_ms);
    }
    case 'Module':
      return { ...s, module: ev.view };
    case 'Tick':
      return s;
    case 'Switch':
      fx.push({ type: 'Log', level: 'info', msg: `${s.config.module}: ${ev.what} ${ev.on ? 'on' : 'off'}` });
      return ev.what === 'errd' ? { ...s, errdOn: ev.on } : { ...s, checkersOn: ev.on };
    case 'ActRefused':
      fx.push({ type: 'Log', level: 'warn', msg: `${s.config.module}: the module refused the rule's action: ${ev.message}` });
      return { ...s, acting: null, retryAt_ms: now_ms + ACT_RETRY_MS };
  }
}

/** An action ends when the module, having gone through its scripts, is settled again. */
function settleActing(s: RulesState): RulesState {
  const a = s.acting;
  const view = s.module;
  if (a === null || view === null) return s;
  if (view.status === 'Transient') return a.sawTransient ? s : { ...s, acting: { ...a, sawTransient: true } };
  return a.sawTransient ? { ...s, acting: null } : s;
}

function switchedOn(s: RulesState, spec: ResourceSpec): boolean {
  return spec.class === 'errd' ? s.errdOn : s.checkersOn;
}

function isActive(s: RulesState, spec: ResourceSpec): boolean {
  if (!switchedOn(s, spec)) return false;
  return roleActive(spec.role, s.module) || s.held.includes(spec.name);
}

/** Resources whose checker stops go back to init: an old verdict must not act later. */
function refreshActive(s: RulesState, fx: RulesEffect[], now_ms: number): RulesState {
  let cur = s;
  const active: string[] = [];
  for (const spec of s.config.resources) {
    if (isActive(cur, spec)) active.push(spec.name);
    else if (cur.values[spec.name]?.state !== 'init') cur = setValue(cur, fx, spec.name, 'init', 'rules', now_ms);
  }
  active.sort();
  const key = active.join(',');
  if (key === cur.activeKey) return cur;
  fx.push({ type: 'Active', resources: active });
  return { ...cur, activeKey: key };
}

function downLongEnough(s: RulesState, name: string, now_ms: number): boolean {
  const v = s.values[name];
  return v !== undefined && v.state === 'down' && now_ms - v.since_ms >= s.config.handle_time_ms;
}

function refreshHeld(s: RulesState, fx: RulesEffect[], now_ms: number): RulesState {
  const stillHeld = s.held.filter((n) => s.values[n]?.state === 'down' || (s.values[n]?.state === 'init' && specOf(s, n) !== undefined && switchedOn(s, specOf(s, n) as ResourceSpec)));
  const fresh = s.config.resources.filter((r) => r.action === 'wait' && isActive(s, r) && !stillHeld.includes(r.name) && downLongEnough(s, r.name, now_ms)).map((r) => r.name);
  const held = [...stillHeld, ...fresh].sort();
  let cur: RulesState = { ...s, held };
  for (const n of fresh) {
    const spec = specOf(s, n);
    cur = { ...cur, lastRule: { rule: spec?.rule ?? n, resource: n, action: 'wait', at_ms: now_ms } };
    fx.push({ type: 'Log', level: 'warn', msg: `${s.config.module}: ${n} down: wait (rule ${spec?.rule ?? 'of the checker'})` });
  }
  for (const n of s.held.filter((x) => !held.includes(x))) fx.push({ type: 'Log', level: 'info', msg: `${s.config.module}: ${n} no longer holds the module` });
  const key = held.join(',');
  if (key !== cur.holdKey) {
    cur = { ...cur, holdKey: key };
    if (cur.config.waitVia === 'machine') fx.push({ type: 'Hold', resources: held });
  }
  if (cur.config.waitVia !== 'stop' || cur.acting !== null || now_ms < cur.retryAt_ms) return cur;
  const stopped = cur.module === null || cur.module.state === 'STOP';
  const first = held[0];
  if (first !== undefined && !cur.stoppedForWait && !stopped) {
    fx.push({ type: 'Act', action: 'stop', rule: specOf(cur, first)?.rule ?? first, resource: first });
    return { ...cur, stoppedForWait: true, acting: { action: 'stop', at_ms: now_ms, sawTransient: false } };
  }
  if (first === undefined && cur.stoppedForWait) {
    fx.push({ type: 'Act', action: 'start', rule: 'wait over', resource: '' });
    return { ...cur, stoppedForWait: false, acting: { action: 'start', at_ms: now_ms, sawTransient: false } };
  }
  return cur;
}

function maybeAct(s: RulesState, fx: RulesEffect[], now_ms: number): RulesState {
  if (s.acting !== null || now_ms < s.retryAt_ms) return s;
  let best: { spec: ResourceSpec; action: Exclude<RuleAction, 'wait'> } | null = null;
  for (const spec of s.config.resources) {
    const a = spec.action;
    if (a === 'none' || a === 'wait' || !isActive(s, spec) || !downLongEnough(s, spec.name, now_ms)) continue;
    if (best === null || SEVERITY[a] > SEVERITY[best.action]) best = { spec, action: a };
  }
  if (best === null) return s;
  let action = best.action;
  let actions_ms = s.actions_ms;
  const rule = best.spec.rule ?? best.spec.name;
  if (action !== 'stop') {
    const c = countAction(s.actions_ms, now_ms, s.config.maxloop, s.config.loop_interval_ms);
    actions_ms = c.actions_ms;
    if (c.exceeded) {
      fx.push({ type: 'Log', level: 'error', code: 'HAKIT_E_RULE_MAXLOOP', msg: `${s.config.module}: ${best.spec.name} down: more than ${s.config.maxloop} ${action}s within ${s.config.loop_interval_ms} ms: stop instead` });
      action = 'stop';
    }
  }
  fx.push({ type: 'Log', level: 'warn', msg: `${s.config.module}: ${best.spec.name} down: ${action} (rule ${rule})` });
  fx.push({ type: 'Act', action, rule, resource: best.spec.name });
  return { ...s, actions_ms, acting: { action, at_ms: now_ms, sawTransient: false }, lastRule: { rule, resource: best.spec.name, action, at_ms: now_ms } };
}
