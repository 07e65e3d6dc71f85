// One module's monitor: runs the checkers its rules engine wants active, turns their verdicts
// (rise/fall per target, combined per resource) into rules events, and performs the engine's
// effects on the module runner. The daemon makes one per module (see docs/checkers.md).
import { HakitError } from '../errors/catalogue';
import type { LogSink } from '../log/sink';
import type { ModuleEvent, OperatorCommand } from '../module/pure/types';
import { initRules, specOf, stepRules } from '../rules/pure/engine';
import type { MonitorPlan } from '../rules/pure/plan';
import { ERRD_FAST_WATCH_MS } from '../rules/pure/plan';
import type { ModuleView, ResourceState, RulesEffect, RulesEvent, RulesState } from '../rules/pure/types';
import { moduleTargetUp, RULES_TICK_MS } from './pure/host-behaviour';
import { combine, observe, RISEFALL_INIT } from './pure/risefall';
import type { CheckSpec, RiseFall, TargetSpec } from './pure/types';
import { customProbe } from './probes/custom';
import { intfProbe } from './probes/intf';
import { ipProbe } from './probes/ip';
import { IcmpPinger } from './probes/ping';
import { ProcWatch } from './probes/proc';
import { tcpProbe } from './probes/tcp';
import type { ModuleStateQuery, ProbeFn, ProbeResult } from './probes/types';
import { IntervalRunner, type TargetRunner } from './target-runner';

// The tick and the module target's verdict are shared with the what-if world (pure).
export { RULES_TICK_MS } from './pure/host-behaviour';

export interface MonitorOptions {
  readonly module: string;
  readonly plan: MonitorPlan;
  readonly bin_dir: string;
  /** Environment of custom checkers (HAKIT_MODULE, the module's <user><var>s...). */
  readonly env: Readonly<Record<string, string>>;
  /** ModuleRunner.deliver: ResourceChanged for held resources (farm WAIT). */
  readonly deliver: (e: ModuleEvent) => void;
  /** ModuleRunner.command: the rules' actions; a rejection means refused. */
  readonly command: (c: OperatorCommand) => Promise<void>;
  readonly moduleState: ModuleStateQuery;
  readonly log: LogSink;
  /** State changes also go here (syslog/journal); optional. */
  readonly notify?: (line: string) => void;
  readonly pinger?: IcmpPinger;
  readonly now_ms?: () => number;
  readonly tick_ms?: number;
}

export interface TargetStatus {
  readonly label: string;
  readonly state: ResourceState;
  readonly detail: string;
}
export interface ResourceStatus {
  readonly name: string;
  readonly class: string;
  readonly state: ResourceState;
  readonly since_ms_ago: number;
  readonly source: 'checker' | 'operator';
  readonly action: string;
  readonly rule: string | null;
  readonly active: boolean;
  readonly targets: readonly TargetStatus[];
}
export interface MonitorStatus {
  readonly module: string;
  readonly errd: boolean;
  readonly checkers: boolean;
  readonly held: readonly string[];
  readonly last_rule: { rule: string; resource: string; action: string; ms_ago: number } | null;
  readonly resources: readonly ResourceStatus[];
}

interface RunningCheck {
  readonly spec: CheckSpec;
  readonly runners: TargetRunner[];
  readonly rf: RiseFall[];
  readonly details: string[];
  reported: ResourceState;
}

const SHARED_PINGER = new IcmpPinger();

export class ModuleMonitor {
  private state: RulesState;
  private readonly running = new Map<string, RunningCheck>();
  private held: readonly string[] = [];
  private tick: NodeJS.Timeout | undefined;
  private disposed = false;
  private readonly pinger: IcmpPinger;
  private readonly now: () => number;

  constructor(private readonly o: MonitorOptions) {
    this.state = initRules(o.plan.rules);
    this.pinger = o.pinger ?? SHARED_PINGER;
    this.now = o.now_ms ?? (() => performance.now());
  }

  start(view: ModuleView | null = null): void {
    this.pinger.acquire();
    this.step({ type: 'Module', view: view ?? { state: 'STOP', status: 'NotReady' } });
    this.tick = setInterval(() => this.step({ type: 'Tick' }), this.o.tick_ms ?? RULES_TICK_MS);
  }

  /** Call on every module announcement (state or status change). */
  moduleChanged(view: ModuleView): void {
    const cur = this.state.module;
    if (cur && cur.state === view.state && cur.status === view.status) return;
    this.step({ type: 'Module', view });
  }

  /** `hakit set -r RES -v up|down`. */
  set(resource: string, value: string): void {
    if (specOf(this.state, resource) === undefined) {
      throw new HakitError('HAKIT_E_UNKNOWN_RESOURCE', `no resource "${resource}" (known: ${this.resourceNames().join(', ') || 'none'})`, `module ${this.o.module}`);
    }
    if (value !== 'up' && value !== 'down') throw new HakitError('HAKIT_E_BAD_RESOURCE_VALUE', `"${value}" is not up or down`, `resource ${resource}`);
    this.step({ type: 'Resource', resource, state: value, source: 'operator' });
  }

  get(resource: string): ResourceStatus {
    const r = this.status().resources.find((x) => x.name === resource);
    if (!r) throw new HakitError('HAKIT_E_UNKNOWN_RESOURCE', `no resource "${resource}" (known: ${this.resourceNames().join(', ') || 'none'})`, `module ${this.o.module}`);
    return r;
  }

  switchOn(what: 'errd' | 'checkers', on: boolean): void {
    this.step({ type: 'Switch', what, on });
  }

  resourceNames(): string[] {
    return this.o.plan.rules.resources.map((r) => r.name);
  }

  status(): MonitorStatus {
    const now = this.now();
    const s = this.state;
    return {
      module: this.o.module,
      errd: s.errdOn,
      checkers: s.checkersOn,
      held: [...s.held],
      last_rule: s.lastRule ? { rule: s.lastRule.rule, resource: s.lastRule.resource, action: s.lastRule.action, ms_ago: Math.round(now - s.lastRule.at_ms) } : null,
      resources: s.config.resources.map((r) => {
        const v = s.values[r.name];
        const run = this.running.get(r.name);
        return {
          name: r.name,
          class: r.class,
          state: v?.state ?? 'init',
          since_ms_ago: v && v.since_ms > 0 ? Math.round(now - v.since_ms) : 0,
          source: v?.source ?? 'checker',
          action: r.action,
          rule: r.rule,
          active: run !== undefined,
          targets: (this.o.plan.checks.find((c) => c.resource === r.name)?.targets ?? []).map((t, i) => ({ label: t.label, state: run?.rf[i]?.state ?? 'init', detail: run?.details[i] ?? '' })),
        };
      }),
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.tick) clearInterval(this.tick);
    for (const name of [...this.running.keys()]) this.stopCheck(name);
    this.pinger.release();
  }

  // --- internals ---

  private step(ev: RulesEvent): void {
    if (this.disposed) return;
    const r = stepRules(this.state, ev, this.now());
    this.state = r.state;
    for (const fx of r.effects) this.perform(fx);
  }

  private perform(fx: RulesEffect): void {
    const log = this.o.log;
    switch (fx.type) {
      case 'Active':
        this.reconcile(fx.resources);
        return;
      case 'Act': {
        const command: OperatorCommand = { kind: fx.action };
        log.warn({ rule: fx.rule, resource: fx.resource, action: fx.action }, `failover rule: ${fx.action}`);
        this.o.notify?.(`hakit ${this.o.module}: rule ${fx.rule}: ${fx.resource || 'resources back'}: ${fx.action}`);
        this.o.command(command).catch((e: unknown) => this.step({ type: 'ActRefused', message: e instanceof Error ? e.message : String(e) }));
        return;
      }
      case 'Hold': {
        const before = new Set(this.held);
        const after = new Set(fx.resources);
        for (const r of after) if (!before.has(r)) this.o.deliver({ type: 'ResourceChanged', resource: r, state: 'down' });
        for (const r of before) if (!after.has(r)) this.o.deliver({ type: 'ResourceChanged', resource: r, state: 'up' });
        this.held = fx.resources;
        return;
      }
      case 'ResourceChanged':
        log.info({ resource: fx.resource, from: fx.from, to: fx.to, source: fx.source }, `resource ${fx.resource}: ${fx.to}`);
        if (fx.to !== 'init' || fx.from === 'down') this.o.notify?.(`hakit ${this.o.module}: resource ${fx.resource} ${fx.from} -> ${fx.to} (${fx.source})`);
        return;
      case 'Log':
        log[fx.level](fx.code ? { code: fx.code } : {}, fx.msg);
        return;
    }
  }

  private reconcile(wanted: readonly string[]): void {
    for (const name of [...this.running.keys()]) if (!wanted.includes(name)) this.stopCheck(name);
    for (const name of wanted) if (!this.running.has(name)) this.startCheck(name);
  }

  private startCheck(name: string): void {
    const spec = this.o.plan.checks.find((c) => c.resource === name);
    if (!spec) return;
    const run: RunningCheck = { spec, runners: [], rf: spec.targets.map(() => RISEFALL_INIT), details: spec.targets.map(() => ''), reported: 'init' };
    this.running.set(name, run);
    spec.targets.forEach((t, i) => {
      const runner = this.runnerFor(t);
      run.runners.push(runner);
      runner.start((r) => this.onProbe(run, i, r));
    });
  }

  private stopCheck(name: string): void {
    const run = this.running.get(name);
    if (!run) return;
    for (const r of run.runners) r.stop();
    this.running.delete(name);
  }

  private onProbe(run: RunningCheck, i: number, r: ProbeResult): void {
    if (this.running.get(run.spec.resource) !== run) return;
    const t = run.spec.targets[i];
    const prev = run.rf[i];
    if (!t || !prev) return;
    run.rf[i] = observe(prev, r.ok, t.timing.rise, t.timing.fall);
    run.details[i] = r.detail;
    if (prev.state !== run.rf[i]?.state) this.o.log.debug({ resource: run.spec.resource, target: t.label, detail: r.detail }, `target ${t.label}: ${run.rf[i]?.state}`);
    const combined = combine(run.rf.map((x) => x.state), run.spec.downWhen);
    if (combined === run.reported || combined === 'init') return;
    run.reported = combined;
    this.step({ type: 'Resource', resource: run.spec.resource, state: combined, source: 'checker' });
  }

  private runnerFor(t: TargetSpec): TargetRunner {
    const w = t.what;
    if (w.kind === 'proc') {
      let argregex: RegExp | null;
      try {
        argregex = w.argregex === null ? null : new RegExp(w.argregex);
      } catch {
        // The config validator checked it; an unusable regex matches nothing (the checker reports down).
        argregex = /(?!)/;
      }
      return new ProcWatch({ pattern: { name: w.name, argregex }, atleast: w.atleast, atmost: w.atmost }, t.timing.interval_ms, ERRD_FAST_WATCH_MS);
    }
    return new IntervalRunner(this.probeFor(w), t.timing);
  }

  private probeFor(w: Exclude<TargetSpec['what'], { kind: 'proc' }>): ProbeFn {
    switch (w.kind) {
      case 'tcp':
        return (timeout_ms) => tcpProbe(w.addr, w.port, timeout_ms);
      case 'ping':
        return (timeout_ms) => this.pinger.ping(w.addr, timeout_ms);
      case 'intf':
        return () => intfProbe(w.name);
      case 'ip':
        return () => ipProbe(w.addr);
      case 'custom':
        return (timeout_ms) => customProbe({ bin_dir: this.o.bin_dir, exec: w.exec, args: w.args, env: { HAKIT_MODULE: this.o.module, ...this.o.env } }, timeout_ms);
      case 'module':
        return async (timeout_ms) => {
          const s = await this.o.moduleState(w.module, w.at, timeout_ms);
          if (s === null) return { ok: false, detail: `module ${w.module} unknown or unreachable` };
          const ok = moduleTargetUp(s);
          return { ok, detail: `${w.module} is ${s.state} (${s.status})` };
        };
    }
  }
}
