// How long a what-if world must run: until the last fault, then until nothing more can come
// of it. An application or checker fault is seen by its checker (interval × fall, the probe's
// timeout), acted on after handle_time, and may repeat up to maxloop times before the rules
// stop the module: the horizon and the quiet time grow with those of the failing checkers.
import { ERRD_START_GRACE_MS, RULES_TICK_MS } from '../../checkers/pure/host-behaviour';
import { ACT_RETRY_MS } from '../../rules/pure/engine';
import { appResources } from './app-resources';
import { DEFAULT_HORIZON_MS, MAX_HORIZON_MS, type WhatIfCluster, type WhatIfFault, type WhatIfModuleNow, type WhatIfScenario } from './types';

export function lastFaultMs(s: Pick<WhatIfScenario, 'faults'>): number {
  return Math.max(0, ...s.faults.map((f) => f.at_ms));
}

/** The resources a fault makes fail, per module. */
function failing(m: WhatIfModuleNow, faults: readonly WhatIfFault[]): string[] {
  const out = new Set<string>();
  for (const f of faults) {
    if (f.kind === 'app' && f.module === m.policy.module) for (const r of appResources(m)) out.add(r);
    if (f.kind === 'checker' && f.module === m.policy.module) out.add(f.resource);
  }
  return [...out];
}

/** Longest time from a fault to the rules acting on it, over the failing resources of a module (0: none). */
function detectMs(m: WhatIfModuleNow, faults: readonly WhatIfFault[]): number {
  const plan = m.monitor ?? null;
  if (plan === null) return 0;
  const names = failing(m, faults);
  const checks = plan.checks.filter((c) => names.includes(c.resource));
  if (checks.length === 0) return 0;
  const probe_ms = Math.max(...checks.flatMap((c) => c.targets.map((t) => t.timing.interval_ms * (t.timing.fall + 1) + t.timing.timeout_ms)));
  return probe_ms + ERRD_START_GRACE_MS + plan.rules.handle_time_ms + 2 * RULES_TICK_MS + ACT_RETRY_MS;
}

/** Added to the quiet time after the last timeline event: a failing checker may still be counting to its verdict. */
export function monitorQuietMs(c: WhatIfCluster, s: Pick<WhatIfScenario, 'faults'>): number {
  return Math.max(0, ...c.modules.map((m) => detectMs(m, s.faults)));
}

/**
 * Default horizon: one minute, or, with application or checker faults, room for every
 * restart the rules allow (maxloop) and the stop after them, each one detection plus a
 * stop and a start.
 */
export function defaultHorizonMs(c: WhatIfCluster, faults: readonly WhatIfFault[], script_ms: number): number {
  const cycles = c.modules.map((m) => {
    const d = detectMs(m, faults);
    if (d === 0) return 0;
    const maxloop = m.monitor?.rules.maxloop ?? m.policy.maxloop;
    return (maxloop + 2) * (d + 4 * script_ms);
  });
  return Math.min(MAX_HORIZON_MS, Math.max(DEFAULT_HORIZON_MS, ...cycles));
}
