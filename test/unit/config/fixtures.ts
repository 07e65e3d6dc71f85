// Shared fixtures of the config tests: a 3-node lab cluster.xml and helpers.
import { parseClusterText, parseUserConfigText } from '../../../core/config/load';
import type { ConfigIssue } from '../../../core/config/pure/xml-tree';

export const CLUSTER_XML = `<cluster name="lab" keyfile="/etc/hakit/cluster.key">
  <lan name="default" command="on" framework="on">
    <node name="node1" addr="198.18.0.11"/>
    <node name="node2" addr="198.18.0.12"/>
    <node name="node3" addr="198.18.0.13"/>
  </lan>
  <lan name="flow" command="off" replication="on">
    <node name="node1" addr="198.18.1.11"/>
    <node name="node2" addr="198.18.1.12"/>
    <node name="node3" addr="198.18.1.13"/>
  </lan>
</cluster>
`;

export function cluster() {
  const c = parseClusterText(CLUSTER_XML, 'cluster.xml', '/etc/hakit');
  if (!c.ok) throw new Error(JSON.stringify(c.errors));
  return c.value;
}

/** A minimal mirror userconfig.xml; `inner` goes inside <service>. */
export function mirrorXml(inner = '', serviceAttrs = 'nodes="node1 node2"'): string {
  return `<safe>\n<service mode="mirror" ${serviceAttrs}>\n<heart><heartbeat name="default"/></heart>\n${inner}\n</service>\n</safe>\n`;
}

export function farmXml(inner = '<vip><interface_list><interface><virtual_interface><virtual_addr addr="198.18.0.151"/></virtual_interface></interface></interface_list><rule port="80"/></vip>'): string {
  return `<safe>\n<service mode="farm">\n${inner}\n</service>\n</safe>\n`;
}

export function issuesOf(xml: string): readonly ConfigIssue[] {
  const r = parseUserConfigText(xml);
  return r.ok ? [] : r.errors;
}

export function okConfig(xml: string) {
  const r = parseUserConfigText(xml);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.code}: ${e.where}: ${e.message}`).join('\n'));
  return r.value;
}
