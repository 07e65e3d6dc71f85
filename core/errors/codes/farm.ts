// Farm module life in hakitd (core/farm/): the filter and VIP wiring around the
// farm machine.
export const FARM_CODES = {
  HAKIT_E_FARM_CONFIG: 'the farm module config cannot make a packet filter on this node (no IPv4 VIP, VIPs on several interfaces)',
  HAKIT_E_FARM_NOT_OPEN: 'a farm VIP was not added because the farm filter could not be loaded first (the filter error says why)',
  HAKIT_E_FARM_LEAVE_TIMEOUT: 'a stopping farm node waited too long for the other members to take its buckets; it stopped anyway',
} as const;
