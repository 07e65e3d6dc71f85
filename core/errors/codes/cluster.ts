// Codes of cluster bootstrap and configuration distribution: `hakit cluster init`, join
// tokens, `hakit cluster join`, and the config service that pushes cluster.xml and modules
// to every node (docs/cluster.md, "Build a cluster").
export const CLUSTER_CODES = {
  HAKIT_E_CLUSTER_EXISTS: 'this node already has a cluster configuration',
  HAKIT_E_CLUSTER_NO_ADDRESS: 'no LAN address could be found or the one given is not on this node',
  HAKIT_E_JOIN_TOKEN_MALFORMED: 'the join token is not of the form hkj1.<id>.<secret>',
  HAKIT_E_JOIN_TOKEN_UNKNOWN: 'the join token is not known to the node asked (wrong token, or another cluster)',
  HAKIT_E_JOIN_TOKEN_EXPIRED: 'the join token has expired',
  HAKIT_E_JOIN_TOKEN_USED: 'the join token was already used (tokens are one-time)',
  HAKIT_E_JOIN_NAME_TAKEN: 'another node of the cluster already has this name or address',
  HAKIT_E_JOIN_OTHER_CLUSTER: 'this node belongs to another cluster',
  HAKIT_E_JOIN_NO_LAN_ADDRESS: 'the joining node has no address on one of the cluster\'s LANs',
  HAKIT_E_JOIN_UNREACHABLE: 'the node to join cannot be reached on its config service port',
  HAKIT_E_JOIN_REFUSED: 'the node to join refused the secure channel (wrong token or cluster key)',
  HAKIT_E_CONFIG_SERVICE_BAD_REQUEST: 'a config service request is malformed or too large',
  HAKIT_E_CONFIG_PUSH: 'a configuration could not be pushed to a node',
} as const satisfies Record<string, string>;
