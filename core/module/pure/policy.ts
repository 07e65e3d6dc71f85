// The module machine's configuration input. The runner maps the typed userconfig onto it;
// this file must not depend on core/config (pure code stays independent of the parser).
import type { NodeId, HeartbeatProfile } from '../../membership/pure/types';
import type { ModuleMode, ScriptName } from './types';

export interface ModulePolicy {
  readonly module: string;
  readonly mode: ModuleMode;
  /** Every node of the module, this one included (mirror: exactly two). */
  readonly nodes: readonly NodeId[];
  readonly failover: boolean;
  /** Mirror: the node that takes the PRIM role back when it is SECOND and in sync. */
  readonly defaultprim: NodeId | null;
  /** More than `maxloop` automatic restarts within `loop_interval_ms` stop the module. */
  readonly maxloop: number;
  readonly loop_interval_ms: number;
  /** Mirror: a split-brain witness (lease arbitrator) is configured. */
  readonly hasWitness: boolean;
  /** Lease the node asks the witness for; renewed every `witness_renew_ms`. */
  readonly witness_lease_ms: number;
  readonly witness_renew_ms: number;
  /** The node begins stopping its application this long before its lease ends unrenewed. */
  readonly witness_stop_margin_ms: number;
  /** Largest relative clock-rate difference between a node and the witness (e.g. 0.01). */
  readonly max_clock_drift_ratio: number;
  readonly script_timeout_ms: Readonly<Record<ScriptName, number>>;
  /** Run the `transition` script on every state change. */
  readonly transitionScript: boolean;
  /** Farm/light: resources whose `down` sends the module to WAIT until they are back. */
  readonly waitOnResources: readonly string[];
  readonly heartbeat: HeartbeatProfile;
}

/** Heartbeat profiles (issue 4 item 2): detection within `timeout_ms` + one period. */
export const HEARTBEAT_PROFILES = {
  default: { name: 'default', period_ms: 500, timeout_ms: 2500 },
  fast: { name: 'fast', period_ms: 150, timeout_ms: 800 },
} as const satisfies Record<string, HeartbeatProfile>;

export const DEFAULT_SCRIPT_TIMEOUT_MS = 120_000;

export function defaultScriptTimeouts(timeout_ms: number = DEFAULT_SCRIPT_TIMEOUT_MS): Record<ScriptName, number> {
  return {
    prestart: timeout_ms,
    start_prim: timeout_ms,
    stop_prim: timeout_ms,
    start_second: timeout_ms,
    stop_second: timeout_ms,
    start_both: timeout_ms,
    stop_both: timeout_ms,
    poststop: timeout_ms,
    transition: timeout_ms,
  };
}

/** A complete policy with the documented defaults; tests and the runner override fields. */
export function defaultPolicy(module: string, mode: ModuleMode, nodes: readonly NodeId[], over: Partial<ModulePolicy> = {}): ModulePolicy {
  return {
    module,
    mode,
    nodes,
    failover: true,
    defaultprim: null,
    maxloop: 3,
    loop_interval_ms: 24 * 3600_000,
    hasWitness: false,
    witness_lease_ms: 6000,
    witness_renew_ms: 500,
    witness_stop_margin_ms: 2000,
    max_clock_drift_ratio: 0.01,
    script_timeout_ms: defaultScriptTimeouts(),
    transitionScript: false,
    waitOnResources: [],
    heartbeat: HEARTBEAT_PROFILES.default,
    ...over,
  };
}
