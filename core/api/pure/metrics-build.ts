// The families /metrics serves (pure): this node's view, labelled by node. Scrape every
// node (each answers for itself here; the REST routes aggregate, Prometheus does not need
// us to). See docs/api.md "Metrics" for the list.
import type { MonitorStatus } from '../../monitor/api';
import { MODULE_STATES, REPLICATION_PHASES, type NodeState, type ReplicationStatus } from '../contract/pure/types';
import type { MetricFamily, Sample } from './metrics-text';

export interface MetricsInput {
  readonly node: string;
  readonly state: NodeState | null;
  readonly monitors: ReadonlyMap<string, MonitorStatus>;
  readonly replication: ReadonlyMap<string, ReplicationStatus>;
  readonly failovers: ReadonlyMap<string, number>;
  readonly transitions: ReadonlyMap<string, number>;
  /** Heartbeat packets dropped by this node's transport, by reason (core/membership). */
  readonly heartbeat_drops: Readonly<Record<string, number>> | null;
  readonly api_answers: ReadonlyMap<number, number>;
  readonly sessions: number;
  readonly process: { readonly rss_bytes: number; readonly cpu_seconds: number; readonly uptime_s: number };
}

function fam(name: string, help: string, type: 'gauge' | 'counter', samples: Sample[]): MetricFamily {
  return { name, help, type, samples };
}

export function buildMetrics(i: MetricsInput): MetricFamily[] {
  const node = i.node;
  const mods = i.state?.modules ?? [];
  const out: MetricFamily[] = [];
  out.push(fam('hakit_up', '1 when hakitd answered the API on this node', 'gauge', [{ labels: { node }, value: i.state ? 1 : 0 }]));
  out.push(
    fam(
      'hakit_module_state',
      'Module state on this node (1 for the current state)',
      'gauge',
      mods.flatMap((m) => MODULE_STATES.filter((s) => m.mode !== 'mirror' ? ['STOP', 'WAIT', 'UP'].includes(s) : s !== 'UP').map((s) => ({ labels: { node, module: m.module, state: s }, value: m.state === s ? 1 : 0 }))),
    ),
  );
  out.push(fam('hakit_module_ready', 'Module settled in a Ready sub-status (1), Transient or NotReady (0)', 'gauge', mods.map((m) => ({ labels: { node, module: m.module, status: m.status }, value: m.status === 'Ready' ? 1 : 0 }))));
  out.push(fam('hakit_module_copy_complete', '1 when this node knows its copy of the module\'s data is complete', 'gauge', mods.filter((m) => m.mode === 'mirror').map((m) => ({ labels: { node, module: m.module }, value: m.copy_complete ? 1 : 0 }))));
  out.push(fam('hakit_module_failover_enabled', 'Automatic failover on (1) or off (0)', 'gauge', mods.map((m) => ({ labels: { node, module: m.module }, value: m.failover ? 1 : 0 }))));
  out.push(fam('hakit_failovers_total', 'Takeovers on this node (SECOND or WAIT to PRIM or ALONE) since hakitd started', 'counter', mods.map((m) => ({ labels: { node, module: m.module }, value: i.failovers.get(m.module) ?? 0 }))));
  out.push(fam('hakit_state_changes_total', 'Module state changes on this node since hakitd started', 'counter', mods.map((m) => ({ labels: { node, module: m.module }, value: i.transitions.get(m.module) ?? 0 }))));
  const peerLan = new Map<string, Sample>();
  for (const m of mods) {
    for (const p of m.peers) {
      peerLan.set(`${p.node}`, { labels: { node, peer: p.node }, value: p.reachable ? 1 : 0 });
      for (const lan of p.lans_up) peerLan.set(`${p.node}/${lan}`, { labels: { node, peer: p.node, lan: String(lan) }, value: 1 });
    }
  }
  out.push(fam('hakit_peer_reachable', 'Peer heard on at least one LAN (1) or silent on all (0)', 'gauge', [...peerLan.entries()].filter(([k]) => !k.includes('/')).map(([, s]) => s)));
  out.push(fam('hakit_peer_lan_up', 'Peer heard on this LAN (index in cluster.xml order)', 'gauge', [...peerLan.entries()].filter(([k]) => k.includes('/')).map(([, s]) => s)));
  out.push(fam('hakit_heartbeat_dropped_total', 'Heartbeat packets this node dropped, by reason', 'counter', Object.entries(i.heartbeat_drops ?? {}).map(([reason, v]) => ({ labels: { node, reason }, value: v }))));
  const repl = [...i.replication.values()];
  out.push(fam('hakit_replication_in_sync', 'Mirror copy in sync (1), not (0)', 'gauge', repl.filter((r) => r.in_sync !== null).map((r) => ({ labels: { node, module: r.module, engine: r.engine }, value: r.in_sync ? 1 : 0 }))));
  // One-hot as hakit_module_state: an alert can tell a re-integration that lasts from a PRIM
  // left ALONE, which in_sync=0 alone cannot.
  out.push(fam('hakit_replication_phase', 'Replication phase on this node (1 for the current one; GET …/replication phase)', 'gauge', repl.flatMap((r) => (r.phase === undefined ? [] : REPLICATION_PHASES.map((p) => ({ labels: { node, module: r.module, engine: r.engine, phase: p }, value: r.phase === p ? 1 : 0 }))))));
  out.push(fam('hakit_replication_pending_bytes', 'Bytes re-integration still has to ship', 'gauge', repl.filter((r) => r.pending_bytes !== null).map((r) => ({ labels: { node, module: r.module }, value: r.pending_bytes as number }))));
  out.push(fam('hakit_replication_rate_bytes_per_second', 'Re-integration rate', 'gauge', repl.filter((r) => r.rate_bytes_per_s !== null).map((r) => ({ labels: { node, module: r.module }, value: r.rate_bytes_per_s as number }))));
  out.push(fam('hakit_replication_journal_emptied', 'PRIM journal emptied because its disk refused a record (1): a crash of this node costs a full comparison', 'gauge', repl.filter((r) => r.engine === 'prim').map((r) => ({ labels: { node, module: r.module }, value: typeof r.journal_emptied_ms === 'number' ? 1 : 0 }))));
  out.push(fam('hakit_replication_applied_bytes_total', 'Bytes the SECOND applied to its copy since its engine started', 'counter', repl.filter((r) => r.bytes_applied !== null).map((r) => ({ labels: { node, module: r.module }, value: r.bytes_applied as number }))));
  out.push(
    fam(
      'hakit_farm_buckets',
      'Farm buckets (of 256) the member table gives each member',
      'gauge',
      mods.flatMap((m) => (m.farm ? Object.entries(m.farm.counts).map(([member, v]) => ({ labels: { node, module: m.module, member }, value: v })) : [])),
    ),
  );
  out.push(fam('hakit_farm_buckets_owned', 'Farm buckets this node filters in now', 'gauge', mods.filter((m) => m.farm).map((m) => ({ labels: { node, module: m.module }, value: Number((m.farm?.share ?? '0/256').split('/')[0]) || 0 }))));
  const res: Sample[] = [];
  for (const [module, s] of i.monitors) for (const r of s.resources) for (const st of ['init', 'up', 'down']) res.push({ labels: { node, module, resource: r.name, state: st }, value: r.state === st ? 1 : 0 });
  out.push(fam('hakit_resource_state', 'Checker resource state (1 for the current state)', 'gauge', res));
  out.push(fam('hakit_api_answers_total', 'API answers by HTTP status since hakitd started', 'counter', [...i.api_answers].map(([code, v]) => ({ labels: { node, code: String(code) }, value: v }))));
  out.push(fam('hakit_api_sessions', 'Console sessions open on this node', 'gauge', [{ labels: { node }, value: i.sessions }]));
  out.push(fam('hakit_process_resident_memory_bytes', 'hakitd resident memory', 'gauge', [{ labels: { node }, value: i.process.rss_bytes }]));
  out.push(fam('hakit_process_cpu_seconds_total', 'hakitd CPU time (user + system)', 'counter', [{ labels: { node }, value: i.process.cpu_seconds }]));
  out.push(fam('hakit_process_uptime_seconds', 'Seconds since hakitd started', 'gauge', [{ labels: { node }, value: i.process.uptime_s }]));
  return out;
}
