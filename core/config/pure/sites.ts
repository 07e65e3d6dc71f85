// Sites of a geo cluster (cluster.xml `<site>`, docs/geo.md): which site a node is in, and
// whether two nodes are a WAN apart. Heartbeats between sites are timed with at least the
// `wan` profile: a WAN is slower and lossier than a LAN, and a false "peer lost" across it
// costs a failover (or an operator's approval).
import type { DeepReadonlyClusterConfig } from './types-frozen';

/** The site of a node, or null when cluster.xml names none for it. */
export function siteOf(cluster: Pick<DeepReadonlyClusterConfig, 'sites'>, node: string): string | null {
  return cluster.sites.find((s) => s.nodes.includes(node))?.name ?? null;
}

/** Both nodes are in sites, and not the same one. */
export function acrossSites(cluster: Pick<DeepReadonlyClusterConfig, 'sites'>, a: string, b: string): boolean {
  const sa = siteOf(cluster, a);
  const sb = siteOf(cluster, b);
  return sa !== null && sb !== null && sa !== sb;
}

/** A set of nodes spans more than one site (a mirror module between two cities). */
export function spansSites(cluster: Pick<DeepReadonlyClusterConfig, 'sites'>, nodes: readonly string[]): boolean {
  return nodes.some((a) => nodes.some((b) => acrossSites(cluster, a, b)));
}

/** Heartbeat timing stretched to at least `floor`'s period and timeout (a profile's name is kept when it already is). */
export function atLeastProfile<P extends { readonly name: string; readonly period_ms: number; readonly timeout_ms: number }>(p: P, floor: P): P | { name: string; period_ms: number; timeout_ms: number } {
  if (p.timeout_ms >= floor.timeout_ms && p.period_ms >= floor.period_ms) return p;
  return { name: floor.name, period_ms: Math.max(p.period_ms, floor.period_ms), timeout_ms: Math.max(p.timeout_ms, floor.timeout_ms) };
}
