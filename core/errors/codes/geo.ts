// Codes of geo clusters (docs/geo.md): manual failover approval, sites and the site
// arbitrator's tickets. Each refusal changes nothing.
export const GEO_CODES = {
  HAKIT_E_FAILOVER_NOT_WAITING: 'failover approve/deny needs a mirror module waiting for approval (WAIT/Approval)',
  HAKIT_E_FAILOVER_AWAITING_APPROVAL: 'the peer is lost and failover is manual: the module waits for `hakit failover approve` (or its timer)',
  HAKIT_E_TICKET_BAD_SIGNATURE: 'a ticket request does not carry a valid signature of the cluster key',
  HAKIT_E_TICKET_OLD_INCARNATION: 'a ticket request comes from an older life of its node than one already seen (replay)',
  HAKIT_E_ARBITRATOR_DUPLICATE: 'the same arbitrator is configured twice',
} as const satisfies Record<string, string>;
