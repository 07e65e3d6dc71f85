// Named limits and kernel constants of the farm filter.

export const BUCKET_COUNT = 256;
export const PORT_MIN = 1;
export const PORT_MAX = 65535;
/** Module names become part of an nft table name; keep them short and unquoted-safe. */
export const MODULE_NAME_MAX_CHARS = 32;
/** Linux IFNAMSIZ - 1. */
export const INTERFACE_NAME_MAX_CHARS = 15;
/** Rules per group: each adds two rules to the hot prerouting chain. */
export const RULES_MAX = 64;
/** VIPs per group, as userconfig allows. */
export const VIPS_MAX = 16;
/** Port items per rule (nft anonymous set size stays small). */
export const PORTS_PER_RULE_MAX = 256;

/** netdev ingress runs before everything; its only job is to make VIP frames "host" frames. */
export const NETDEV_INGRESS_PRIORITY = -500;
/** After conntrack (-200) so ct state is known; before DNAT (-100) so NAT sees only our flows. */
export const PREROUTING_PRIORITY = -150;
export const ARP_OUTPUT_PRIORITY = 0;

/**
 * Bucket lease bounds (ms). nft keeps element timeouts in milliseconds (jiffies inside); an
 * expired element stops matching at once, before the set's garbage collection reclaims it.
 */
export const LEASE_MIN_MS = 50;
export const LEASE_MAX_MS = 3_600_000;

/**
 * A hung nft (netlink lock) is killed after this long. A killed nft may still have committed its
 * transaction just before, so whoever bounds what the kernel holds counts it in.
 */
export const NFT_COMMAND_TIMEOUT_MS = 10_000;

export const TABLE_PREFIX = 'hakit_';
export const OWNED_SET = 'owned';
