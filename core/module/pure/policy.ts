// The module machine's configuration input. The runner maps the typed userconfig onto it;
// this file must not depend on core/config (pure code stays independent of the parser).
import type { NodeId, HeartbeatProfile } from '../../membership/pure/types';
import type { ModuleMode, ScriptName } from './types';

export type FailoverMode = 'auto' | 'manual';

export interface ModulePolicy {
  readonly module: string;
  readonly mode: ModuleMode;
  /** Every node of the module, this one included (mirror: exactly two). */
  readonly nodes: readonly NodeId[];
  readonly failover: boolean;
  /**
   * Mirror, with failover on: `manual` makes a survivor that lost its peer wait (WAIT/Approval)
   * for `hakit failover approve` or `approval_timer_ms` instead of taking over (docs/geo.md).
   */
  readonly failover_mode: FailoverMode;
  /** Manual failover: the survivor takes over by itself this long after it began waiting; null: never. */
  readonly approval_timer_ms: number | null;
  /** Mirror: the node that takes the PRIM role back when it is SECOND and in sync. */
  readonly defaultprim: NodeId | null;
  /** More than `maxloop` automatic restarts within `loop_interval_ms` stop the module. */
  readonly maxloop: number;
  readonly loop_interval_ms: number;
  /** Mirror: a split-brain witness (lease arbitrator) is configured. */
  readonly hasWitness: boolean;
  /** Lease the node asks the witness for; renewed every `witness_renew_ms` (witnessTiming). */
  readonly witness_lease_ms: number;
  readonly witness_renew_ms: number;
  /** The node begins stopping its application this long before its lease ends unrenewed. */
  readonly witness_stop_margin_ms: number;
  /** Largest relative clock-rate difference between a node and the witness (e.g. 0.01). */
  readonly max_clock_drift_ratio: number;
  readonly script_timeout_ms: Readonly<Record<ScriptName, number>>;
  /** Timeout of a stop script's second run, with the argument `force` (`<user forcestoptimeout>`). */
  readonly force_stop_timeout_ms: number;
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
  /** Between sites (docs/geo.md): pulse 1 s, lost after 5 s of silence; lease (5000 + 1000 + 2000) / 0.98 → 8200 ms. */
  wan: { name: 'wan', period_ms: 1000, timeout_ms: 5000 },
} as const satisfies Record<string, HeartbeatProfile>;

export const DEFAULT_SCRIPT_TIMEOUT_MS = 120_000;

/**
 * Largest relative clock-rate difference assumed between a node and the witness. NTP keeps
 * real clocks within 0.05 %; the simulation drifts each clock by up to 0.5 %; 1 % covers both.
 */
export const MAX_CLOCK_DRIFT_RATIO = 0.01;
/**
 * The serving node begins stopping its application this long before its lease ends unrenewed:
 * the time stop_prim and the VIP removal get before the witness may grant the peer. It follows
 * the detection timeout (an application run under the fast profile must stop fast too),
 * within these bounds.
 */
export const WITNESS_STOP_MARGIN_MIN_MS = 1000;
export const WITNESS_STOP_MARGIN_MAX_MS = 2000;
/** Leases are rounded up to this step (readable logs; a few ms do not matter). */
const LEASE_STEP_MS = 100;
/** The longest lease a witness grants, and what it assumes for a holder after its own restart. */
export const MAX_WITNESS_LEASE_MS = 10_000;

export interface WitnessTiming {
  readonly lease_ms: number;
  readonly renew_ms: number;
  readonly stop_margin_ms: number;
}

/**
 * Witness timing as a function of the heartbeat profile: the one source of truth for the lease
 * (the node asks the witness for `lease_ms`; `hakit-witness` grants it, capped).
 *
 * - renew every heartbeat period: witness traffic is as frequent as heartbeats, no more;
 * - a serving node must tolerate silence from the witness as long as it tolerates silence from
 *   its peer (timeout + one renewal), else a lossy witness path would stop a healthy primary
 *   more often than a lossy heartbeat path would fail it over;
 * - plus the stop margin, all stretched by the drift allowance (the node counts its lease
 *   `lease × (1 − 2·drift)` from the request's send time).
 *
 * So lease = (timeout + period + margin) / (1 − 2·drift), rounded up: default (2500 + 500 +
 * 2000) / 0.98 → 5200 ms; fast (800 + 150 + 1000) / 0.98 → 2000 ms. A survivor takes over when
 * the dead primary's lease ends at the witness: about one lease after a power cut, instead of
 * the 6–8 s fixed leases used before.
 */
export function witnessTiming(hb: HeartbeatProfile, drift_ratio: number = MAX_CLOCK_DRIFT_RATIO): WitnessTiming {
  const stop_margin_ms = Math.min(WITNESS_STOP_MARGIN_MAX_MS, Math.max(WITNESS_STOP_MARGIN_MIN_MS, hb.timeout_ms));
  const renew_ms = hb.period_ms;
  const raw_ms = (hb.timeout_ms + renew_ms + stop_margin_ms) / (1 - 2 * drift_ratio);
  const lease_ms = Math.min(MAX_WITNESS_LEASE_MS, Math.ceil(raw_ms / LEASE_STEP_MS) * LEASE_STEP_MS);
  return { lease_ms, renew_ms, stop_margin_ms };
}

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
  const heartbeat = over.heartbeat ?? HEARTBEAT_PROFILES.default;
  const max_clock_drift_ratio = over.max_clock_drift_ratio ?? MAX_CLOCK_DRIFT_RATIO;
  const witness = witnessTiming(heartbeat, max_clock_drift_ratio);
  return {
    module,
    mode,
    nodes,
    failover: true,
    failover_mode: 'auto',
    approval_timer_ms: null,
    defaultprim: null,
    maxloop: 3,
    loop_interval_ms: 24 * 3600_000,
    hasWitness: false,
    witness_lease_ms: witness.lease_ms,
    witness_renew_ms: witness.renew_ms,
    witness_stop_margin_ms: witness.stop_margin_ms,
    max_clock_drift_ratio,
    script_timeout_ms: defaultScriptTimeouts(),
    force_stop_timeout_ms: DEFAULT_SCRIPT_TIMEOUT_MS,
    transitionScript: false,
    waitOnResources: [],
    heartbeat,
    ...over,
  };
}
