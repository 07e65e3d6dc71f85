// Codes of the what-if engine (docs/whatif.md): a question it cannot answer changes nothing.
export const WHATIF_CODES = {
  HAKIT_E_WHATIF_UNKNOWN_NODE: 'a what-if question names a node that is not in cluster.xml',
  HAKIT_E_WHATIF_UNKNOWN_LAN: 'a what-if question names a LAN that is not a heartbeat LAN of the cluster',
  HAKIT_E_WHATIF_EMPTY: 'a what-if question names no node to fail and no LAN to cut',
  HAKIT_E_WHATIF_TIMEOUT: 'a what-if prediction did not finish in time, or its worker failed (nothing changed)',
  HAKIT_E_WHATIF_UNAVAILABLE: 'this node cannot answer what-if questions (hakitd is starting, or has no configuration yet)',
} as const satisfies Record<string, string>;
