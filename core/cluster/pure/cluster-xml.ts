// cluster.xml from a validated configuration (pure): what `hakit cluster init` writes and
// what a join appends a node to. The result is parsed back by the one validator before it
// is installed anywhere, so this only has to be faithful, not defensive.
import type { DeepReadonlyClusterConfig } from '../../config/pure/types-frozen';

export interface ClusterXmlLan {
  readonly name: string;
  readonly command: boolean;
  readonly framework: boolean;
  readonly replication: boolean;
  readonly nodes: readonly { readonly name: string; readonly addr: string; readonly port: number }[];
}

export interface ClusterXmlModel {
  readonly name: string;
  /** null: the default, `<config dir>/cluster.key`. */
  readonly keyfile: string | null;
  readonly lans: readonly ClusterXmlLan[];
}

export const DEFAULT_NODE_PORT = 9010;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const onOff = (b: boolean): string => (b ? 'on' : 'off');

export function modelOf(c: DeepReadonlyClusterConfig, defaultKeyfile: string): ClusterXmlModel {
  return {
    name: c.name,
    keyfile: c.keyfile === defaultKeyfile ? null : c.keyfile,
    lans: c.lans.map((l) => ({ name: l.name, command: l.command, framework: l.framework, replication: l.replication, nodes: l.nodes.map((n) => ({ name: n.name, addr: n.addr, port: n.port })) })),
  };
}

export function renderClusterXml(m: ClusterXmlModel): string {
  const lines = [`<cluster name="${esc(m.name)}"${m.keyfile === null ? '' : ` keyfile="${esc(m.keyfile)}"`}>`];
  for (const l of m.lans) {
    lines.push(`  <lan name="${esc(l.name)}" command="${onOff(l.command)}" framework="${onOff(l.framework)}" replication="${onOff(l.replication)}">`);
    for (const n of l.nodes) lines.push(`    <node name="${esc(n.name)}" addr="${esc(n.addr)}"${n.port === DEFAULT_NODE_PORT ? '' : ` port="${n.port}"`}/>`);
    lines.push('  </lan>');
  }
  lines.push('</cluster>', '');
  return lines.join('\n');
}
