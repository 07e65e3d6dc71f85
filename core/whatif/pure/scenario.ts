// A what-if question (as the API receives it) checked against the cluster: unknown nodes,
// LANs, modules or checkers are coded errors, numbers are bounded and defaulted. Every fault
// may carry a delay, `NAME+MS`: it comes MS after the scenario starts (sequences of faults).
import { HakitError } from '../../errors/catalogue';
import { defaultHorizonMs } from './horizon';
import { DEFAULT_SCRIPT_MS, DEFAULT_SYNC_MS, MAX_HORIZON_MS, MAX_SCRIPT_MS, type FaultHeal, type WhatIfCluster, type WhatIfFault, type WhatIfModuleNow, type WhatIfScenario } from './types';

export interface WhatIfQuestion {
  /** `NODE` or `NODE+MS`. */
  readonly fail?: readonly string[];
  /** LAN names (cluster.xml) or indexes, each optionally `+MS`. */
  readonly cut?: readonly string[];
  readonly witness_cut?: readonly string[];
  /** `MODULE@NODE[+MS]`: the module's application fails on that node. */
  readonly app_fail?: readonly string[];
  /** `MODULE/CHECKER@NODE[+MS]`: one checker of the module fails there (resource `class.ident`, or its ident). */
  readonly checker_fail?: readonly string[];
  readonly heal?: string;
  readonly script_ms?: number;
  readonly sync_ms?: number;
  readonly horizon_ms?: number;
}

/** The latest a fault may come after the start. */
export const MAX_FAULT_DELAY_MS = 600_000;

function clamp(v: number | undefined, dflt: number, max: number): number {
  if (v === undefined || !Number.isFinite(v)) return dflt;
  return Math.min(max, Math.max(0, Math.round(v)));
}

/** `X+MS` -> [X, MS]. */
function delayed(item: string): [string, number] {
  const m = /^(.*?)(?:\+(\d{1,7}))?$/.exec(item);
  const name = m?.[1] ?? item;
  const ms = m?.[2] === undefined ? 0 : Number(m[2]);
  if (ms > MAX_FAULT_DELAY_MS) throw new HakitError('HAKIT_E_WHATIF_BAD_FAULT', `"${item}": a fault comes at most ${MAX_FAULT_DELAY_MS} ms after the start`, 'what-if');
  return [name, ms];
}

/** A checker named by its resource (`ping.router`) or its ident (`router`) among the module's resources. */
export function resourceOf(m: WhatIfModuleNow, name: string): string {
  const resources = m.monitor?.rules.resources ?? [];
  const exact = resources.find((r) => r.name === name);
  if (exact !== undefined) return exact.name;
  const byIdent = resources.filter((r) => r.name.slice(r.name.indexOf('.') + 1) === name);
  if (byIdent.length === 1 && byIdent[0] !== undefined) return byIdent[0].name;
  const known = resources.map((r) => r.name).join(', ') || 'none';
  if (byIdent.length > 1) throw new HakitError('HAKIT_E_WHATIF_UNKNOWN_CHECKER', `"${name}" names several checkers of module ${m.policy.module} (${byIdent.map((r) => r.name).join(', ')}): give the full name`, 'what-if');
  throw new HakitError('HAKIT_E_WHATIF_UNKNOWN_CHECKER', `module ${m.policy.module} has no checker "${name}" (checkers: ${known})`, 'what-if');
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
  const module = (name: string, on: string): WhatIfModuleNow => {
    const m = c.modules.find((x) => x.policy.module === name);
    if (m === undefined) throw new HakitError('HAKIT_E_WHATIF_UNKNOWN_MODULE', `no module "${name}" on ${c.taken_by} (modules: ${c.modules.map((x) => x.policy.module).join(', ') || 'none'})`, 'what-if');
    if (!m.policy.nodes.includes(on)) throw new HakitError('HAKIT_E_WHATIF_UNKNOWN_MODULE', `module ${name} does not run on ${on} (its nodes: ${m.policy.nodes.join(', ')})`, 'what-if');
    return m;
  };
  const at = (item: string, what: string): [string, string] => {
    const i = item.lastIndexOf('@');
    if (i <= 0 || i === item.length - 1) throw new HakitError('HAKIT_E_WHATIF_BAD_FAULT', `"${item}" is not ${what}@NODE`, 'what-if');
    return [item.slice(0, i), item.slice(i + 1)];
  };
  const faults: WhatIfFault[] = [];
  const seen = new Set<string>();
  const add = (f: WhatIfFault): void => {
    const { at_ms: _at, ...what } = f;
    const key = JSON.stringify(what);
    if (seen.has(key)) return;
    seen.add(key);
    faults.push(f);
  };
  for (const item of q.fail ?? []) {
    const [n, ms] = delayed(item);
    add({ kind: 'node', node: node(n), at_ms: ms });
  }
  for (const item of q.cut ?? []) {
    const [l, ms] = delayed(item);
    add({ kind: 'lan', lan: lan(l), at_ms: ms });
  }
  const witnessCut: WhatIfFault[] = [];
  for (const item of q.witness_cut ?? []) {
    const [n, ms] = delayed(item);
    witnessCut.push({ kind: 'witness', node: node(n), at_ms: ms });
  }
  for (const item of q.app_fail ?? []) {
    const [what, ms] = delayed(item);
    const [m, n] = at(what, 'MODULE');
    module(m, node(n));
    add({ kind: 'app', module: m, node: n, at_ms: ms });
  }
  for (const item of q.checker_fail ?? []) {
    const [what, ms] = delayed(item);
    const [mr, n] = at(what, 'MODULE/CHECKER');
    const slash = mr.indexOf('/');
    if (slash <= 0 || slash === mr.length - 1) throw new HakitError('HAKIT_E_WHATIF_BAD_FAULT', `"${item}" is not MODULE/CHECKER@NODE`, 'what-if');
    const m = module(mr.slice(0, slash), node(n));
    add({ kind: 'checker', module: m.policy.module, resource: resourceOf(m, mr.slice(slash + 1)), node: n, at_ms: ms });
  }
  // Losing the witness alone is no question (it is asked with a node failure or a cut).
  if (faults.length === 0) throw new HakitError('HAKIT_E_WHATIF_EMPTY', 'name a node that fails, a LAN that is cut, an application or a checker that fails', 'what-if');
  for (const f of witnessCut) add(f);
  const heal = q.heal === undefined || q.heal === '' ? 'never' : q.heal;
  if (heal !== 'never' && heal !== 'restart') throw new HakitError('HAKIT_E_WHATIF_BAD_FAULT', `heal is "never" or "restart", not "${heal}"`, 'what-if');
  const script_ms = clamp(q.script_ms, DEFAULT_SCRIPT_MS, MAX_SCRIPT_MS);
  const sorted = faults.map((f, i) => ({ f, i })).sort((a, b) => a.f.at_ms - b.f.at_ms || a.i - b.i).map((x) => x.f);
  const names = <K extends WhatIfFault['kind']>(kind: K): Extract<WhatIfFault, { kind: K }>[] => sorted.filter((f): f is Extract<WhatIfFault, { kind: K }> => f.kind === kind);
  return {
    fail_nodes: [...new Set(names('node').map((f) => f.node))],
    cut_lans: [...new Set(names('lan').map((f) => f.lan))],
    witness_cut_from: [...new Set(names('witness').map((f) => f.node))],
    faults: sorted,
    heal: heal as FaultHeal,
    script_ms,
    sync_ms: clamp(q.sync_ms, DEFAULT_SYNC_MS, MAX_SCRIPT_MS),
    horizon_ms: clamp(q.horizon_ms, defaultHorizonMs(c, sorted, script_ms), MAX_HORIZON_MS),
  };
}
