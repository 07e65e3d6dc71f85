// The console's model of the cluster: the last /state answer, kept current by the socket's
// state and node events. Pure reducers; the view renders `gridOf`.
import type { StateEvent, NodeEvent } from '../../core/api/contract/events';
import type { ClusterState, ModuleOnNode, NodeState, PeerView } from '../../core/api/contract/pure/types';

export interface TimelineEntry {
  readonly at: string;
  readonly node: string;
  readonly module: string;
  readonly from: string;
  readonly to: string;
}

export interface ClusterView {
  readonly answered_by: string;
  readonly nodes: readonly NodeState[];
  /** Newest last; bounded. */
  readonly timeline: readonly TimelineEntry[];
}

export const TIMELINE_MAX = 500;

export function fromState(s: ClusterState, timeline: readonly TimelineEntry[] = []): ClusterView {
  return { answered_by: s.answered_by, nodes: s.nodes, timeline };
}

function describe(x: { state: string; status: string } | null): string {
  return x ? `${x.state} (${x.status})` : 'gone';
}

export function applyState(v: ClusterView, e: StateEvent): ClusterView {
  let found = false;
  const nodes = v.nodes.map((n) => {
    if (n.node !== e.node) return n;
    found = true;
    const others = n.modules.filter((m) => m.module !== e.module);
    const modules = e.current ? [...others, e.current].sort((a, b) => a.module.localeCompare(b.module)) : others;
    return { ...n, reachable: true, error: null, modules };
  });
  if (!found && e.current) nodes.push({ node: e.node, reachable: true, error: null, modules: [e.current], not_loaded: [] });
  const entry: TimelineEntry = { at: e.at, node: e.node, module: e.module, from: describe(e.previous), to: describe(e.current) };
  // Only state or status changes make the timeline (a peer's reachability, a share… do not).
  if (entry.from === entry.to) return { ...v, nodes };
  return { ...v, nodes, timeline: [...v.timeline, entry].slice(-TIMELINE_MAX) };
}

export function applyNode(v: ClusterView, e: NodeEvent): ClusterView {
  return { ...v, nodes: v.nodes.map((n) => (n.node === e.node ? { ...n, reachable: e.reachable } : n)) };
}

export interface Grid {
  readonly modules: readonly string[];
  readonly nodes: readonly string[];
  /** heartbeat_lost: every other answering node's heartbeat view of `node` for this module says unreachable. */
  cell(module: string, node: string): { m: ModuleOnNode | null; reachable: boolean; via: PeerView | null; heartbeat_lost: boolean };
}

/** Modules × nodes. `cluster_nodes` (from /cluster) keeps a node's column even when it answers nothing. */
export function gridOf(v: ClusterView, cluster_nodes: readonly string[]): Grid {
  const nodes = [...new Set([...cluster_nodes, ...v.nodes.map((n) => n.node)])];
  const modules = [...new Set(v.nodes.flatMap((n) => n.modules.map((m) => m.module)))].sort();
  const byNode = new Map(v.nodes.map((n) => [n.node, n]));
  return {
    modules,
    nodes,
    cell(module, node) {
      const n = byNode.get(node);
      const m = n?.modules.find((x) => x.module === module) ?? null;
      const views: PeerView[] = [];
      for (const other of v.nodes) {
        if (other.node === node || !other.reachable) continue;
        const p = other.modules.find((x) => x.module === module)?.peers.find((x) => x.node === node);
        if (p) views.push(p);
      }
      const via = m ? null : (views.find((p) => p.reachable) ?? views[0] ?? null);
      const heartbeat_lost = views.length > 0 && views.every((p) => !p.reachable);
      return { m, reachable: n?.reachable ?? false, via, heartbeat_lost };
    },
  };
}

/**
 * True when the console's own node (the one that answered) sees none of the others: every
 * peer of every one of its modules is unreachable by heartbeat, and no other node answers
 * the API. Then the whole view may be stale or split-brained, and the operator must know.
 */
export function ownNodeIsolated(v: ClusterView, cluster_nodes: readonly string[]): boolean {
  const others = cluster_nodes.filter((n) => n !== v.answered_by);
  if (others.length === 0) return false;
  const me = v.nodes.find((n) => n.node === v.answered_by);
  const peerReach = (me?.modules ?? []).flatMap((m) => m.peers).filter((p) => others.includes(p.node));
  const anyPeerSeen = peerReach.some((p) => p.reachable);
  const anyApiSeen = v.nodes.some((n) => n.node !== v.answered_by && n.reachable);
  return !anyPeerSeen && !anyApiSeen;
}
