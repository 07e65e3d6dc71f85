// A what-if question (as the API receives it) checked against the cluster: unknown nodes or
// LANs are coded errors, numbers are bounded and defaulted.
import { HakitError } from '../../errors/catalogue';
import { DEFAULT_HORIZON_MS, DEFAULT_SCRIPT_MS, DEFAULT_SYNC_MS, MAX_HORIZON_MS, MAX_SCRIPT_MS, type WhatIfCluster, type WhatIfScenario } from './types';

export interface WhatIfQuestion {
  readonly fail?: readonly string[];
  /** LAN names (cluster.xml) or indexes. */
  readonly cut?: readonly string[];
  readonly witness_cut?: readonly string[];
  readonly script_ms?: number;
  readonly sync_ms?: number;
  readonly horizon_ms?: number;
}

function clamp(v: number | undefined, dflt: number, max: number): number {
  if (v === undefined || !Number.isFinite(v)) return dflt;
  return Math.min(max, Math.max(0, Math.round(v)));
}

export function makeScenario(c: WhatIfCluster, q: WhatIfQuestion): WhatIfScenario {
  const known = c.nodes.map((n) => n.node);
  const node = (n: string): string => {
    if (!known.includes(n)) throw new HakitError('HAKIT_E_WHATIF_UNKNOWN_NODE', `no node "${n}" (nodes: ${known.join(', ')})`, 'what-if');
    return n;
  };
  const lan = (l: string): number => {
    const byName = c.lans.find((x) => x.name === l);
    if (byName !== undefined) return byName.index;
    const byIndex = /^\d+$/.test(l) ? c.lans.find((x) => x.index === Number(l)) : undefined;
    if (byIndex !== undefined) return byIndex.index;
    throw new HakitError('HAKIT_E_WHATIF_UNKNOWN_LAN', `no heartbeat LAN "${l}" (LANs: ${c.lans.map((x) => x.name).join(', ')})`, 'what-if');
  };
  const fail_nodes = [...new Set((q.fail ?? []).map(node))];
  const cut_lans = [...new Set((q.cut ?? []).map(lan))];
  if (fail_nodes.length === 0 && cut_lans.length === 0) throw new HakitError('HAKIT_E_WHATIF_EMPTY', 'name a node that fails or a LAN that is cut', 'what-if');
  return {
    fail_nodes,
    cut_lans,
    witness_cut_from: [...new Set((q.witness_cut ?? []).map(node))],
    script_ms: clamp(q.script_ms, DEFAULT_SCRIPT_MS, MAX_SCRIPT_MS),
    sync_ms: clamp(q.sync_ms, DEFAULT_SYNC_MS, MAX_SCRIPT_MS),
    horizon_ms: clamp(q.horizon_ms, DEFAULT_HORIZON_MS, MAX_HORIZON_MS),
  };
}
