// Drives one farm module's packet filter and VIPs on this node (docs/architecture.md, rule 11: it owns the
// module's nft tables and, for farm modules, its VIPs). Decisions come from the pure
// farmShare() and ownershipPlan() (the desired owned set, applied idempotently) and the module
// machine's SetVip effects (performed through vipPort()); this class only performs them, one reconcile at a time, always in this order:
//   start: SetVip(true) -> filter loaded closed (ARP rewrite first, so no node ever teaches
//          its own MAC for the VIP) -> VIP added -> start_both -> buckets opened once the
//          application is up;
//   stop:  buckets given away (leave) -> stop_both -> SetVip(false): VIP removed -> tables
//          removed once the module settled in STOP/WAIT.
// A failed nft call leaves the kernel as it was (FilterBackend contract) and its coded error
// shows in the status. With a lease the controller does not freeze: a frozen node would stop
// renewing, its buckets would expire within the lease while it still announced them as held
// (peers waiting for them forever) and it would never own its share again. It retries with a
// bounded backoff; once the kernel surely holds nothing (mayHoldUntil) it announces so. When
// the tables vanished (HAKIT_E_FILTER_NOT_LOADED: `nft flush ruleset`, a reload of
// nftables.service) it reloads the filter closed at once and goes on. Without a lease (unit
// tests only) buckets never expire, nothing can be said about them, and a failure freezes the
// filter until the module stops, as before.
// Fencing by expiry (docs/adr/0005-fencing-by-expiry.md): every owned bucket is an nft element
// with a timeout; a timer renews them every lease/3. When this daemon dies or its event loop
// stalls, the timer stops and the buckets expire before the peers take them over. The peers
// can only have taken them if this node was silent for their timeout, i.e. stalled for at
// least the lease (lease = timeout - period - margin); so after a gap of a whole lease without
// renewal the lease counts as lost: the set is emptied and the buckets are taken again only
// after a heartbeat timeout, from fresh peer views. A shorter gap is renewed as usual.
import { HakitError, isHakitError } from '../errors/catalogue';
import type { LogSink } from '../log/sink';
import type { PeerModuleView } from '../membership/pure/types';
import type { ModuleStateName, SubStatus } from '../module/pure/types';
import type { VipChange, VipManager, VipSpec } from '../net/types';
import type { FilterBackend } from '../../filters/nft/backend';
import type { ValidFarmFilter } from '../../filters/pure/types';
import { BUCKET_COUNT } from '../../filters/buckets';
import { NFT_COMMAND_TIMEOUT_MS } from '../../filters/pure/limits';
import { filterRetryDelay, leaseLost, mayHoldUntil, ownershipPlan } from './pure/ownership';
import { farmPeer, farmShare, peersReleased, type FarmPeer, type FarmShare, type FarmWire } from './pure/share';

/** Longest a stopping node waits for the survivors to take its buckets before it stops anyway. */
export const FARM_LEAVE_MAX_MS = 5_000;
/** How often a leaving node re-reads the peers' announcements. */
const LEAVE_POLL_MS = 10;

export interface FarmStatus {
  /** "owned/256". */
  readonly share: string;
  readonly assigned: number;
  readonly members: readonly string[];
  /** Buckets the member table gives each member ("node1": 86…). */
  readonly counts: Readonly<Record<string, number>>;
  readonly default_owner: string;
  /** Peers still holding buckets assigned here (a rebalance in progress). */
  readonly waiting_for: readonly string[];
  readonly filter: 'loaded' | 'absent';
  readonly leaving: boolean;
  readonly error: { readonly code: string; readonly message: string } | null;
  /** The buckets this node's filter owns now, as the last nft transaction read them back (the console's bucket map). */
  readonly owned: readonly number[];
}

export interface FarmControllerDeps {
  readonly module: string;
  readonly node: string;
  readonly filter: ValidFarmFilter;
  readonly powers: Readonly<Record<string, number>>;
  readonly backend: FilterBackend;
  readonly vips: VipManager;
  readonly vip_specs: readonly VipSpec[];
  readonly log: LogSink;
  /** The FarmWire changed: send a heartbeat now. */
  readonly onWire: () => void;
  readonly now_ms: () => number;
  /** Bucket lease; null: buckets never expire (the filter then has no lease either). */
  readonly lease?: FarmLease | null;
}

export interface FarmLease {
  /** The filter's element timeout (ValidFarmFilter.lease_ms). */
  readonly lease_ms: number;
  /** Renewal interval, at most lease_ms / 3. */
  readonly renew_ms: number;
  /** Heartbeat timeout + period: until then, silent peers may be alive and holding buckets. */
  readonly listen_ms: number;
  /** After a lost lease, how long buckets stay given up (the peers' heartbeat timeout). */
  readonly hold_ms: number;
  /** How long the backend lets one nft command run (default NFT_COMMAND_TIMEOUT_MS). */
  readonly nft_timeout_ms?: number;
}

const sameList = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export class FarmController {
  private state: ModuleStateName = 'STOP';
  private subStatus: SubStatus = 'NotReady';
  private peers: FarmPeer[] = [];
  private leaving = false;
  private loaded = false;
  private vipOn = false;
  /** The machine's last SetVip: the VIP belongs on the interface (it added it before start_both). */
  private vipWanted = false;
  private readonly vipSet = new Set<string>();
  private owned: readonly number[] = [];
  private applied: readonly string[] | null = null;
  private share: FarmShare | null = null;
  private error: { code: string; message: string } | null = null;
  private running = false;
  private again = false;
  private disposed = false;
  private idle: Array<() => void> = [];
  /** Monotonic ms when the last successful transaction that (re)set the elements was started. */
  private leaseStart_ms = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private lastRenewTick_ms: number;
  private readonly started_ms: number;
  /** After a lost lease: own nothing until then. */
  private holdUntil_ms = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  private readonly lease: FarmLease | null;
  /** Monotonic ms when the last setOwned call with elements started, whatever its outcome (mayHoldUntil). */
  private lastSetStart_ms = Number.NEGATIVE_INFINITY;
  /** Failed calls in a row; 0 while the filter works. */
  private failures = 0;
  /** While failing: no new attempt before then (Infinity: frozen). */
  private retryAt_ms = 0;

  constructor(private readonly d: FarmControllerDeps) {
    this.lease = d.lease ?? null;
    this.started_ms = d.now_ms();
    this.lastRenewTick_ms = this.started_ms;
    if (this.lease) {
      this.renewTimer = setInterval(() => this.renewTick(), this.lease.renew_ms);
      this.renewTimer.unref();
    }
  }

  /** Removes tables a crashed daemon left (the VIPs are the daemon's leftover check). */
  async cleanLeftover(): Promise<void> {
    try {
      await this.d.backend.remove(this.d.module);
    } catch (e) {
      this.failed(e, 'cannot remove the farm filter left by a previous daemon');
    }
  }

  localChanged(state: ModuleStateName, status: SubStatus): void {
    this.state = state;
    this.subStatus = status;
    // The stop/restart the leave prepared has begun: this node is out of the member list anyway.
    if (this.leaving && !(state === 'UP' && status === 'Ready')) this.setLeaving(false);
    this.kick();
  }

  peersChanged(peers: readonly PeerModuleView[]): void {
    this.peers = peers.map(farmPeer);
    this.kick();
  }

  wire(): FarmWire {
    return { leaving: this.leaving, applied: this.applied === null ? null : [...this.applied] };
  }

  status(): FarmStatus {
    const s = this.share;
    return {
      share: `${this.owned.length}/${BUCKET_COUNT}`,
      assigned: s?.assigned.length ?? 0,
      members: s?.members ?? [],
      counts: s?.counts ?? {},
      default_owner: s?.default_owner ?? '',
      waiting_for: s?.waiting_for ?? [],
      filter: this.loaded ? 'loaded' : 'absent',
      leaving: this.leaving,
      error: this.error,
      owned: [...this.owned],
    };
  }

  /**
   * Before a stop: gives this node's buckets away and waits (bounded) until every reachable
   * member applies a member list without this node, so no new connection lands on an
   * application about to stop.
   */
  async leave(bound_ms = FARM_LEAVE_MAX_MS): Promise<void> {
    if (!(this.state === 'UP' && this.subStatus === 'Ready') || !this.loaded) return;
    const started = this.d.now_ms();
    this.setLeaving(true);
    this.kick();
    for (;;) {
      await this.whenIdle();
      const r = peersReleased(this.d.node, this.peers);
      if (r.done && this.applied === null) {
        this.d.log.info({ waited_ms: Math.round(this.d.now_ms() - started) }, 'farm: buckets handed to the other members');
        return;
      }
      if (this.d.now_ms() - started >= bound_ms || !this.leaving) {
        this.d.log.warn({ code: 'HAKIT_E_FARM_LEAVE_TIMEOUT', pending: r.pending, bound_ms }, 'farm: members did not take this node\'s buckets in time; stopping anyway');
        return;
      }
      await new Promise((res) => setTimeout(res, LEAVE_POLL_MS));
    }
  }

  /** The stop the leave prepared was refused: serve again. */
  cancelLeave(): void {
    if (!this.leaving) return;
    this.setLeaving(false);
    this.kick();
  }

  whenIdle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** At daemon exit, after the module stopped: waits for the last reconcile, then stops acting. */
  async dispose(): Promise<void> {
    await this.whenIdle();
    this.disposed = true;
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
  }

  /**
   * The renewal timer. Its own lateness reveals a stalled event loop: then the buckets may
   * have expired and the peers may have declared this node dead, so the lease counts as lost.
   */
  private renewTick(): void {
    if (!this.lease || this.disposed) return;
    this.checkLease();
    this.lastRenewTick_ms = this.d.now_ms();
    this.kick();
  }

  private loseLease(why: string): void {
    const lease = this.lease;
    if (!lease) return;
    const now = this.d.now_ms();
    // Logged once per loss: while nft keeps failing, every renewal tick finds the lease lost again.
    if (now >= this.holdUntil_ms && (this.owned.length > 0 || this.applied !== null)) {
      this.d.log.error({ code: 'HAKIT_E_FENCE_LEASE_LOST', why, hold_ms: lease.hold_ms }, 'farm: bucket lease lost; buckets given up until the peers\' views are fresh');
    }
    this.holdUntil_ms = Math.max(this.holdUntil_ms, now + lease.hold_ms);
    this.wakeAt(this.holdUntil_ms);
  }

  /** Kicks a reconcile at monotonic time `at_ms` (one pending wake-up, the earliest). */
  private wakeAt(at_ms: number): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.kick();
    }, Math.max(0, at_ms - this.d.now_ms()) + 1);
    this.wakeTimer.unref();
  }

  /**
   * A whole lease without a renewal tick (event loop stalled) or without a renewal of the owned
   * set (nft slow): the peers may have declared this node dead and taken its buckets.
   */
  private checkLease(): void {
    const lease = this.lease;
    if (!lease) return;
    const why = leaseLost({ now_ms: this.d.now_ms(), lastRenewTick_ms: this.lastRenewTick_ms, leaseStart_ms: this.leaseStart_ms, owned: this.owned.length, lease_ms: lease.lease_ms });
    if (why !== null) this.loseLease(why);
  }

  /** Applies `owned` (also a renewal when unchanged) and records when the lease started. */
  private async applyOwned(owned: readonly number[]): Promise<void> {
    const started = this.d.now_ms();
    // Only a call that adds elements can leave buckets in the kernel, even if it fails.
    if (owned.length > 0) this.lastSetStart_ms = started;
    const r = await this.d.backend.setOwned(this.d.filter, owned);
    this.leaseStart_ms = started;
    if (!sameList(r.owned, this.owned)) {
      this.d.log.info({ owned: r.owned.length, members: this.share?.members ?? [], waiting_for: this.share?.waiting_for ?? [], transaction_ms: Math.round(r.transaction_ms) }, `farm: owns ${r.owned.length}/${BUCKET_COUNT} buckets`);
    }
    this.owned = r.owned;
  }

  private setLeaving(on: boolean): void {
    this.leaving = on;
    this.d.onWire();
  }

  private kick(): void {
    if (this.disposed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.loop();
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      do {
        this.again = false;
        await this.reconcile();
      } while (this.again && !this.disposed);
    } finally {
      this.running = false;
      const w = this.idle;
      this.idle = [];
      for (const f of w) f();
    }
  }

  private async reconcile(): Promise<void> {
    const settledOut = (this.state === 'STOP' || this.state === 'WAIT') && this.subStatus === 'NotReady';
    if (settledOut && !this.vipWanted) return this.teardown();
    if (this.error !== null && !this.mayRetry()) return;
    try {
      if (!this.loaded) {
        const r = await this.d.backend.load(this.d.filter, []);
        this.loaded = true;
        this.owned = r.owned;
        this.d.log.info({ table: this.d.filter.table, dev: this.d.filter.interface, vmac: this.d.filter.virtual_mac }, 'farm: filter loaded, closed');
      }
      if (settledOut) return this.recovered(); // the machine's SetVip(true) arrived before its announcement
      this.checkLease();
      const now = this.d.now_ms();
      const listening = this.lease !== null && now - this.started_ms < this.lease.listen_ms;
      if (listening) this.wakeAt(this.started_ms + this.lease!.listen_ms);
      const share = farmShare({ self: this.d.node, state: this.state, status: this.subStatus, leaving: this.leaving, peers: this.peers, powers: this.d.powers, listening });
      if (share.error !== null && share.error !== this.share?.error) this.d.log.error({ code: 'HAKIT_E_FILTER_MEMBERS', err: share.error }, 'farm: member list cannot own buckets');
      this.share = share;
      const plan = ownershipPlan({ self: this.d.node, now_ms: now, share, owned: this.owned, leaseStart_ms: this.leaseStart_ms, holdUntil_ms: this.holdUntil_ms, lease: this.lease });
      // A retry always calls nft, even when the set looks right: it is the test that nft works again.
      if (plan.apply || this.error !== null) await this.applyOwned(plan.want);
      // Announced only once the kernel holds no bucket outside this list's share.
      this.setApplied(plan.applied);
      this.recovered();
    } catch (e) {
      this.failed(e, this.lease ? 'farm: filter change failed; previous ruleset kept, retrying' : 'farm: filter change failed; previous ruleset kept, filter frozen until the module stops');
    }
  }

  /**
   * While failing: whether to try again now. On every renewal tick (which kicks a reconcile)
   * it also withdraws the announcement once the kernel surely holds nothing: a stale `applied`
   * would make the peers count this node's buckets held, so nobody would ever take them
   * (announcing none early is not safe either: a failed call may have committed).
   */
  private mayRetry(): boolean {
    const now = this.d.now_ms();
    if (this.lease && now >= mayHoldUntil(this.lastSetStart_ms, this.lease.lease_ms, this.lease.nft_timeout_ms ?? NFT_COMMAND_TIMEOUT_MS)) {
      if (this.owned.length > 0) this.d.log.warn({ code: this.error?.code }, 'farm: filter still failing; this node\'s buckets have expired, it holds none');
      this.owned = [];
      this.setApplied(null);
    }
    return now >= this.retryAt_ms;
  }

  private failed(e: unknown, what: string): void {
    this.noteError(e, what);
    this.failures++;
    const now = this.d.now_ms();
    const notLoaded = isHakitError(e) && e.code === 'HAKIT_E_FILTER_NOT_LOADED';
    if (notLoaded) {
      // The tables are gone, and with them every bucket (the update was refused as a whole):
      // this node holds nothing, and has no ARP rewrite either, so reload the filter closed at
      // once (the first time in a row; a repeat waits like any failure).
      this.loaded = false;
      this.owned = [];
      this.setApplied(null);
    }
    if (notLoaded && this.failures === 1) this.retryAt_ms = now;
    else this.retryAt_ms = this.lease ? now + filterRetryDelay(this.failures, this.lease.renew_ms) : Number.POSITIVE_INFINITY;
    if (this.retryAt_ms <= now) this.again = true;
  }

  /** A reconcile went through: the filter works (again). */
  private recovered(): void {
    if (this.error !== null) this.d.log.info({ code: this.error.code, failures: this.failures }, 'farm: filter works again');
    this.error = null;
    this.failures = 0;
    this.retryAt_ms = 0;
  }

  /**
   * The VipManager the module runner uses for this farm module: the machine's SetVip(true)
   * (before start_both) loads the filter closed first, then adds the VIP; SetVip(false)
   * (after stop_both) removes it. The controller never adds a VIP on its own, so it is added
   * once, in the machine's order.
   * No gratuitous ARP: arping writes on a packet socket, which the arp table's output hook
   * never sees, so it would teach the LAN this node's own MAC for the VIP (measured: every
   * client then sends all VIP traffic to this node only). The virtual MAC never changes, so
   * clients keep a correct entry; new ones learn it from the rewritten kernel replies.
   */
  vipPort(): VipManager {
    return {
      isPresent: (v) => this.d.vips.isPresent(v),
      ensurePresent: (v) => this.vipPresent(v),
      ensureAbsent: (v) => this.vipAbsent(v),
      announce: async () => undefined,
    };
  }

  private async vipPresent(v: VipSpec): Promise<VipChange> {
    this.vipWanted = true;
    this.kick();
    await this.whenIdle();
    if (!this.loaded) {
      const why = this.error ? `${this.error.code}: ${this.error.message}` : 'the module stopped';
      throw new HakitError('HAKIT_E_FARM_NOT_OPEN', `virtual IP ${v.address} not added: the farm filter is not loaded (${why})`, `module ${this.d.module}`);
    }
    const change = await this.d.vips.ensurePresent(v);
    this.vipSet.add(v.address);
    this.vipOn = true;
    return change;
  }

  private async vipAbsent(v: VipSpec): Promise<VipChange> {
    this.vipWanted = false;
    const change = await this.d.vips.ensureAbsent(v);
    this.vipSet.delete(v.address);
    this.vipOn = this.vipSet.size > 0;
    this.kick();
    return change;
  }

  private async teardown(): Promise<void> {
    try {
      if (this.vipOn || this.loaded) {
        // Normally already gone (the machine's SetVip(false)); kept for a runner that broke.
        // VIP first: with the tables gone but the VIP still here, ARP would answer with our own MAC.
        for (const v of this.d.vip_specs) {
          const change = await this.d.vips.ensureAbsent(v);
          if (change !== 'unchanged') this.d.log.info({ vip: `${v.address}/${v.prefix_len}`, dev: v.ifname }, `virtual IP ${change}`);
        }
        this.vipOn = false;
        this.vipSet.clear();
      }
      if (this.loaded) {
        await this.d.backend.remove(this.d.module);
        this.loaded = false;
        this.owned = [];
        this.d.log.info({ table: this.d.filter.table }, 'farm: filter removed');
      }
      this.error = null;
      this.failures = 0;
      this.retryAt_ms = 0;
      this.share = null;
      this.setApplied(null);
      if (this.leaving) this.setLeaving(false);
    } catch (e) {
      this.noteError(e, 'farm: cannot remove the VIP or the filter');
    }
  }

  private setApplied(next: readonly string[] | null): void {
    const same = next === null || this.applied === null ? next === this.applied : sameList(next, this.applied);
    if (same) return;
    this.applied = next === null ? null : [...next];
    this.d.onWire();
  }

  private noteError(e: unknown, what: string): void {
    const code = isHakitError(e) ? e.code : 'HAKIT_E_INTERNAL';
    const message = e instanceof Error ? e.message : String(e);
    this.error = { code, message };
    this.d.log.error({ code, err: message }, what);
  }
}
