// cluster.xml: parsed tree → validated, frozen ClusterConfig (or every issue found).
import { CLUSTER_SCHEMA } from './cluster-schema';
import type { ClusterConfig, ClusterLan, ClusterNode, DeepReadonlyClusterConfig } from './types-frozen';
import { bool, kids, list, num, optStr, str, validateTree, type CheckedElement } from './validate-tree';
import type { ClusterSite } from './types';
import type { ConfigIssue } from './xml-tree';
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
  const sites = buildSites(element, file, nodes, issues);
  const arbitrators = buildArbitrators(element, file, issues);
  if (issues.length > 0) return { ok: false, errors: issues };
  const replicationLan = replicationLans[0]?.name ?? lans.find((l) => l.command)?.name ?? '';
  const config: ClusterConfig = {
    name: str(element, 'name'),
    keyfile: optStr(element, 'keyfile') ?? `${confDir.replace(/\/+$/, '')}/cluster.key`,
    lans,
    nodes,
    replicationLan,
    sites,
    arbitrators,
  };
  return { ok: true, value: deepFreeze(config) };
}

/** `<site>`: each name once, each node of cluster.xml, in one site at most. */
function buildSites(element: CheckedElement, file: string, nodes: readonly ClusterNode[], issues: ConfigIssue[]): ClusterSite[] {
  const sites: ClusterSite[] = [];
  const siteOf = new Map<string, string>();
  for (const el of kids(element, 'site')) {
    const name = str(el, 'name');
    if (sites.some((s) => s.name === name)) {
      issues.push({ code: 'HAKIT_E_CONF_DUPLICATE', where: whereOf(file, el, 'name', name), message: 'site defined twice' });
      continue;
    }
    const members: string[] = [];
    for (const node of list(el, 'nodes') ?? []) {
      if (!nodes.some((n) => n.name === node)) {
        issues.push({ code: 'HAKIT_E_CONF_UNKNOWN_NODE', where: whereOf(file, el, 'nodes', node), message: `node ${node} of site ${name} is not in cluster.xml (nodes: ${nodes.map((n) => n.name).join(', ')})` });
        continue;
      }
      const other = siteOf.get(node);
      if (other !== undefined) {
        issues.push({ code: 'HAKIT_E_CONF_DUPLICATE', where: whereOf(file, el, 'nodes', node), message: `node ${node} is already in site ${other}` });
        continue;
      }
      siteOf.set(node, name);
      members.push(node);
    }
    sites.push({ name, nodes: members });
  }
  return sites;
}

/** `<arbitrator>`: each address and port once. */
function buildArbitrators(element: CheckedElement, file: string, issues: ConfigIssue[]): { addr: string; port: number }[] {
  const out: { addr: string; port: number }[] = [];
  for (const el of kids(element, 'arbitrator')) {
    const addr = str(el, 'addr');
    const port = num(el, 'port');
    if (out.some((a) => a.addr.toLowerCase() === addr.toLowerCase() && a.port === port)) {
      issues.push({ code: 'HAKIT_E_ARBITRATOR_DUPLICATE', where: whereOf(file, el, 'addr', addr), message: `arbitrator ${addr}:${port} is configured twice` });
      continue;
    }
    out.push({ addr, port });
  }
  return out;
}

