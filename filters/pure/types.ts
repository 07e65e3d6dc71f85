// Input and output types of the farm filter renderer. The renderer defines its own input:
// the daemon maps the typed userconfig (<vip>, <rule> elements) onto FarmFilterConfig.

export type FarmProtocol = 'tcp' | 'udp';
/** on_addr: the client IP alone picks the bucket (sticky); on_port: client IP and source port. */
export type FarmBalance = 'on_addr' | 'on_port';
/** One port, or an inclusive range. */
export type PortSpec = number | { readonly from: number; readonly to: number };

export interface FarmRule {
  readonly proto: FarmProtocol;
  readonly ports: readonly PortSpec[];
  readonly balance: FarmBalance;
  /** Where the rule came from, for error messages (e.g. "userconfig.xml:14"). */
  readonly where?: string;
}

/** VIPs sharing one list of rules (userconfig's <loadbalancing_list><group>). */
export interface FarmGroup {
  /** Virtual IPv4 addresses every node holds. */
  readonly vips: readonly string[];
  readonly rules: readonly FarmRule[];
  /** Where the group came from, for error messages. */
  readonly where?: string;
}

export interface FarmFilterConfig {
  /** Module name; the nft tables are named hakit_<module>. */
  readonly module: string;
  /** Interface the VIPs live on (the netdev ingress hook is bound to it). */
  readonly interface: string;
  /** Multicast MAC announced for the VIPs; default 01:00:5e + the low 23 bits of the first VIP. */
  readonly virtual_mac?: string;
  /** jhash seed; default derived from the module name (identical on every node). */
  readonly hash_seed?: number;
  readonly groups: readonly FarmGroup[];
  /**
   * Lifetime of each owned bucket in the kernel (nft element timeout): unless the daemon renews
   * it (setOwned again) within this time, the bucket stops matching on its own, so a node whose
   * daemon died stops accepting new flows (docs/adr/0005-fencing-by-expiry.md). Absent: buckets
   * never expire (tests of the filter alone).
   */
  readonly lease_ms?: number;
  /** Where the <vip> element came from, for error messages. */
  readonly where?: string;
}

export interface PortInterval {
  readonly from: number;
  readonly to: number;
}

export interface ValidFarmRule {
  readonly proto: FarmProtocol;
  readonly balance: FarmBalance;
  /** Sorted, non-overlapping. */
  readonly ports: readonly PortInterval[];
}

export interface ValidFarmGroup {
  readonly vips: readonly string[];
  readonly rules: readonly ValidFarmRule[];
}

/** A checked, defaulted, frozen filter description: the only input the renderer accepts. */
export interface ValidFarmFilter {
  readonly module: string;
  /** nft table name used in the netdev, arp and ip families. */
  readonly table: string;
  /** Every VIP of every group, in config order. */
  readonly vips: readonly string[];
  readonly interface: string;
  readonly virtual_mac: string;
  readonly hash_seed: number;
  readonly groups: readonly ValidFarmGroup[];
  /** nft timeout of every owned element; null: elements never expire. */
  readonly lease_ms: number | null;
}
