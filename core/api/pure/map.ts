// From the control socket's answers (core/control/api.ts, core/monitor/api.ts, the mirror
// handlers) to the API contract's shapes (pure). The API runs the very same control
// commands; only the casing and the grouping change here.
import type { ModuleStatus, StateResult } from '../../control/api';
import type { MonitorStatus } from '../../monitor/api';
import type { MirrorStatusResult } from '../../daemon/mirror-handlers';
import type { FarmStatus } from '../../farm/controller';
import { replicationProgress } from '../../mirror/pure/progress';
import type { CodedError, LogLevel, LogLine, ModuleOnNode, ModuleResources, NodeState, ReplicationStatus, ResourceChange } from '../contract/pure/types';

export function moduleOnNode(node: string, m: ModuleStatus): ModuleOnNode {
  const farm = (m as ModuleStatus & { farm?: FarmStatus }).farm;
  return {
    module: m.module,
    node,
    mode: m.mode,
    state: m.state,
    status: m.status,
    epoch: m.epoch,
    copy_complete: m.copyComplete,
    failover: m.failover,
    boot: m.boot,
    peers: m.peers.map((p) => ({ node: p.node, reachable: p.reachable, lans_up: [...p.lansUp], state: p.state, status: p.status })),
    farm: farm
      ? { share: farm.share, assigned: farm.assigned, members: [...farm.members], counts: { ...farm.counts }, default_owner: farm.default_owner, waiting_for: [...farm.waiting_for], filter: farm.filter, leaving: farm.leaving, error: farm.error, ...(farm.owned !== undefined ? { owned_buckets: [...farm.owned] } : {}) }
      : null,
    last_error: m.last_error,
    ...(m.approval ? { approval: { ...m.approval } } : {}),
  };
}

export function nodeState(r: StateResult): NodeState {
  return { node: r.node, reachable: true, error: null, modules: r.modules.map((m) => moduleOnNode(r.node, m)), not_loaded: [...(r.not_loaded ?? [])] };
}

/** The monitor switches (errd, checkers) of each module that has a monitor, added to its state. */
export function withMonitorSwitches(st: NodeState, monitors: ReadonlyMap<string, { readonly errd: boolean; readonly checkers: boolean }>): NodeState {
  return {
    ...st,
    modules: st.modules.map((m) => {
      const s = monitors.get(m.module);
      return s ? { ...m, checkers: s.checkers, errd: s.errd } : m;
    }),
  };
}

export function unreachableNode(node: string, error: CodedError): NodeState {
  return { node, reachable: false, error, modules: [], not_loaded: [] };
}

export function moduleResources(node: string, s: MonitorStatus, history: readonly ResourceChange[]): ModuleResources {
  return {
    module: s.module,
    node,
    errd: s.errd,
    checkers: s.checkers,
    held: [...s.held],
    last_rule: s.last_rule,
    resources: s.resources.map((r) => ({ ...r, targets: [...r.targets] })),
    history,
  };
}

export function replicationStatus(r: MirrorStatusResult): ReplicationStatus {
  const last = r.last as { state?: string; mode?: string; shipped_bytes?: number; pending_files?: number; pending_bytes?: number; rate_bytes_per_s?: number; eta_s?: number | null } | null;
  const syncing = last?.state === 'syncing';
  const in_sync = r.engine === 'prim' ? last?.state === 'in_sync' : r.engine === 'second' ? r.copy_complete : null;
  return {
    module: r.module,
    node: r.node,
    engine: r.engine,
    in_sync,
    pending_bytes: syncing ? (last?.pending_bytes ?? null) : last?.state === 'in_sync' ? 0 : null,
    rate_bytes_per_s: syncing ? (last?.rate_bytes_per_s ?? null) : null,
    eta_s: syncing ? (last?.eta_s ?? null) : last?.state === 'in_sync' ? 0 : null,
    shipped_bytes: syncing ? (last?.shipped_bytes ?? null) : null,
    pending_files: syncing ? (last?.pending_files ?? null) : last?.state === 'in_sync' ? 0 : null,
    reintegration_mode: syncing ? (last?.mode ?? null) : null,
    phase: replicationProgress({ engine: r.engine, last: r.last, copy_complete: r.copy_complete, bytes_applied: r.bytes_applied }).phase,
    bytes_applied: r.bytes_applied,
    ops_applied: r.ops_applied,
    last: r.last,
    ...(r.last_verify !== undefined ? { last_verify: r.last_verify } : {}),
    ...(r.fence_wait_ms !== undefined ? { fence_wait_ms: r.fence_wait_ms } : {}),
    ...(r.journal_emptied_ms !== undefined ? { journal_emptied_ms: r.journal_emptied_ms } : {}),
  };
}

const PINO_LEVELS: Readonly<Record<number, LogLevel>> = { 60: 'fatal', 50: 'error', 40: 'warn', 30: 'info', 20: 'debug', 10: 'trace' };

/** One pino JSON line of a hakit log; null for a line that is not one (a torn write, say). */
export function logLine(text: string, fallback_node: string): LogLine | null {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof j !== 'object' || j === null || Array.isArray(j)) return null;
  const { time, level, node, module, msg, pid: _pid, hostname: _h, ...fields } = j as Record<string, unknown>;
  return {
    time: typeof time === 'string' ? time : typeof time === 'number' ? new Date(time).toISOString() : '',
    level: PINO_LEVELS[typeof level === 'number' ? level : 30] ?? 'info',
    node: typeof node === 'string' ? node : fallback_node,
    module: typeof module === 'string' ? module : null,
    msg: typeof msg === 'string' ? msg : '',
    fields,
  };
}
