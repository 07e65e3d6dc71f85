// The typed, validated configuration handed to the rest of hakit. Every duration is in ms,
// every size in bytes; defaults are filled in. Objects are deep-frozen when built.
import type { PortRange } from './attr-types';

export type ServiceMode = 'mirror' | 'farm' | 'light';
export type CheckerAction = 'wait' | 'restart' | 'stopstart' | 'stop';
export type Role = 'prim' | 'second' | 'both' | 'pre';

export interface ClusterNode {
  name: string;
  /** Address and port on each LAN, by LAN name. */
  addrs: Record<string, { addr: string; port: number }>;
}
export interface ClusterLan {
  name: string;
  command: boolean;
  framework: boolean;
  replication: boolean;
  nodes: { name: string; addr: string; port: number }[];
}
export interface ClusterConfig {
  name: string;
  keyfile: string;
  lans: ClusterLan[];
  nodes: ClusterNode[];
  /** The LAN mirror modules replicate on unless they name a `flow` heartbeat. */
  replicationLan: string;
  /** Geo clusters (docs/geo.md): groups of nodes; empty when cluster.xml names none. */
  sites: ClusterSite[];
  /** Geo clusters: the site arbitrators (hakit-witness), each once; empty when none. */
  arbitrators: { addr: string; port: number }[];
}

export interface ClusterSite {
  name: string;
  nodes: string[];
}

export interface HeartConfig {
  profile: 'default' | 'fast' | 'wan';
  period_ms: number;
  timeout_ms: number;
  heartbeats: { name: string; flow: boolean }[];
  /** LAN carrying replication: the `flow` heartbeat, else cluster.xml's replication LAN (resolved in cross-checks). */
  flowLan: string | null;
}
export interface FarmConfig {
  lans: string[];
  nodes: { name: string; power: number }[];
}
export interface VirtualAddr {
  addr: string;
  family: 4 | 6;
  prefixlen: number | null;
  where: 'one_side_alias' | 'alias';
  check: boolean;
}
export interface LbRule {
  proto: 'tcp' | 'udp';
  port: PortRange;
  filter: 'on_addr' | 'on_port';
  /** VIPs the rule applies to. */
  vips: string[];
}
export interface VipConfig {
  interfaces: {
    name: string | null;
    check: boolean;
    arpreroute: boolean;
    addrs: VirtualAddr[];
    vmac: { type: 'vmac_directed' | 'vmac_invisible'; mac: string } | null;
  }[];
  rules: LbRule[];
}
export interface RfsConfig {
  async: 'none' | 'second';
  capture: 'sync' | 'watch';
  bandwidth_bytes_per_s: number;
  block_size_bytes: number;
  /** `<rfs sync_secondary>`: SECOND makes a sync call's data durable on its disk before it
   *  acknowledges (async="none"); off: once written to its page cache. */
  sync_secondary: boolean;
  /** `<rfs writeback>`: the kernel's writeback cache on the FUSE capture. */
  writeback: boolean;
  /** Replication frames encrypted (AES-256-GCM) instead of only authenticated (GMAC). */
  encrypt: boolean;
  ack_timeout_ms: number;
  reintegration_parallel_files: number;
  reintegration_stall_timeout_ms: number;
  replicated: {
    dir: string;
    capture: 'sync' | 'watch';
    excluded: { path: string | null; regexpath: string | null; invert: boolean }[];
  }[];
}
export interface UserScriptsConfig {
  start_timeout_ms: number;
  nice_stop_timeout_ms: number;
  force_stop_timeout_ms: number;
  logging: 'userlog' | 'none';
  vars: { name: string; value: string }[];
}
export interface ErrdConfig {
  poll_ms: number;
  procs: { name: string; argregex: string | null; atleast: number; atmost: number; action: CheckerAction | 'none'; class: Role }[];
}
export interface Probe {
  interval_ms: number;
  timeout_ms: number;
  rise: number;
  fall: number;
}
export type Checker =
  | { kind: 'tcp'; ident: string; when: Role; action: CheckerAction; targets: (Probe & { addr: string; port: number })[] }
  | { kind: 'ping'; ident: string; when: Role; action: CheckerAction; targets: (Probe & { addr: string })[] }
  | { kind: 'intf'; ident: string; when: Role; action: CheckerAction; targets: (Probe & { name: string })[] }
  | { kind: 'ip'; ident: string; when: Role; action: CheckerAction; targets: (Probe & { addr: string })[] }
  | { kind: 'custom'; ident: string; when: Role; action: CheckerAction; exec: string; args: string[]; probe: Probe }
  | { kind: 'module'; ident: string; module: string; interval_ms: number; at: { addr: string; port: number } | null };
export interface SplitBrainConfig {
  ident: string;
  exec: 'ping' | 'tcp';
  addr: string;
  port: number | null;
  interval_ms: number;
  timeout_ms: number;
}

export interface UserConfig {
  macros: Record<string, string>;
  service: {
    mode: ServiceMode;
    boot: 'on' | 'off' | 'auto';
    defaultprim: string | null;
    failover: boolean;
    maxloop: number;
    loop_interval_ms: number;
    /** Nodes named by `nodes=` or `<farm>`; null: every node of cluster.xml (resolved in cross-checks). */
    nodes: string[] | null;
  };
  heart: HeartConfig | null;
  farm: FarmConfig | null;
  vip: VipConfig | null;
  rfs: RfsConfig | null;
  user: UserScriptsConfig;
  errd: ErrdConfig | null;
  checkers: Checker[];
  splitbrain: SplitBrainConfig | null;
  failover: {
    handle_time_ms: number;
    rules: { name: string; when: string; action: CheckerAction }[];
    /** Mirror: `manual` waits for `hakit failover approve` when the peer is lost (docs/geo.md). */
    mode: 'auto' | 'manual';
    /** Manual mode: take over by itself after this long; null: wait for an operator. */
    approval_timer_ms: number | null;
  };
  /** Line of the element behind a value, for messages of later checks (`vip/ADDR`, `dir/PATH`, `heartbeat/LAN`, `farm_lan/LAN`, `farm_node/NODE`, `service`, `exec/PROGRAM`). */
  lines: Record<string, number>;
  /** Every program of bin/ the config names, relative to bin/ (for the existence check). */
  scripts: { required: string[]; optional: string[] };
}

/** Heartbeat profiles: period and timeout, overridable with `pulse`/`timeout`. */
export const HEART_PROFILES = {
  default: { period_ms: 500, timeout_ms: 2_500 },
  fast: { period_ms: 150, timeout_ms: 800 },
  /** Between sites (docs/geo.md): a WAN is slower and lossier than a LAN. */
  wan: { period_ms: 1000, timeout_ms: 5000 },
} as const;

/** Scripts a module's bin/ must hold, by mode; optional ones are checked only when present. */
export const REQUIRED_SCRIPTS: Readonly<Record<ServiceMode, readonly string[]>> = {
  mirror: ['start_prim', 'stop_prim'],
  light: ['start_prim', 'stop_prim'],
  farm: ['start_both', 'stop_both'],
};
export const OPTIONAL_SCRIPTS: readonly string[] = ['prestart', 'poststop', 'start_second', 'stop_second', 'start_prim', 'stop_prim', 'start_both', 'stop_both'];
