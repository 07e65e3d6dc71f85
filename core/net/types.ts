// The VipManager port (docs/architecture.md, rule 5). Contract: `ensurePresent`/`ensureAbsent` are
// idempotent and read the kernel's truth back (`ip -j addr`) before and after acting; an
// unexpected state after the command is a coded error. `announce` sends a gratuitous ARP
// burst so switches and clients learn the VIP's new owner.
export interface VipSpec {
  /** Dotted IPv4 address of the virtual IP. */
  readonly address: string;
  readonly prefix_len: number;
  /** Interface that carries the VIP, e.g. "eth0". */
  readonly ifname: string;
}

export type VipChange = 'added' | 'removed' | 'unchanged';

export interface VipManager {
  isPresent(vip: VipSpec): Promise<boolean>;
  ensurePresent(vip: VipSpec): Promise<VipChange>;
  ensureAbsent(vip: VipSpec): Promise<VipChange>;
  announce(vip: VipSpec, count: number): Promise<void>;
}
