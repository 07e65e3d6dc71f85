// The what-if engine's starting point, read from a running daemon: cluster.xml's LANs and
// nodes, each hosted module's policy and monitor plan (the very ones its runner and its
// checkers' host run), and what this daemon knows of every node now (its own announcements,
// its peers' last ones and reachability). The daemon passes them in: this folder sits below
// the daemon in the layers (installers/lint/layering-rule.mjs).
import type { DeepReadonlyClusterConfig, DeepReadonlyUserConfig } from '../config/pure/types-frozen';
import { replicationLan } from '../config/pure/cross-check';
import { farmPowers } from '../farm/pure/filter-config';
import type { HeartbeatProfile, NodeId } from '../membership/pure/types';
import type { ModulePolicy } from '../module/pure/policy';
import type { ModuleAnnouncement } from '../module/pure/types';
import type { MonitorPlan } from '../rules/pure/plan';
import type { WhatIfCluster, WhatIfModuleNow } from './pure/types';

/** One hosted module as the daemon runs it. */
export interface SnapshotModule {
  /** The module's plan: its policy as loaded and the heartbeat LANs it names. */
  readonly plan: { readonly policy: ModulePolicy; readonly lans: readonly string[] };
  readonly config: DeepReadonlyUserConfig;
  /** The policy its machine runs (the plan's, with the farm's waited resources); default: the plan's. */
  readonly policy?: ModulePolicy;
  /** Its checkers and failover rules as its monitor runs them; absent: not simulated. */
  readonly monitor?: MonitorPlan;
}

export interface SnapshotSources {
  readonly node: NodeId;
  readonly cluster: DeepReadonlyClusterConfig;
  readonly modules: readonly SnapshotModule[];
  /** Membership's heartbeat profile (the most demanding of the modules'). */
  readonly profile: HeartbeatProfile;
  /** This node's current announcement of each module. */
  readonly announcements: ReadonlyMap<string, ModuleAnnouncement>;
  /** Membership's peers: reachable now, and their last announcements. */
  readonly peers: Readonly<Record<NodeId, { readonly up: boolean; readonly modules: readonly ModuleAnnouncement[] }>>;
  /** This node's effective failover setting of a module. */
  failover(module: string): boolean | null;
}

export function whatifSnapshot(s: SnapshotSources): WhatIfCluster {
  const wanted = new Set(s.modules.length > 0 ? s.modules.flatMap((m) => m.plan.lans) : s.cluster.lans.map((l) => l.name));
  const lans = s.cluster.lans.map((l, index) => ({ index, name: l.name }));
  const nodes = s.cluster.nodes.map((n) => ({
    node: n.name,
    lans: s.cluster.lans.flatMap((l, index) => (wanted.has(l.name) && l.nodes.some((x) => x.name === n.name) ? [index] : [])),
  }));
  const modules = s.modules.map((m): WhatIfModuleNow => {
    const policy = m.policy ?? m.plan.policy;
    const rl = policy.mode === 'mirror' ? s.cluster.lans.findIndex((l) => l.name === replicationLan(m.config, s.cluster)) : -1;
    return {
      policy,
      powers: policy.mode === 'farm' ? farmPowers(m.config, policy.nodes) : null,
      replication_lan: rl >= 0 ? rl : null,
      monitor: m.monitor ?? null,
      nodes: policy.nodes.map((node) => {
        if (node === s.node) return { node, reachable: true, announcement: s.announcements.get(policy.module) ?? null, failover: s.failover(policy.module) };
        const p = s.peers[node];
        return { node, reachable: p?.up ?? false, announcement: p?.modules.find((a) => a.module === policy.module) ?? null, failover: null };
      }),
    };
  });
  return { taken_by: s.node, lans, nodes, profile: s.profile, modules };
}
