// The insight routes' shapes (pure): the what-if prediction in the contract's form, the
// bucket map from each node's own report of its filter, and state changes read back from
// module log lines (the machine logs every edge as "MODULE: FROM -> TO (why)").
import type { LogLine, NodeState } from '../contract/pure/types';
import { BUCKET_MAP_SIZE, type BucketMap, type BucketMapNode, type TransitionEvent, type WhatIfAnswer } from '../contract/pure/insight-types';
import type { WhatIfCluster, WhatIfPrediction } from '../../whatif/pure/types';

export function whatifAnswer(p: WhatIfPrediction, c: WhatIfCluster, api_version: number, at: string, computed_ms: number): WhatIfAnswer {
  return {
    api_version,
    answered_by: p.taken_by,
    at,
    scenario: {
      ...p.scenario,
      fail_nodes: [...p.scenario.fail_nodes],
      cut_lans: [...p.scenario.cut_lans],
      witness_cut_from: [...p.scenario.witness_cut_from],
      faults: p.scenario.faults.map((f) => ({ kind: f.kind, at_ms: f.at_ms, node: 'node' in f ? f.node : null, lan: f.kind === 'lan' ? f.lan : null, module: 'module' in f ? f.module : null, resource: f.kind === 'checker' ? f.resource : null })),
    },
    lans: c.lans.map((l) => ({ ...l })),
    modules: p.modules.map((m) => ({
      module: m.module,
      mode: m.mode,
      nodes: m.nodes.map((n) => ({ ...n })),
      vip_before: [...m.vip_before],
      vip_after: [...m.vip_after],
      farm: m.farm === null ? null : { before: [...m.farm.before], after: [...m.farm.after], moves: m.farm.moves.map((x) => ({ ...x })), moved_at_ms: m.farm.moved_at_ms },
      settled_ms: m.settled_ms,
      warnings: m.warnings.map((w) => ({ ...w })),
      rules: m.rules.map((r) => ({ ...r, taken: r.taken.map((t) => ({ ...t })) })),
    })),
    timeline: p.timeline.map((t) => ({ ...t })),
    warnings: p.warnings.map((w) => ({ ...w })),
    assumptions: [...p.assumptions],
    computed_ms,
  };
}

/** Each bucket's owner from what every node says its filter holds. */
export function bucketMap(module: string, answered_by: string, at: string, nodes: readonly NodeState[]): BucketMap {
  const claims: string[][] = Array.from({ length: BUCKET_MAP_SIZE }, () => []);
  const out: BucketMapNode[] = [];
  for (const n of nodes) {
    const m = n.modules.find((x) => x.module === module);
    const owned = n.reachable && m?.farm?.owned_buckets !== undefined ? [...m.farm.owned_buckets] : null;
    out.push({ node: n.node, reachable: n.reachable, state: m ? `${m.state}/${m.status}` : null, owned });
    for (const b of owned ?? []) if (Number.isInteger(b) && b >= 0 && b < BUCKET_MAP_SIZE) claims[b]?.push(n.node);
  }
  return { module, answered_by, at, owners: claims.map((c) => c.sort().join('+')), nodes: out };
}

const EDGE = /^(\S+): (\w+) -> (\w+) \((.*)\)$/;

/** A state change of a module, or null for any other log line. */
export function transitionOf(l: LogLine): TransitionEvent | null {
  const m = EDGE.exec(l.msg);
  if (m === null) return null;
  return { time: l.time, node: l.node, module: m[1] ?? '', from: m[2] ?? '', to: m[3] ?? '', why: m[4] ?? '', level: l.level };
}

/** Several nodes' events, merged by time (oldest first), the newest `max` kept. */
export function mergeTransitions(lists: readonly (readonly TransitionEvent[])[], max: number): TransitionEvent[] {
  const all = lists.flat().slice();
  all.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  return all.slice(Math.max(0, all.length - max));
}
