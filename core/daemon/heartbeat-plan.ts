// Which LANs this node sends heartbeats on, to whom, and what membership watches: the union
// of the LANs its modules name; every other node of the cluster is a peer on each of them.
import { HakitError } from '../errors/catalogue';
import type { DeepReadonlyClusterConfig } from '../config/pure/types-frozen';
import type { MembershipConfig } from '../membership/pure/membership';
import type { HeartbeatProfile, NodeId } from '../membership/pure/types';
import type { LanConfig } from '../membership/transport/types';
import { HEARTBEAT_PROFILES } from '../module/pure/policy';
import type { ModulePlan } from './module-plan';
import { acrossSites } from '../config/pure/sites';

export interface HeartbeatPlan {
  readonly lans: readonly LanConfig[];
  readonly membership: MembershipConfig;
}

/** The most demanding profile among the modules: a fast module must not wait on a slow one. */
export function clusterProfile(plans: readonly ModulePlan[]): HeartbeatProfile {
  let best: HeartbeatProfile = HEARTBEAT_PROFILES.default;
  for (const p of plans) if (p.policy.heartbeat.timeout_ms < best.timeout_ms) best = p.policy.heartbeat;
  return best;
}

export function planHeartbeats(self: NodeId, cluster: DeepReadonlyClusterConfig, plans: readonly ModulePlan[]): HeartbeatPlan {
  const me = cluster.nodes.find((n) => n.name === self);
  if (!me) throw new HakitError('HAKIT_E_USAGE', `node "${self}" is not in cluster.xml (nodes: ${cluster.nodes.map((n) => n.name).join(', ')})`, 'hakitd --node');
  const wanted = new Set(plans.length > 0 ? plans.flatMap((p) => p.lans) : cluster.lans.map((l) => l.name));
  const lans: LanConfig[] = [];
  cluster.lans.forEach((lan, index) => {
    if (!wanted.has(lan.name)) return;
    const mine = lan.nodes.find((n) => n.name === self);
    if (!mine) return;
    lans.push({
      index,
      local_address: mine.addr,
      port: mine.port,
      peers: lan.nodes.filter((n) => n.name !== self).map((n) => ({ node_id: n.name, address: n.addr, port: n.port })),
    });
  });
  const profile = clusterProfile(plans);
  // A peer on another site (cluster.xml <site>, docs/geo.md) is lost only after the wan profile's silence.
  const wan_ms = Math.max(profile.timeout_ms, HEARTBEAT_PROFILES.wan.timeout_ms);
  const peers = cluster.nodes
    .filter((n) => n.name !== self)
    .map((n) => ({
      node: n.name,
      lans: lans.filter((l) => l.peers.some((p) => p.node_id === n.name)).map((l) => l.index),
      ...(acrossSites(cluster, self, n.name) ? { timeout_ms: wan_ms } : {}),
    }));
  return {
    lans,
    membership: {
      self,
      profile,
      peers,
      modules: plans.map((p) => ({ module: p.name, nodes: p.policy.nodes })),
    },
  };
}
