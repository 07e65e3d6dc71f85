// Checks of one module's config against cluster.xml and the other installed modules.
import { isSameOrInside } from './dirs';
import type { DeepReadonlyClusterConfig, DeepReadonlyUserConfig } from './types-frozen';
import type { ConfigIssue } from './xml-tree';

export interface InstalledModule {
  readonly name: string;
  readonly config: DeepReadonlyUserConfig;
}

const at = (file: string, config: DeepReadonlyUserConfig, key: string, element: string): string =>
  `${file}:${config.lines[key] ?? config.lines['service'] ?? 0} <${element}>`;

/** The nodes a module runs on: `nodes=`, or the `<farm>` nodes, or every node of the cluster. */
export function moduleNodes(config: DeepReadonlyUserConfig, cluster: DeepReadonlyClusterConfig): readonly string[] {
  return config.service.nodes ?? cluster.nodes.map((n) => n.name);
}

/** The LAN a mirror module replicates on. */
export function replicationLan(config: DeepReadonlyUserConfig, cluster: DeepReadonlyClusterConfig): string {
  return config.heart?.flowLan ?? cluster.replicationLan;
}

export function crossCheckCluster(config: DeepReadonlyUserConfig, cluster: DeepReadonlyClusterConfig, file: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const lanNames = cluster.lans.map((l) => l.name);
  const lanRefs = [
    ...(config.heart?.heartbeats ?? []).map((h) => ({ name: h.name, key: `heartbeat/${h.name}`, element: `heartbeat name="${h.name}"` })),
    ...(config.farm?.lans ?? []).map((name) => ({ name, key: `farm_lan/${name}`, element: `lan name="${name}"` })),
  ];
  for (const ref of lanRefs) {
    if (!lanNames.includes(ref.name)) {
      issues.push({ code: 'HAKIT_E_CONF_UNKNOWN_LAN', where: at(file, config, ref.key, ref.element), message: `LAN ${ref.name} is not in cluster.xml (LANs: ${lanNames.join(', ')})` });
    }
  }
  const known = cluster.nodes.map((n) => n.name);
  const nodes = moduleNodes(config, cluster);
  for (const node of nodes) {
    if (!known.includes(node)) {
      const key = config.lines[`farm_node/${node}`] !== undefined ? `farm_node/${node}` : 'service';
      issues.push({ code: 'HAKIT_E_CONF_UNKNOWN_NODE', where: at(file, config, key, key === 'service' ? `service nodes="${nodes.join(' ')}"` : `node name="${node}"`), message: `node ${node} is not in cluster.xml (nodes: ${known.join(', ')})` });
    }
  }
  const mode = config.service.mode;
  if (mode === 'light' && nodes.length !== 1) {
    // SafeKit's light module: one node, checkers and local restarts, no failover. The
    // two-node failover without replication is a mirror module without <rfs>.
    issues.push({ code: 'HAKIT_E_CONF_LIGHT_NODES', where: at(file, config, 'service', `service mode="${mode}"`), message: `a light module runs on exactly 1 node; it has ${nodes.length} (${nodes.join(', ')}): name it with nodes="A" (for 2 nodes without replication: mode="mirror" with no <rfs>)` });
  }
  if (mode === 'mirror' && nodes.length !== 2) {
    issues.push({ code: 'HAKIT_E_CONF_MIRROR_NODES', where: at(file, config, 'service', `service mode="${mode}"`), message: `a ${mode} module runs on exactly 2 nodes; it has ${nodes.length} (${nodes.join(', ')}): name them with nodes="A B"` });
  }
  if (mode === 'farm' && nodes.length < 2) {
    issues.push({ code: 'HAKIT_E_CONF_FARM_NODES', where: at(file, config, 'service', 'service mode="farm"'), message: `a farm module needs at least 2 nodes; it has ${nodes.length}` });
  }
  const prim = config.service.defaultprim;
  if (prim !== null && !nodes.includes(prim)) {
    issues.push({ code: 'HAKIT_E_CONF_UNKNOWN_NODE', where: at(file, config, 'service', `service defaultprim="${prim}"`), message: `defaultprim names ${prim}, which is not a node of this module (${nodes.join(', ')})` });
  }
  return issues;
}

export function crossCheckModules(name: string, config: DeepReadonlyUserConfig, others: readonly InstalledModule[], file: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const mine = config.rfs?.replicated.map((r) => r.dir) ?? [];
  const vips = config.vip?.interfaces.flatMap((i) => i.addrs.map((a) => a.addr)) ?? [];
  for (const other of others) {
    if (other.name === name) continue;
    for (const theirs of other.config.rfs?.replicated ?? []) {
      for (const dir of mine) {
        if (isSameOrInside(dir, theirs.dir) || isSameOrInside(theirs.dir, dir)) {
          issues.push({ code: 'HAKIT_E_CONF_DIR_SHARED', where: at(file, config, `dir/${dir}`, `replicated dir="${dir}"`), message: `overlaps ${theirs.dir}, replicated by module ${other.name}` });
        }
      }
    }
    for (const intf of other.config.vip?.interfaces ?? []) {
      for (const a of intf.addrs) {
        if (vips.includes(a.addr)) {
          issues.push({ code: 'HAKIT_E_CONF_VIP_SHARED', where: at(file, config, `vip/${a.addr}`, `virtual_addr addr="${a.addr}"`), message: `already a virtual IP of module ${other.name}` });
        }
      }
    }
  }
  return issues;
}
