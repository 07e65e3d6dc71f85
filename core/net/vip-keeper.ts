// The VipManager hakitd gives its modules: VIPs that expire unless this daemon renews them
// (docs/adr/0005-fencing-by-expiry.md). Every VIP is added with a kernel lifetime
// (valid_lft); a timer renews each held VIP every lifetime/3. When hakitd dies or its event
// loop stalls, the timer stops and the kernel removes the address itself, before the peers
// take the VIP over. The keeper also holds a takeover back while a peer that went silent may
// still hold the VIP (a profile shorter than the address lifetime allows, e.g. `fast`).
//
// A VIP whose renewal gap reached its lifetime counts as lost (it may be gone, and if this
// node was silent long enough a peer may have taken it): it is not renewed (a renewal never
// brings back an expired VIP) and is added again only after the peers' timeout, through the
// same takeover hold, if no module released it meanwhile.
import { HakitError } from '../errors/catalogue';
import type { LogSink } from '../log/sink';
import type { FenceTiming } from './pure/fence-timing';
import type { VipChange, VipManager, VipSpec } from './types';

/** A VipManager whose VIPs carry a lifetime that renew() extends (IpVipManager with lifetime_s). */
export interface LeasableVipManager extends VipManager {
  /** Extends a present VIP's lifetime; false (and nothing changed) when it is absent. */
  renew(vip: VipSpec): Promise<boolean>;
}

export interface VipKeeperDeps {
  readonly vips: LeasableVipManager;
  readonly timing: FenceTiming;
  readonly now_ms: () => number;
  /** Earliest monotonic ms a VIP absent here may be added (vipTakeoverAt of the silent peers). */
  readonly takeoverAt_ms: () => number;
  readonly log: LogSink;
  /**
   * VIPs without lifetime, for farm modules: every farm node holds the VIP and the bucket
   * leases fence a dead node; its established flows keep their VIP. Absent: `vips`.
   */
  readonly permanent?: VipManager;
}

/** Longest a takeover is held back, whatever takeoverAt_ms says (a bad clock must not block). */
const HOLD_MAX_FACTOR = 2;
const HOLD_POLL_MS = 20;

interface Held {
  readonly vip: VipSpec;
  /** Monotonic ms when the last successful add or renewal started; the lease counts from it. */
  renewed_ms: number;
  /** Set when the lease was lost: re-added after this monotonic time. */
  readdAfter_ms: number | null;
}

const keyOf = (v: VipSpec): string => `${v.address}@${v.ifname}`;

export class VipKeeper implements VipManager {
  private readonly held = new Map<string, Held>();
  /** Per VIP, the end of its last queued operation (serial()). */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly timer: NodeJS.Timeout;
  private ticking = false;
  private lastTick_ms: number;
  private disposed = false;

  constructor(private readonly d: VipKeeperDeps) {
    this.lastTick_ms = d.now_ms();
    this.timer = setInterval(() => void this.tick(), d.timing.vip_renew_ms);
    this.timer.unref();
  }

  isPresent(vip: VipSpec): Promise<boolean> {
    return this.d.vips.isPresent(vip);
  }

  ensurePresent(vip: VipSpec): Promise<VipChange> {
    return this.serial(vip, () => this.add(vip));
  }

  ensureAbsent(vip: VipSpec): Promise<VipChange> {
    // Not renewed from now on (a renewal queued behind this finds it released); one in flight
    // ends before the removal starts.
    this.held.delete(keyOf(vip));
    return this.serial(vip, () => this.d.vips.ensureAbsent(vip));
  }

  /**
   * Runs `f` once every earlier operation on this VIP ended. An add, a renewal and a removal
   * of one VIP never overlap: a renewal (`ip addr change`, which adds a missing IPv4 address)
   * that overlapped a removal put the VIP back with a full lifetime on a node that had just
   * released it, while the peer took it over (found by review); an add held back for a silent
   * peer finished after the removal that followed it.
   */
  private serial<T>(vip: VipSpec, f: () => Promise<T>): Promise<T> {
    const key = keyOf(vip);
    const run = (this.chains.get(key) ?? Promise.resolve()).then(f, f);
    const tail: Promise<void> = run.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return run;
  }

  private async add(vip: VipSpec): Promise<VipChange> {
    if (!(await this.d.vips.isPresent(vip))) await this.holdBack(vip);
    const started = this.d.now_ms();
    const change = await this.d.vips.ensurePresent(vip);
    // Present already (a leftover adopted, a second SetVip): give it a lifetime from now.
    if (change === 'unchanged') await this.d.vips.renew(vip);
    this.held.set(keyOf(vip), { vip, renewed_ms: started, readdAfter_ms: null });
    return change;
  }

  announce(vip: VipSpec, count: number): Promise<void> {
    return this.d.vips.announce(vip, count);
  }

  /** The manager of VIPs that must not expire (farm modules: fenced by their bucket leases). */
  unleased(): VipManager {
    return this.d.permanent ?? this;
  }

  /** VIPs this keeper renews, for status and tests. */
  heldVips(): VipSpec[] {
    return [...this.held.values()].filter((h) => h.readdAfter_ms === null).map((h) => h.vip);
  }

  dispose(): void {
    this.disposed = true;
    clearInterval(this.timer);
  }

  /** Waits (bounded) until no silent peer may still hold a VIP. */
  private async holdBack(vip: VipSpec): Promise<void> {
    const first = this.d.now_ms();
    const bound = first + HOLD_MAX_FACTOR * this.d.timing.vip_takeover_hold_ms;
    const at = Math.min(this.d.takeoverAt_ms(), bound);
    if (at <= first) return;
    this.d.log.info({ vip: vip.address, wait_ms: Math.round(at - first) }, 'virtual IP: waiting until a silent peer\'s copy has surely expired');
    while (this.d.now_ms() < Math.min(this.d.takeoverAt_ms(), bound)) await new Promise((r) => setTimeout(r, HOLD_POLL_MS));
  }

  private async tick(): Promise<void> {
    if (this.disposed) return;
    // The timer's own lateness shows a stalled event loop, whether or not renewals still run.
    const now = this.d.now_ms();
    const stalled = now - this.lastTick_ms >= this.d.timing.vip_lifetime_s * 1000;
    this.lastTick_ms = now;
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const h of [...this.held.values()]) await this.renewOne(h, stalled);
    } finally {
      this.ticking = false;
    }
  }

  private async renewOne(h: Held, stalled: boolean): Promise<void> {
    const lifetime_ms = this.d.timing.vip_lifetime_s * 1000;
    const now = this.d.now_ms();
    if (h.readdAfter_ms !== null) {
      if (now >= h.readdAfter_ms) await this.serial(h.vip, async () => (this.held.get(keyOf(h.vip)) === h ? this.readd(h) : undefined));
      return;
    }
    if (stalled || now - h.renewed_ms >= lifetime_ms) {
      h.readdAfter_ms = now + this.d.timing.timeout_ms;
      this.d.log.error({ code: 'HAKIT_E_FENCE_LEASE_LOST', vip: h.vip.address, since_renewal_ms: Math.round(now - h.renewed_ms), readd_in_ms: this.d.timing.timeout_ms }, 'virtual IP lease lost (renewal too late): not renewed, added again after the peers\' timeout');
      return;
    }
    await this.serial(h.vip, async () => {
      if (this.held.get(keyOf(h.vip)) !== h) return; // released (or added again) meanwhile
      try {
        if (await this.d.vips.renew(h.vip)) h.renewed_ms = now;
        else {
          h.readdAfter_ms = now + this.d.timing.timeout_ms;
          this.d.log.error({ code: 'HAKIT_E_FENCE_LEASE_LOST', vip: h.vip.address }, 'virtual IP vanished from the interface before its lease ended: added again after the peers\' timeout');
        }
      } catch (e) {
        this.d.log.warn({ code: e instanceof HakitError ? e.code : 'HAKIT_E_VIP_COMMAND', vip: h.vip.address, err: e instanceof Error ? e.message : String(e) }, 'virtual IP renewal failed; retried at the next tick');
      }
    });
  }

  /** Under serial() of its VIP. */
  private async readd(h: Held): Promise<void> {
    try {
      await this.add(h.vip);
      this.d.log.warn({ vip: h.vip.address }, 'virtual IP added again after a lost lease');
    } catch (e) {
      h.readdAfter_ms = this.d.now_ms() + this.d.timing.timeout_ms;
      this.d.log.error({ code: e instanceof HakitError ? e.code : 'HAKIT_E_VIP_COMMAND', vip: h.vip.address, err: e instanceof Error ? e.message : String(e) }, 'virtual IP could not be added again after a lost lease');
    }
  }
}
