// What the console's insight routes answer: the what-if prediction, a farm module's bucket
// map (the owner of each of the 256 buckets, as each node's filter holds them) and the
// cluster-wide timeline of state changes. Self-contained like types.ts.

/** The question, as the engine understood it (names resolved, numbers bounded). */
export interface WhatIfScenarioInfo {
  readonly fail_nodes: readonly string[];
  readonly cut_lans: readonly number[];
  readonly witness_cut_from: readonly string[];
  readonly script_ms: number;
  readonly sync_ms: number;
  /** Simulated time after the last fault. */
  readonly horizon_ms: number;
  /** Every fault with its time after the start, in time order (absent from older nodes). */
  readonly faults?: readonly WhatIfFaultInfo[];
  /** `never`: an application or checker fault lasts to the horizon; `restart`: it ends when the application is started again on that node. */
  readonly heal?: 'never' | 'restart';
}

/** One fault of the question: a node's power cut, a LAN cut, a node losing the witness, a module's application or one checker failing on a node. */
export interface WhatIfFaultInfo {
  readonly kind: 'node' | 'lan' | 'witness' | 'app' | 'checker';
  /** ms after the start. */
  readonly at_ms: number;
  readonly node: string | null;
  readonly lan: number | null;
  readonly module: string | null;
  /** `class.ident` of the failing checker (kind checker). */
  readonly resource: string | null;
}

export type WhatIfTimelineKind = 'fault' | 'peer-lost' | 'state' | 'script' | 'vip' | 'witness' | 'buckets' | 'replication' | 'checker' | 'rule';

export interface WhatIfTimelineEntry {
  /** ms after the fault. */
  readonly at_ms: number;
  readonly node: string | null;
  readonly module: string | null;
  readonly kind: WhatIfTimelineKind;
  readonly text: string;
}

export interface WhatIfNodeOutcome {
  readonly node: string;
  /** "PRIM/Ready"…, "DOWN" (failed or not answering), "UNKNOWN" (never announced). */
  readonly before: string;
  readonly after: string;
  readonly failed: boolean;
}

export interface WhatIfWarningInfo {
  readonly kind: string;
  readonly module: string | null;
  readonly message: string;
}

export interface WhatIfFarmOutcome {
  /** 256 owners ('' none), before the fault and at the end. */
  readonly before: readonly string[];
  readonly after: readonly string[];
  readonly moves: readonly { readonly from: string; readonly to: string; readonly count: number }[];
  readonly moved_at_ms: number | null;
}

export interface WhatIfModuleOutcome {
  readonly module: string;
  readonly mode: 'mirror' | 'farm' | 'light';
  readonly nodes: readonly WhatIfNodeOutcome[];
  readonly vip_before: readonly string[];
  readonly vip_after: readonly string[];
  readonly farm: WhatIfFarmOutcome | null;
  readonly settled_ms: number | null;
  readonly warnings: readonly WhatIfWarningInfo[];
  /** Per failing checker of the module: the failover rule that applies and what the rules engine did (absent from older nodes). */
  readonly rules?: readonly WhatIfRuleOutcome[];
}

export interface WhatIfRuleOutcome {
  readonly node: string;
  /** `class.ident`, e.g. `errd.httpd`, `ping.router`. */
  readonly resource: string;
  readonly class: string;
  /** When its checker runs: prim, second, both, pre, always. */
  readonly role: string;
  /** The userconfig `<failover><rule name>` that sets the action; null: the checker's own. */
  readonly rule: string | null;
  /** restart, stopstart, stop, wait or none. */
  readonly action: string;
  readonly handle_time_ms: number;
  readonly maxloop: number;
  readonly loop_interval_ms: number;
  /** What the rule does, in words. */
  readonly explains: string;
  /** When its checker saw it down (ms after the start); null: never (the checker did not run there). */
  readonly down_at_ms: number | null;
  /** The rules engine's actions, in order: restart, stopstart, stop, start (a wait is over), hold / release (farm WAIT). */
  readonly taken: readonly { readonly at_ms: number; readonly action: string }[];
}

export interface WhatIfAnswer {
  readonly api_version: number;
  readonly answered_by: string;
  readonly at: string;
  readonly scenario: WhatIfScenarioInfo;
  readonly lans: readonly { readonly index: number; readonly name: string }[];
  readonly modules: readonly WhatIfModuleOutcome[];
  readonly timeline: readonly WhatIfTimelineEntry[];
  readonly warnings: readonly WhatIfWarningInfo[];
  readonly assumptions: readonly string[];
  /** Wall time the simulation took on the answering node. */
  readonly computed_ms: number;
}

/** What the console offers to ask: the cluster's nodes and heartbeat LANs. */
export interface WhatIfChoices {
  /** False when this node cannot answer what-if questions now (reason says why). */
  readonly available: boolean;
  readonly reason: string | null;
  readonly nodes: readonly string[];
  readonly lans: readonly { readonly index: number; readonly name: string }[];
  readonly witness: boolean;
  /** The modules this node hosts, with their checkers, for application and checker faults (absent from older nodes). */
  readonly modules?: readonly WhatIfModuleChoice[];
}

export interface WhatIfModuleChoice {
  readonly module: string;
  readonly mode: 'mirror' | 'farm' | 'light';
  readonly nodes: readonly string[];
  /** The checkers an application failure makes fail (errd, tcp, custom); empty: nothing watches the application. */
  readonly app_checkers: readonly string[];
  readonly checkers: readonly { readonly resource: string; readonly class: string; readonly role: string; readonly action: string; readonly rule: string | null }[];
}

// ---------------------------------------------------------------- farm bucket map

export const BUCKET_MAP_SIZE = 256;

export interface BucketMapNode {
  readonly node: string;
  readonly reachable: boolean;
  readonly state: string | null;
  /** Buckets this node's filter owns now; null when it did not say (unreachable, older node). */
  readonly owned: readonly number[] | null;
}

export interface BucketMap {
  readonly module: string;
  readonly answered_by: string;
  readonly at: string;
  /**
   * Owner of each bucket as the nodes' filters hold them now: a node name, '' when no node
   * accepts it (a hand-over in progress, or nobody UP), or names joined by '+' when several
   * nodes claim it (must never last).
   */
  readonly owners: readonly string[];
  readonly nodes: readonly BucketMapNode[];
}

// ---------------------------------------------------------------- cluster timeline

export interface TransitionEvent {
  /** ISO time of the node's log line. */
  readonly time: string;
  readonly node: string;
  readonly module: string;
  readonly from: string;
  readonly to: string;
  /** Why the machine took the edge (operator command or rule), as the log line says. */
  readonly why: string;
  readonly level: string;
}

export interface TransitionPage {
  readonly answered_by: string;
  /** Newest last. */
  readonly events: readonly TransitionEvent[];
  /** Nodes that did not answer, and why. */
  readonly missing: readonly { readonly node: string; readonly code: string; readonly message: string }[];
}
