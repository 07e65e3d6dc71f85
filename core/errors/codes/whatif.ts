// Codes of the what-if engine (docs/whatif.md): a question it cannot answer changes nothing.
export const WHATIF_CODES = {
  HAKIT_E_WHATIF_UNKNOWN_NODE: 'a what-if question names a node that is not in cluster.xml',
  HAKIT_E_WHATIF_UNKNOWN_LAN: 'a what-if question names a LAN that is not a heartbeat LAN of the cluster',
  HAKIT_E_WHATIF_EMPTY: 'a what-if question names no fault (no node to fail, LAN to cut, application or checker to fail)',
  HAKIT_E_WHATIF_UNKNOWN_MODULE: 'a what-if question names a module the answering node does not host, or a node the module does not run on',
  HAKIT_E_WHATIF_UNKNOWN_CHECKER: 'a what-if question names a checker the module does not have (give `class.ident` or a unique ident)',
  HAKIT_E_WHATIF_BAD_FAULT: 'a what-if fault is malformed (`MODULE@NODE`, `MODULE/CHECKER@NODE`, a delay `+MS` too long, heal neither never nor restart)',
  HAKIT_E_WHATIF_TIMEOUT: 'a what-if prediction did not finish in time, or its worker failed (nothing changed)',
  HAKIT_E_WHATIF_UNAVAILABLE: 'this node cannot answer what-if questions (hakitd is starting, or has no configuration yet)',
} as const satisfies Record<string, string>;
