// Farm packet filter (filters/): configuration errors found before anything touches the
// kernel, and failures of nft itself (which always leave the previous ruleset in place).
export const FILTER_CODES = {
  HAKIT_E_FILTER_MODULE_NAME: 'the module name cannot name an nft table (letters, digits, _ and -, at most 32)',
  HAKIT_E_FILTER_VIP: 'the farm VIP is not a valid unicast IPv4 address',
  HAKIT_E_FILTER_INTERFACE: 'the VIP interface name is missing or invalid',
  HAKIT_E_FILTER_NO_INTERFACE: 'the VIP interface does not exist on this node',
  HAKIT_E_FILTER_MAC: 'the virtual MAC is not a multicast MAC address (aa:bb:cc:dd:ee:ff, first octet odd)',
  HAKIT_E_FILTER_RULE: 'a farm rule is invalid (protocol, mode or empty port list)',
  HAKIT_E_FILTER_PORT_RANGE: 'a port or port range is outside 1..65535 or reversed',
  HAKIT_E_FILTER_OVERLAP: 'two farm rules (or two ports of one rule) cover the same protocol and port',
  HAKIT_E_FILTER_BUCKET: 'a bucket number is outside 0..255 or repeated',
  HAKIT_E_FILTER_MEMBERS: 'the farm member list cannot own buckets (empty, repeated node, bad power)',
  HAKIT_E_FILTER_NFT_FAILED: 'nft refused the ruleset or transaction; the previous ruleset is unchanged',
  HAKIT_E_FILTER_NFT_TIMEOUT: 'nft did not finish in time',
  HAKIT_E_FILTER_READBACK: 'the owned-bucket set read back from the kernel differs from what was written',
  HAKIT_E_FILTER_NOT_LOADED: 'the farm filter of this module is not loaded',
} as const satisfies Record<string, string>;
