// `hakit state -v` and `hakit state --json` with each module's monitoring: its resources, the
// failover rule of each, and the rule applied last (pure; the CLI fetches `resources`).
import type { ModuleStatus, StateResult } from '../../control/api';
import type { MonitorStatus } from '../../checkers/host';
import { formatMonitor } from './format';

/** A module of `state --json`: the control API's status plus `monitor` (null: the daemon has none for it). */
export type ModuleWithMonitor = ModuleStatus & { readonly monitor: MonitorStatus | null };
export type StateWithMonitors = Omit<StateResult, 'modules'> & { readonly modules: readonly ModuleWithMonitor[] };

export function withMonitors(r: StateResult, monitors: ReadonlyMap<string, MonitorStatus | null>): StateWithMonitors {
  return { ...r, modules: r.modules.map((m) => ({ ...m, monitor: monitors.get(m.module) ?? null })) };
}

/** The lines printed under a module by `state -v`, indented by two spaces. */
export function formatStateMonitor(m: MonitorStatus | null): string {
  if (m === null) return '  monitoring: not available';
  return formatMonitor(m)
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
