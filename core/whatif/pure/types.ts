// The what-if engine's vocabulary: what it starts from (the cluster's config and current
// state, as one node's daemon knows it), what it is asked (nodes that fail, LANs that are
// cut) and what it predicts. Plain data: the API serves the prediction as it is.
import type { HeartbeatProfile, LanIndex, NodeId } from '../../membership/pure/types';
import type { ModulePolicy } from '../../module/pure/policy';
import type { ModuleAnnouncement } from '../../module/pure/types';
import type { MonitorPlan } from '../../rules/pure/plan';
import type { CheckerRole, ResourceClass, RuleAction } from '../../rules/pure/types';

/** One module on one node now. */
export interface WhatIfNodeNow {
  readonly node: NodeId;
  /** The node answers now (heard by heartbeat, or it is the snapshot's own node). */
  readonly reachable: boolean;
  /** Its last announcement of the module; null when it never announced it. */
  readonly announcement: ModuleAnnouncement | null;
  /** Effective failover setting on that node (operator override, else the policy); null: the policy's. */
  readonly failover: boolean | null;
}

export interface WhatIfModuleNow {
  /** The module machine's policy, exactly as the daemon runs it. */
  readonly policy: ModulePolicy;
  /** Farm: each farm node's power (userconfig), for the bucket table; null otherwise. */
  readonly powers: Readonly<Record<NodeId, number>> | null;
  /** Mirror: the LAN replication runs on; null: any heartbeat LAN the pair shares. */
  readonly replication_lan: LanIndex | null;
  readonly nodes: readonly WhatIfNodeNow[];
  /**
   * The module's checkers and failover rules exactly as its monitor runs them
   * (core/rules/pure/plan.ts); null: none known (the checkers and rules are not simulated).
   */
  readonly monitor?: MonitorPlan | null;
}

/** The cluster as one node's daemon knows it (core/whatif/snapshot.ts builds it). */
export interface WhatIfCluster {
  /** The node whose daemon took the snapshot. */
  readonly taken_by: NodeId;
  readonly lans: readonly { readonly index: LanIndex; readonly name: string }[];
  /** Every node and the heartbeat LANs it is on. */
  readonly nodes: readonly { readonly node: NodeId; readonly lans: readonly LanIndex[] }[];
  /** Membership's profile (the most demanding of the modules'). */
  readonly profile: HeartbeatProfile;
  readonly modules: readonly WhatIfModuleNow[];
}

/**
 * One fault, `at_ms` after the scenario's start (the first fault is usually at 0):
 * a node's power cut, a LAN cut, a node losing the witness, a module's application failing on
 * a node (its errd processes die, its tcp and custom checkers fail), or one checker failing.
 */
export type WhatIfFault =
  | { readonly kind: 'node'; readonly node: NodeId; readonly at_ms: number }
  | { readonly kind: 'lan'; readonly lan: LanIndex; readonly at_ms: number }
  | { readonly kind: 'witness'; readonly node: NodeId; readonly at_ms: number }
  | { readonly kind: 'app'; readonly module: string; readonly node: NodeId; readonly at_ms: number }
  | { readonly kind: 'checker'; readonly module: string; readonly resource: string; readonly node: NodeId; readonly at_ms: number };

/**
 * How long an application or checker fault lasts: to the horizon (`never`: every restart
 * fails again, the worst case), or until the module's application is started again on that
 * node (`restart`: a crash that one restart cures).
 */
export type FaultHeal = 'never' | 'restart';

export interface WhatIfScenario {
  /** Nodes that fail (power cut), at any time of the scenario. */
  readonly fail_nodes: readonly NodeId[];
  /** LANs cut between every node, at any time. */
  readonly cut_lans: readonly LanIndex[];
  /** Nodes that lose the witness too (default: every node still reaches it). */
  readonly witness_cut_from: readonly NodeId[];
  /** Every fault with its time, in time order (fail_nodes, cut_lans and witness_cut_from list the same nodes and LANs). */
  readonly faults: readonly WhatIfFault[];
  readonly heal: FaultHeal;
  /** How long each script is assumed to run. */
  readonly script_ms: number;
  /** How long a re-integration is assumed to take. */
  readonly sync_ms: number;
  /** Simulated time after the last fault. */
  readonly horizon_ms: number;
}

export const DEFAULT_SCRIPT_MS = 1_000;
export const DEFAULT_SYNC_MS = 2_000;
export const DEFAULT_HORIZON_MS = 60_000;
/** Upper bounds on what a caller may ask for (the simulation's cost grows with them). */
export const MAX_HORIZON_MS = 600_000;
export const MAX_SCRIPT_MS = 600_000;

export type TimelineKind = 'fault' | 'peer-lost' | 'state' | 'script' | 'vip' | 'witness' | 'buckets' | 'replication' | 'checker' | 'rule';

/** One thing that happens, `at_ms` after the fault. */
export interface TimelineEntry {
  readonly at_ms: number;
  readonly node: NodeId | null;
  readonly module: string | null;
  readonly kind: TimelineKind;
  readonly text: string;
}

export interface NodeOutcome {
  readonly node: NodeId;
  /** "STOP/NotReady", "PRIM/Ready"…; "DOWN" for a failed node, "UNKNOWN" when never announced. */
  readonly before: string;
  readonly after: string;
  readonly failed: boolean;
}

export interface BucketMove {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly count: number;
}

export interface FarmOutcome {
  /** Owner of each of the 256 buckets ('' none), before the fault and at the end. */
  readonly before: readonly string[];
  readonly after: readonly string[];
  readonly moves: readonly BucketMove[];
  /** When the last survivor applied its new member list (ms after the fault), null: no change. */
  readonly moved_at_ms: number | null;
}

export type WarningKind =
  | 'no-up-to-date-second'
  | 'failover-off'
  | 'not-served'
  | 'split-brain'
  | 'no-witness'
  | 'already-down'
  | 'not-steady'
  | 'not-settled'
  | 'no-peer'
  | 'not-watched'
  | 'checker-idle'
  | 'action-none'
  | 'maxloop'
  | 'stays-stopped'
  | 'waits';

export interface WhatIfWarning {
  readonly kind: WarningKind;
  readonly module: string | null;
  readonly message: string;
}

export interface ModulePrediction {
  readonly module: string;
  readonly mode: ModulePolicy['mode'];
  readonly nodes: readonly NodeOutcome[];
  /** Nodes holding the module's VIP (mirror: the serving node) before and at the end. */
  readonly vip_before: readonly NodeId[];
  readonly vip_after: readonly NodeId[];
  readonly farm: FarmOutcome | null;
  /** When the last change (state, script, VIP, bucket share) happened, ms after the fault; null: nothing changed. */
  readonly settled_ms: number | null;
  readonly warnings: readonly WhatIfWarning[];
  /** Per resource the scenario makes fail: the failover rule that applies and what it did. */
  readonly rules: readonly RuleOutcome[];
}

/** One rule action the engine took (after maxloop: a restart may have become a stop). */
export interface RuleActionTaken {
  readonly at_ms: number;
  /** A module command, or `hold`/`release`: the rules hold the farm node in WAIT for the resource, or let it go. */
  readonly action: 'restart' | 'stopstart' | 'stop' | 'start' | 'hold' | 'release';
}

/** A failing resource of a module on a node, the rule that applies to it and what happened. */
export interface RuleOutcome {
  readonly node: NodeId;
  readonly resource: string;
  readonly class: ResourceClass;
  /** When its checker runs (userconfig `when=`/`class=`). */
  readonly role: CheckerRole;
  /** The `<failover><rule name>` that sets the action; null: the checker's own action. */
  readonly rule: string | null;
  readonly action: RuleAction | 'none';
  readonly handle_time_ms: number;
  readonly maxloop: number;
  readonly loop_interval_ms: number;
  /** What the rule does, in words ("restart in place, more than 3 within 24 h: stop"). */
  readonly explains: string;
  /** When the resource was seen down (ms after the start), null: never (its checker did not run). */
  readonly down_at_ms: number | null;
  /** What the rules engine did about it, in order. */
  readonly taken: readonly RuleActionTaken[];
}

export interface WhatIfPrediction {
  readonly scenario: WhatIfScenario;
  readonly taken_by: NodeId;
  readonly modules: readonly ModulePrediction[];
  readonly timeline: readonly TimelineEntry[];
  readonly warnings: readonly WhatIfWarning[];
  /** What the prediction takes for granted (read them before trusting the times). */
  readonly assumptions: readonly string[];
}
