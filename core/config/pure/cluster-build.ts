// cluster.xml: parsed tree → validated, frozen ClusterConfig (or every issue found).
import { CLUSTER_SCHEMA } from './cluster-schema';
import type { ClusterConfig, ClusterLan, ClusterNode, DeepReadonlyClusterConfig } from './types-frozen';
import { bool, kids, num, optStr, str, validateTree } from './validate-tree';
import type { Checked, XmlNode } from './xml-tree';
import { deepFreeze, whereOf } from './xml-tree';

export function buildClusterConfig(root: XmlNode, file: string, confDir: string): Checked<DeepReadonlyClusterConfig> {
  const { element, issues } = validateTree(CLUSTER_SCHEMA, root, file);
  if (!element || issues.length > 0) return { ok: false, errors: issues };
  const lans: ClusterLan[] = [];
  const nodesByName = new Map<string, ClusterNode>();
  const seenAddrs = new Map<string, string>();
  for (const lanEl of kids(element, 'lan')) {
    const lanName = str(lanEl, 'name');
    if (lans.some((l) => l.name === lanName)) {
      issues.push({ code: 'HAKIT_E_CONF_DUPLICATE', where: whereOf(file, lanEl, 'name', lanName), message: 'LAN defined twice' });
      continue;
    }
    const lan: ClusterLan = { name: lanName, command: bool(lanEl, 'command'), framework: bool(lanEl, 'framework'), replication: bool(lanEl, 'replication'), nodes: [] };
    for (const nodeEl of kids(lanEl, 'node')) {
      const name = str(nodeEl, 'name');
      const addr = str(nodeEl, 'addr');
      const port = num(nodeEl, 'port');
      if (lan.nodes.some((n) => n.name === name)) {
        issues.push({ code: 'HAKIT_E_CONF_DUPLICATE', where: whereOf(file, nodeEl, 'name', name), message: `node listed twice on LAN ${lanName}` });
        continue;
      }
      const owner = seenAddrs.get(addr.toLowerCase());
      if (owner !== undefined) {
        issues.push({ code: 'HAKIT_E_CONF_DUPLICATE', where: whereOf(file, nodeEl, 'addr', addr), message: `address already given to ${owner}` });
        continue;
      }
      seenAddrs.set(addr.toLowerCase(), `node ${name} on LAN ${lanName}`);
      lan.nodes.push({ name, addr, port });
      const node = nodesByName.get(name) ?? { name, addrs: {} };
      node.addrs[lanName] = { addr, port };
      nodesByName.set(name, node);
    }
    lans.push(lan);
  }
  const nodes = [...nodesByName.values()];
  for (const lanEl of kids(element, 'lan')) {
    const lan = lans.find((l) => l.name === str(lanEl, 'name'));
    const missing = lan ? nodes.filter((n) => !lan.nodes.some((m) => m.name === n.name)).map((n) => n.name) : [];
    if (missing.length > 0) {
      issues.push({ code: 'HAKIT_E_CONF_CLUSTER_NO_NODES', where: whereOf(file, lanEl, 'name', str(lanEl, 'name')), message: `node ${missing.join(', ')} has no address on this LAN (every node needs one on every LAN)` });
    }
  }
  if (!lans.some((l) => l.command)) {
    issues.push({ code: 'HAKIT_E_CONF_CLUSTER_ROLES', where: whereOf(file, element), message: 'no LAN has command="on"' });
  }
  const replicationLans = lans.filter((l) => l.replication);
  if (replicationLans.length > 1) {
    issues.push({ code: 'HAKIT_E_CONF_CLUSTER_ROLES', where: whereOf(file, element), message: `more than one LAN has replication="on" (${replicationLans.map((l) => l.name).join(', ')})` });
  }
  if (issues.length > 0) return { ok: false, errors: issues };
  const replicationLan = replicationLans[0]?.name ?? lans.find((l) => l.command)?.name ?? '';
  const config: ClusterConfig = {
    name: str(element, 'name'),
    keyfile: optStr(element, 'keyfile') ?? `${confDir.replace(/\/+$/, '')}/cluster.key`,
    lans,
    nodes,
    replicationLan,
  };
  return { ok: true, value: deepFreeze(config) };
}

