// The failover rules' vocabulary: resources (`class.ident`, init|up|down), the rules that map a
// resource going down to a module action, and the events and effects of the rules engine.
// Contract read by the checkers' host (core/checkers/host.ts) and the daemon: change additively.
import type { ErrorCode } from '../../errors/catalogue';

export type ResourceState = 'init' | 'up' | 'down';
export type RuleAction = 'restart' | 'stopstart' | 'stop' | 'wait';
/** Module roles in which a checker runs (userconfig `when=`); `always`: in every state, even STOP. */
export type CheckerRole = 'prim' | 'second' | 'both' | 'pre' | 'always';
export type ResourceClass = 'errd' | 'tcp' | 'ping' | 'intf' | 'ip' | 'custom' | 'module' | 'splitbrain' | 'interface';

export interface ResourceSpec {
  /** `class.ident`, e.g. `ping.router`, `errd.httpd`. */
  readonly name: string;
  readonly class: ResourceClass;
  readonly role: CheckerRole;
  /** What happens when the resource is down; `none`: shown only (split-brain witness, errd action="none"). */
  readonly action: RuleAction | 'none';
  /** The `<failover><rule>` that set the action, or null when it is the checker's own. */
  readonly rule: string | null;
}

export interface RulesConfig {
  readonly module: string;
  /** A down resource acts only once it has been down this long (`<failover handle_time>`). */
  readonly handle_time_ms: number;
  /** More than `maxloop` restart/stopstart actions within `loop_interval_ms` become `stop`. */
  readonly maxloop: number;
  readonly loop_interval_ms: number;
  readonly resources: readonly ResourceSpec[];
  /**
   * How `wait` is carried out: `machine` hands the held resources to the module machine (farm
   * WAIT through policy.waitOnResources); `stop` stops the module and starts it again when
   * every held resource is up (mirror, whose machine has no resource wait yet).
   */
  readonly waitVia: 'machine' | 'stop';
}

/** What the module machine says it is (from its announcement). */
export interface ModuleView {
  readonly state: string;
  readonly status: 'NotReady' | 'Transient' | 'Ready' | 'Approval';
}

export interface ResourceValue {
  readonly state: ResourceState;
  /** Monotonic ms of the last change. */
  readonly since_ms: number;
  /** Who said so last: a checker, or an operator's `hakit set`. */
  readonly source: 'checker' | 'operator';
}

export interface AppliedRule {
  readonly rule: string;
  readonly resource: string;
  readonly action: RuleAction;
  readonly at_ms: number;
}

export interface RulesState {
  readonly config: RulesConfig;
  readonly module: ModuleView | null;
  readonly values: Readonly<Record<string, ResourceValue>>;
  readonly errdOn: boolean;
  readonly checkersOn: boolean;
  /** Resources holding the module in wait (sorted). */
  readonly held: readonly string[];
  /** The module was stopped by a `wait` (waitVia stop) and must be started when nothing is held. */
  readonly stoppedForWait: boolean;
  /** An action is in progress: no other action until the module settles. */
  readonly acting: { readonly action: string; readonly at_ms: number; readonly sawTransient: boolean } | null;
  /** After a refusal, no action before this time (a refused action is not retried in a busy loop). */
  readonly retryAt_ms: number;
  /** Times of restart/stopstart actions within loop_interval_ms (maxloop). */
  readonly actions_ms: readonly number[];
  /** The rule applied last (for `hakit state -v`). */
  readonly lastRule: AppliedRule | null;
  /** Serialized last Active / Hold effects, to emit them only on change. */
  readonly activeKey: string;
  readonly holdKey: string;
}

export type RulesEvent =
  /** A checker's verdict, or `hakit set` (source operator). */
  | { readonly type: 'Resource'; readonly resource: string; readonly state: 'up' | 'down'; readonly source: 'checker' | 'operator' }
  | { readonly type: 'Module'; readonly view: ModuleView }
  /** Time passes (handle_time, maxloop window): the host sends one every RULES_TICK_MS. */
  | { readonly type: 'Tick' }
  /** `hakit errd on|off`, `hakit checker on|off`. */
  | { readonly type: 'Switch'; readonly what: 'errd' | 'checkers'; readonly on: boolean }
  /** The module refused the action last asked (busy, wrong state): the rules may act again. */
  | { readonly type: 'ActRefused'; readonly message: string };

export type RulesEffect =
  /** Desired set of resources whose checkers run (sorted); the host starts/stops probes to match. */
  | { readonly type: 'Active'; readonly resources: readonly string[] }
  /** Ask the module machine for an operator-like command. */
  | { readonly type: 'Act'; readonly action: 'restart' | 'stopstart' | 'stop' | 'start'; readonly rule: string; readonly resource: string }
  /** Desired set of resources holding the module in WAIT (waitVia machine): feed them to the machine as down. */
  | { readonly type: 'Hold'; readonly resources: readonly string[] }
  /** A resource changed state: for the module log, syslog and the console. */
  | { readonly type: 'ResourceChanged'; readonly resource: string; readonly from: ResourceState; readonly to: ResourceState; readonly source: 'checker' | 'operator' | 'rules' }
  | { readonly type: 'Log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly msg: string; readonly code?: ErrorCode };

export interface RulesStep {
  readonly state: RulesState;
  readonly effects: readonly RulesEffect[];
}
