// The fake beside VipManager: an in-memory address table with an operation log.
import { validateVip } from './vip-manager';
import type { VipChange, VipManager, VipSpec } from './types';

export class FakeVipManager implements VipManager {
  readonly present = new Set<string>();
  readonly log: string[] = [];

  private key(vip: VipSpec): string {
    return `${vip.address}@${vip.ifname}`;
  }

  async isPresent(vip: VipSpec): Promise<boolean> {
    return this.present.has(this.key(vip));
  }

  async ensurePresent(vip: VipSpec): Promise<VipChange> {
    validateVip(vip);
    if (this.present.has(this.key(vip))) return 'unchanged';
    this.present.add(this.key(vip));
    this.log.push(`add ${this.key(vip)}`);
    return 'added';
  }

  async ensureAbsent(vip: VipSpec): Promise<VipChange> {
    validateVip(vip);
    if (!this.present.delete(this.key(vip))) return 'unchanged';
    this.log.push(`del ${this.key(vip)}`);
    return 'removed';
  }

  async announce(vip: VipSpec, count: number): Promise<void> {
    this.log.push(`arp ${this.key(vip)} x${count}`);
  }
}
