// The VIP keeper never lets a renewal and a removal of one VIP overlap: a renewal is
// `ip addr change`, which adds an IPv4 address that is missing, so one that overlapped a
// removal put the VIP back (full lifetime, no longer renewed) on a node that had released it.
// A fake manager plays the kernel's address table with the real commands' timing shape.
import { VipKeeper, type LeasableVipManager } from '../../../core/net/vip-keeper';
import { fenceTiming } from '../../../core/net/pure/fence-timing';
import { SILENT_LOG } from '../../../core/log/sink';
import type { VipChange, VipSpec } from '../../../core/net/types';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const key = (v: VipSpec): string => `${v.address}@${v.ifname}`;

class KernelTable implements LeasableVipManager {
  readonly addrs = new Set<string>();
  readonly log: string[] = [];
  /** Addresses whose renewal runs now. */
  readonly renewing = new Set<string>();
  async isPresent(v: VipSpec): Promise<boolean> {
    return this.addrs.has(key(v));
  }
  async ensurePresent(v: VipSpec): Promise<VipChange> {
    if (this.addrs.has(key(v))) return 'unchanged';
    this.addrs.add(key(v));
    return 'added';
  }
  async ensureAbsent(v: VipSpec): Promise<VipChange> {
    await sleep(5);
    this.log.push(`del ${v.address}`);
    return this.addrs.delete(key(v)) ? 'removed' : 'unchanged';
  }
  async announce(): Promise<void> {}
  /** Like IpVipManager.renew: reads the interface, then `ip addr change` (adds it if missing). */
  async renew(v: VipSpec): Promise<boolean> {
    if (!this.addrs.has(key(v))) return false;
    this.renewing.add(v.address);
    await sleep(60);
    this.addrs.add(key(v));
    this.log.push(`change ${v.address}`);
    this.renewing.delete(v.address);
    return true;
  }
}

test('a VIP released while its renewal runs stays released (the removal waits for the renewal)', async () => {
  const kernel = new KernelTable();
  const timing = { ...fenceTiming({ period_ms: 500, timeout_ms: 2500 }), vip_renew_ms: 20 };
  const t0 = Date.now();
  const keeper = new VipKeeper({ vips: kernel, timing, now_ms: () => Date.now() - t0, takeoverAt_ms: () => 0, log: SILENT_LOG });
  const a = { address: '198.18.5.1', prefix_len: 24, ifname: 'eth0' };
  const b = { address: '198.18.5.2', prefix_len: 24, ifname: 'eth0' };
  try {
    await keeper.ensurePresent(a);
    await keeper.ensurePresent(b);
    // Wait until B's renewal is in flight, then release B.
    const end = Date.now() + 3000;
    while (!kernel.renewing.has(b.address) && Date.now() < end) await sleep(1);
    expect(kernel.renewing.has(b.address)).toBe(true);
    expect(await keeper.ensureAbsent(b)).toBe('removed');
    await sleep(300); // several more ticks
    expect(kernel.addrs.has(key(b))).toBe(false);
    expect(keeper.heldVips()).toEqual([a]);
    expect(kernel.addrs.has(key(a))).toBe(true);
    // Nothing touched B after its removal.
    expect(kernel.log.slice(kernel.log.indexOf(`del ${b.address}`) + 1).filter((l) => l.endsWith(b.address))).toEqual([]);
  } finally {
    keeper.dispose();
  }
});
