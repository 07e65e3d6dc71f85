// Maps the typed config (H2's cluster.xml + userconfig.xml) onto what this daemon runs: the
// module machine's policy, its VIPs, its script variables and its heartbeat LANs.
import type { DeepReadonlyClusterConfig, DeepReadonlyUserConfig } from '../config/pure/types-frozen';
import { HEART_PROFILES } from '../config/pure/types';
import { atLeastProfile, spansSites } from '../config/pure/sites';
import { moduleNodes } from '../config/pure/cross-check';
import type { HeartbeatProfile, NodeId } from '../membership/pure/types';
import { defaultPolicy, HEARTBEAT_PROFILES, type ModulePolicy } from '../module/pure/policy';
import type { ScriptName } from '../module/pure/types';
import { DEFAULT_WITNESS_PORT } from '../witness/protocol';

export interface PlannedVip {
  readonly address: string;
  /** null: take the prefix of the interface address whose subnet holds the VIP. */
  readonly prefix_len: number | null;
  /** null: the interface whose address subnet holds the VIP. */
  readonly ifname: string | null;
  /** Position of its `<interface>` in `<vip><interface_list>` (the checkers plan needs it). */
  readonly interface_index: number;
}

export interface ModulePlan {
  readonly name: string;
  readonly policy: ModulePolicy;
  readonly vips: readonly PlannedVip[];
  readonly user_vars: Readonly<Record<string, string>>;
  /** Names of the cluster LANs this module's heartbeats use. */
  readonly lans: readonly string[];
  readonly boot: 'on' | 'off' | 'auto';
  /** The split-brain witness (`<splitbrain>`), reached with hakit's lease protocol. */
  readonly witness: { readonly address: string; readonly port: number } | null;
  /**
   * Geo clusters: the site arbitrators of cluster.xml (docs/geo.md). A mirror module asks them
   * all and serves only with a majority's ticket; they replace `witness` when present.
   */
  readonly arbitrators: readonly { readonly address: string; readonly port: number }[];
  /** Directories named in <rfs> (replicated by core/daemon/mirror-wire.ts). */
  readonly replicated_dirs: number;
}

/**
 * The heartbeat profile: the named profile of the issue (default ≤ 3 s, fast ≤ 1 s detection)
 * unless userconfig.xml set `pulse`/`timeout` explicitly (values differing from the config
 * loader's defaults for that profile).
 */
export function heartbeatProfile(config: DeepReadonlyUserConfig): HeartbeatProfile {
  const heart = config.heart;
  const name = heart?.profile ?? 'default';
  const named = HEARTBEAT_PROFILES[name];
  if (!heart) return named;
  const loaderDefault = HEART_PROFILES[name];
  const explicit = heart.period_ms !== loaderDefault.period_ms || heart.timeout_ms !== loaderDefault.timeout_ms;
  return explicit ? { name: `${name}+override`, period_ms: heart.period_ms, timeout_ms: heart.timeout_ms } : named;
}

function scriptTimeouts(config: DeepReadonlyUserConfig): Record<ScriptName, number> {
  const start = config.user.start_timeout_ms;
  const stop = config.user.nice_stop_timeout_ms;
  return {
    prestart: start,
    start_prim: start,
    start_second: start,
    start_both: start,
    transition: start,
    stop_prim: stop,
    stop_second: stop,
    stop_both: stop,
    poststop: stop,
  };
}

export function planModule(name: string, config: DeepReadonlyUserConfig, cluster: DeepReadonlyClusterConfig): ModulePlan {
  const nodes: readonly NodeId[] = moduleNodes(config, cluster);
  const prim = config.service.defaultprim;
  const policy = defaultPolicy(name, config.service.mode, nodes, {
    failover: config.service.failover,
    failover_mode: config.failover.mode,
    approval_timer_ms: config.failover.approval_timer_ms,
    defaultprim: prim !== null && nodes.includes(prim) ? prim : null,
    maxloop: config.service.maxloop,
    loop_interval_ms: config.service.loop_interval_ms,
    hasWitness: config.splitbrain !== null || (config.service.mode === 'mirror' && cluster.arbitrators.length > 0),
    script_timeout_ms: scriptTimeouts(config),
    force_stop_timeout_ms: config.user.force_stop_timeout_ms,
    // A module between two sites is timed as a WAN at least (docs/geo.md).
    heartbeat: spansSites(cluster, nodes) ? atLeastProfile(heartbeatProfile(config), HEARTBEAT_PROFILES.wan) : heartbeatProfile(config),
  });
  const vips: PlannedVip[] = [];
  (config.vip?.interfaces ?? []).forEach((itf, interface_index) => {
    for (const a of itf.addrs) {
      if (a.family !== 4) continue; // IPv6 VIPs: not handled yet
      vips.push({ address: a.addr, prefix_len: a.prefixlen, ifname: itf.name, interface_index });
    }
  });
  const user_vars: Record<string, string> = {};
  for (const v of config.user.vars) user_vars[v.name] = v.value;
  const named = (config.heart?.heartbeats ?? []).map((h) => h.name);
  const lans = named.length > 0 ? named : cluster.lans.map((l) => l.name);
  const sb = config.splitbrain;
  const witness = sb ? { address: sb.addr, port: sb.port ?? DEFAULT_WITNESS_PORT } : null;
  const arbitrators = config.service.mode === 'mirror' ? cluster.arbitrators.map((a) => ({ address: a.addr, port: a.port })) : [];
  return { name, policy, vips, user_vars, lans, boot: config.service.boot, witness, arbitrators, replicated_dirs: config.rfs?.replicated.length ?? 0 };
}
