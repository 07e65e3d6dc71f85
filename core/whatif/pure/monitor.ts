// One module's monitor on one node of the what-if world: the checkers' host
// (core/checkers/host.ts) replayed on the simulated clock. The failover rules are the daemon's
// own engine (core/rules/pure/engine.ts), fed the same events; each check's targets are probed
// on their interval, their verdicts counted with the host's rise/fall (core/checkers/pure) and
// combined per resource. Only the probes' outcomes are the world's: a target is up unless the
// scenario makes it fail (MonitorHost.targetOk). Every probe, result and tick is an event of
// the world's queue, as the host's are asynchronous: nothing re-enters the module machine.
import { ERRD_START_GRACE_MS, RULES_TICK_MS } from '../../checkers/pure/host-behaviour';
import { combine, observe, RISEFALL_INIT } from '../../checkers/pure/risefall';
import type { CheckSpec, RiseFall, TargetSpec } from '../../checkers/pure/types';
import type { ErrorCode } from '../../errors/catalogue';
import { initRules, stepRules } from '../../rules/pure/engine';
import { ERRD_FAST_WATCH_MS, type MonitorPlan } from '../../rules/pure/plan';
import type { ModuleView, ResourceState, RulesEffect, RulesEvent, RulesState } from '../../rules/pure/types';

export type MonitorEv =
  /** Probe one target: `chain` on the interval; a proc watch's re-scan (start grace) or death watch (`deathOnly`) does not chain. */
  | { readonly k: 'probe'; readonly resource: string; readonly target: number; readonly gen: number; readonly chain: boolean; readonly deathOnly: boolean }
  | { readonly k: 'probe-result'; readonly resource: string; readonly target: number; readonly gen: number; readonly ok: boolean }
  | { readonly k: 'rules-tick' };

export interface MonitorHost {
  now(): number;
  schedule(at_ms: number, ev: MonitorEv): void;
  /** The target is up now: false when the scenario makes it fail (or its other module is not up). */
  targetOk(resource: string, target: TargetSpec): boolean;
  /** The rules ask the module machine for an action (the world delivers it as the host's command does). */
  act(action: 'restart' | 'stopstart' | 'stop' | 'start', rule: string, resource: string): void;
  /** The rules hold (or release) a resource in the module machine (farm WAIT). */
  hold(resource: string, down: boolean): void;
  changed(resource: string, from: ResourceState, to: ResourceState, source: string): void;
  log(level: string, msg: string, code: ErrorCode | undefined): void;
}

interface Check {
  readonly spec: CheckSpec;
  readonly gen: number;
  readonly started_ms: number;
  rf: RiseFall[];
  /** A proc watch before its first verdict (start grace). */
  first: boolean[];
  inflight: boolean[];
  reported: ResourceState;
}

/** Probes that fail by running out of time report at their timeout; the others fail at once (connection refused, no process, link down). */
const FAIL_AT_TIMEOUT: ReadonlySet<TargetSpec['what']['kind']> = new Set(['ping', 'custom']);

export class MonitorReplay {
  private state: RulesState;
  private readonly checks = new Map<string, Check>();
  private held: readonly string[] = [];
  private gen = 0;
  private tickAt: number | null = null;
  private stopped = false;

  constructor(
    private readonly plan: MonitorPlan,
    private readonly host: MonitorHost,
  ) {
    this.state = initRules(plan.rules);
  }

  get rules(): RulesState {
    return this.state;
  }

  /** As the host: the module's view on every announcement that changes state or status. */
  moduleChanged(view: ModuleView): void {
    const cur = this.state.module;
    if (cur !== null && cur.state === view.state && cur.status === view.status) return;
    this.step({ type: 'Module', view });
  }

  refused(message: string): void {
    this.step({ type: 'ActRefused', message });
  }

  /** The node died: no probe, tick or rule of it any more. */
  stop(): void {
    this.stopped = true;
    this.checks.clear();
  }

  /** The scenario just broke something on this node: a proc watch sees a death within ERRD_FAST_WATCH_MS. */
  poke(): void {
    for (const [name, c] of this.checks) {
      c.spec.targets.forEach((t, i) => {
        if (t.what.kind === 'proc' && !c.first[i]) this.host.schedule(this.host.now() + ERRD_FAST_WATCH_MS, { k: 'probe', resource: name, target: i, gen: c.gen, chain: false, deathOnly: true });
      });
    }
  }

  handle(ev: MonitorEv): void {
    if (this.stopped) return;
    switch (ev.k) {
      case 'rules-tick':
        this.tickAt = null;
        this.step({ type: 'Tick' });
        return;
      case 'probe':
        return this.probe(ev.resource, ev.target, ev.gen, ev.chain, ev.deathOnly);
      case 'probe-result':
        return this.result(ev.resource, ev.target, ev.gen, ev.ok);
    }
  }

  // ------------------------------------------------------------------ rules

  private step(ev: RulesEvent): void {
    if (this.stopped) return;
    const r = stepRules(this.state, ev, this.host.now());
    this.state = r.state;
    for (const fx of r.effects) this.perform(fx);
    this.keepTicking();
  }

  private perform(fx: RulesEffect): void {
    switch (fx.type) {
      case 'Active':
        this.reconcile(fx.resources);
        return;
      case 'Act':
        this.host.act(fx.action, fx.rule, fx.resource);
        return;
      case 'Hold': {
        for (const r of fx.resources) if (!this.held.includes(r)) this.host.hold(r, true);
        for (const r of this.held) if (!fx.resources.includes(r)) this.host.hold(r, false);
        this.held = fx.resources;
        return;
      }
      case 'ResourceChanged':
        this.host.changed(fx.resource, fx.from, fx.to, fx.source);
        return;
      case 'Log':
        this.host.log(fx.level, fx.msg, fx.code);
        return;
    }
  }

  /** The host ticks every RULES_TICK_MS; time matters to the engine only while a resource is down, held, or an action waits for its retry. */
  private keepTicking(): void {
    const s = this.state;
    const now = this.host.now();
    const needed = s.held.length > 0 || s.retryAt_ms > now || Object.values(s.values).some((v) => v.state === 'down');
    if (!needed || this.tickAt !== null) return;
    this.tickAt = now + RULES_TICK_MS;
    this.host.schedule(this.tickAt, { k: 'rules-tick' });
  }

  // ------------------------------------------------------------------ checks

  private reconcile(wanted: readonly string[]): void {
    for (const name of [...this.checks.keys()]) if (!wanted.includes(name)) this.checks.delete(name);
    for (const name of wanted) if (!this.checks.has(name)) this.startCheck(name);
  }

  private startCheck(name: string): void {
    const spec = this.plan.checks.find((c) => c.resource === name);
    if (spec === undefined) return;
    const gen = ++this.gen;
    const now = this.host.now();
    this.checks.set(name, { spec, gen, started_ms: now, rf: spec.targets.map(() => RISEFALL_INIT), first: spec.targets.map((t) => t.what.kind === 'proc'), inflight: spec.targets.map(() => false), reported: 'init' });
    // First probe at once, as the host's runners do.
    spec.targets.forEach((_, i) => this.host.schedule(now, { k: 'probe', resource: name, target: i, gen, chain: true, deathOnly: false }));
  }

  private probe(name: string, i: number, gen: number, chain: boolean, deathOnly: boolean): void {
    const c = this.checks.get(name);
    const t = c?.spec.targets[i];
    if (c === undefined || c.gen !== gen || t === undefined) return;
    const now = this.host.now();
    if (chain) this.host.schedule(now + t.timing.interval_ms, { k: 'probe', resource: name, target: i, gen, chain: true, deathOnly: false });
    if (c.inflight[i]) return; // never two probes of one target at a time
    const ok = this.host.targetOk(name, t);
    if (deathOnly && ok) return; // the fast watch sees deaths only; a new process counts at the next scan
    if (c.first[i] && !ok && now - c.started_ms < ERRD_START_GRACE_MS) {
      // errd's start grace: a count out of bounds is re-scanned every ERRD_FAST_WATCH_MS before it is reported.
      this.host.schedule(now + ERRD_FAST_WATCH_MS, { k: 'probe', resource: name, target: i, gen, chain: false, deathOnly: false });
      return;
    }
    const delay = !ok && FAIL_AT_TIMEOUT.has(t.what.kind) ? t.timing.timeout_ms : 0;
    // A probe event comes from the queue, never from inside a rules step: its result may step the rules at once.
    if (delay === 0) return this.result(name, i, gen, ok);
    c.inflight[i] = true;
    this.host.schedule(now + delay, { k: 'probe-result', resource: name, target: i, gen, ok });
  }

  private result(name: string, i: number, gen: number, ok: boolean): void {
    const c = this.checks.get(name);
    const t = c?.spec.targets[i];
    const prev = c?.rf[i];
    if (c === undefined || c.gen !== gen || t === undefined || prev === undefined) return;
    c.inflight[i] = false;
    c.first[i] = false;
    c.rf[i] = observe(prev, ok, t.timing.rise, t.timing.fall);
    const combined = combine(c.rf.map((x) => x.state), c.spec.downWhen);
    if (combined === c.reported || combined === 'init') return;
    c.reported = combined;
    this.step({ type: 'Resource', resource: name, state: combined, source: 'checker' });
  }
}
