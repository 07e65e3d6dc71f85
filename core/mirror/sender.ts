// PRIM side of one mirror module: routes every captured operation (live, recorded as
// dirty, or held), ships live ops over one authenticated, pipelined connection, keeps the
// dirty journal while SECOND is absent, and runs re-integration when SECOND comes back.
// The link's decisions (seq numbers, in-flight bound, cumulative ACKs, resume by seq or
// ALONE, connecting, status) are the pure machine pure/link.ts; this class is its runner:
// it feeds events with the Clock port's time and performs the effects (channel, journal,
// waiting callers, re-integration passes).
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { HakitError } from '../errors/catalogue';
import { type MirrorOp, isNamespaceOp, opPaths } from './pure/ops';
import { encodeOpParts } from './pure/op-codec';
import { NO_EXCLUDES, isExcluded, type ExcludeRules } from './pure/exclude';
import { PendingSet } from './pure/pending';
import { routeOp, type LinkPhase, type RouteView } from './pure/route';
import { connectChannel, type Channel } from './stream/channel';
import { FrameFlag, FrameType, type Frame, type FrameProtection } from './stream/frame';
import { DirtyJournal, JOURNAL_SYNC_INTERVAL_MS, type JournalEvent } from './journal';
import { syncFileSystem } from './sync-fs';
import { PathGate } from './path-gate';
import { realPathOf } from './tree-walk';
import { Reintegrator, type ReintegrationMode, type ReintegrationPort } from './reintegrator';
import { REAL_CLOCK, type Clock } from '../module/runner/clock';
import { fsyncSyncsSecond, syncWaitsUnasked, type SecondMode } from './pure/second-mode';
import { LINK_DEFAULTS, drainSeq, fenceRefusal, hasRoom, initialLinkState, isCurrent, isFenced, linkStep, type LinkConfig, type LinkEffect, type LinkEvent, type LinkState, type SenderStatus } from './pure/link';
import { ActivityRecord } from './activity-record';
import { EMPTY_CAP_BUCKET, capChunkBytes, capTake, type CapBucket } from './pure/bandwidth-cap';
import { COOL_IDLE_MS, chooseReintegration, coolingPlan, syncLikelySoon, under, type ActivitySummary, type HotFile } from './pure/activity';

/** Defaults; each is a named bound (docs/architecture.md, rule 8). The link's own (in-flight
 *  bound, timeouts, resume window, apply-error back-off) are the link machine's. */
export const SENDER_DEFAULTS = {
  ...LINK_DEFAULTS,
  block_size_bytes: 64 * 1024,
  reint_chunk_bytes: 1024 * 1024,
  /** Live writes above this are shipped in parts of this size (see shipWrite); 256 KiB beat
   *  128 KiB and one 1 MiB frame by 13-16 % for 1 MiB sequential writes (measured A/B). */
  live_chunk_bytes: 256 * 1024,
  /** A write() returns before SECOND has it, so its bytes must outlive the FUSE request
   *  buffer: up to this size they are copied (cheap) and the buffer is free at the reply;
   *  bigger writes keep their request buffer until SECOND acknowledged them. */
  copy_write_below_bytes: 64 * 1024,
} as const;

export interface SenderOptions {
  readonly module: string;
  /** PRIM's real directory (the private bind mount, never the FUSE mount). */
  readonly real_dir: string;
  /** Where the sender keeps its journal. */
  readonly state_dir: string;
  readonly key: Buffer;
  /** Frame protection; the receiver must use the same (default 'auth'). */
  readonly protection?: FrameProtection;
  /** SECOND's `<rfs async>` (the same on both nodes): with "second" SECOND acknowledges every
   *  op on receipt, without syncing (docs/mirror.md). */
  readonly async?: 'none' | 'second';
  /** SECOND's `<rfs sync_secondary>` (the same on both nodes): with it, an fsync op makes
   *  SECOND sync its disk and is always shipped; without, it only orders (see sync()). */
  readonly sync_secondary?: boolean;
  readonly peer: { readonly host: string; readonly port: number };
  readonly rules?: ExcludeRules;
  /** This PRIM starts from copy `takeover_copy`, complete (this node was its SECOND): the
   *  journal starts empty and records every change since (see pure/activity.ts). */
  readonly takeover_copy?: string;
  /** Optional cap on re-integration traffic (live writes are never capped: capping them
   *  would slow the application, as SafeKit and DRBD's resync rate also leave them alone). */
  readonly bandwidth_bytes_per_s?: number;
  readonly max_inflight_bytes?: number;
  readonly ack_timeout_ms?: number;
  readonly reconnect_ms?: number;
  readonly resume_window_ms?: number;
  readonly block_size_bytes?: number;
  readonly reint_chunk_bytes?: number;
  /** Monotonic time for every timeout (a wall-clock step must not cut or stall the link). */
  readonly clock?: Clock;
  /**
   * Who fences SECOND when the link leaves it behind (pure/link.ts, the fence): 'module' (the
   * daemon: sync calls wait until the module machine feeds `fenced()`), or 'self' (a test or
   * bench with no module layer: the sender fences itself at once, as if SECOND were lost).
   */
  readonly fence?: 'module' | 'self';
}

type WriteOp = Extract<MirrorOp, { kind: 'write' }>;

export type { SenderStatus } from './pure/link';

export interface SenderEvents {
  status: [SenderStatus];
  /** The link left SECOND behind: sync calls that return on PRIM alone wait for `fenced()`. */
  fence_wanted: [];
  /** Our own bookkeeping failed without stopping replication (the journal emptied itself). */
  problem: [HakitError];
}

interface PendingRequest { frames: Frame[]; resolve: (f: Frame[]) => void; reject: (e: Error) => void }
/** A caller waiting for its op (seq) to complete: acknowledged, or made pending. */
interface Waiter { seq: number; done: () => void }
/** Read from a WELCOME before the machine accepts the connection; applied at `attach`. */
interface SessionFacts { copy: string; activity: ActivitySummary | undefined }

export class MirrorSender extends EventEmitter<SenderEvents> implements ReintegrationPort {
  readonly pending = new PendingSet();
  readonly gate = new PathGate();
  readonly rules: ExcludeRules;
  private readonly journal: DirtyJournal;
  /** Files whose content may differ from SECOND's, crash-safe (activity-record.ts). */
  readonly activity: ActivityRecord;
  /** Write/sync generations of the hot files, for cooling (pure/activity.ts coolingPlan). */
  private readonly hotFiles = new Map<string, HotFile>();
  private cooling = false;
  /** See SenderOptions.takeover_copy; kept until a pass reaches in_sync. */
  private takeoverOf: string | undefined;
  /** The returning SECOND's activity record, for an 'activity' pass. */
  sessionActivity: ActivitySummary | undefined;
  /** The link machine's state (pure/link.ts), stepped with the Clock port's time. */
  private ls: LinkState;
  private readonly linkCfg: LinkConfig;
  /** The attached channel (the machine's conn 'up'). */
  private channel: Channel | undefined;
  /** A channel just opened, not attached yet (the machine decides). */
  private opened: Channel | undefined;
  private openedSession: SessionFacts | undefined;
  private stopped = false;
  private nextIntent = 1;
  /** Callers waiting for their op, in seq order. */
  private waiters: Waiter[] = [];
  /** Events fed while a step's effects are performed, stepped after them (see step()). */
  private readonly events: Array<{ e: LinkEvent; caller: { done?: () => void; request?: PendingRequest } | undefined }> = [];
  private stepping = false;
  /** The caller of the event being stepped (see step()). */
  private enqueueDone: (() => void) | undefined;
  private requestSlot: PendingRequest | undefined;
  private readonly requests = new Map<number, PendingRequest>();
  private roomWaiters: Array<() => void> = [];
  /** Sync calls held until the fence holds (pure/link.ts): released or failed together. */
  private held: Array<{ ok: () => void; fail: (e: Error) => void }> = [];
  /** The last ALONE transition's journal work (stop() waits for it). */
  private aloneWork: Promise<void> = Promise.resolve();
  /** mendJournal() has a rewrite in flight. */
  private mending = false;
  private copyId = '';
  private last: SenderStatus | undefined;
  private needFull = false;
  /** Bumped whenever a full comparison becomes owed (oweFull): a full pass settles only what
   *  was owed when it started. */
  private fullAsked = 0;
  private timers: Array<{ stop: () => void }> = [];
  private capBucket: CapBucket = EMPTY_CAP_BUCKET;
  private reint: Reintegrator | undefined;
  /** Incremented for every namespace op queued for SECOND: a signature requested before a
   *  change of it may describe a file that has since been renamed over or removed. */
  namespaceGen = 0;
  shippedBytes = 0;
  shippedOps = 0;

  /** SECOND's async and sync_secondary (pure/second-mode.ts). */
  private readonly mode: SecondMode;

  constructor(readonly opts: SenderOptions) {
    super();
    this.rules = opts.rules ?? NO_EXCLUDES;
    this.mode = { async: opts.async ?? 'none', sync_secondary: opts.sync_secondary === true };
    this.cfg = configOf(opts);
    this.linkCfg = this.cfg;
    this.ls = initialLinkState({ peer: `${opts.peer.host}:${opts.peer.port}` });
    this.journal = new DirtyJournal(path.join(opts.state_dir, 'journal.log'));
    this.journal.fullOwed = () => this.needFull || this.pending.overflowed;
    this.journal.onBroken = (e) => this.emit('problem', e);
    this.activity = new ActivityRecord(opts.state_dir);
    this.clock = opts.clock ?? REAL_CLOCK;
  }

  readonly clock: Clock;
  /** Monotonic now (the Clock port). */
  now_ms(): number { return this.clock.now_ms(); }
  /** Resolves after `ms` on the Clock port's timer. */
  sleep(ms: number): Promise<void> { return new Promise((r) => { this.clock.setTimer(r, ms); }); }

  get phase(): LinkPhase { return this.ls.route; }
  /** Incremented at every connection change (the machine's generation). */
  get linkGen(): number { return this.ls.gen; }
  /** Options over defaults, built once: the pump reads it for every op. */
  private readonly cfg: ReturnType<typeof configOf>;

  view(): RouteView {
    return { phase: this.ls.route, rules: this.rules, pending: this.pending, busy: this.gate.busy };
  }

  /** The last status reported (a listener attached after `start` reads it here). */
  get lastStatus(): SenderStatus | undefined { return this.last; }

  /** The link's watchdog period (pings go out on its ticks). */
  private get tickMs(): number { return Math.max(50, Math.floor(this.cfg.ack_timeout_ms / 4)); }

  emitStatus(s: SenderStatus): void {
    this.last = s;
    this.emit('status', s);
  }

  /** The re-integrator of link generation `gen` has listed both trees. */
  namesReconciled(gen: number): void {
    this.step({ kind: 'names_reconciled', gen });
  }

  // ---- lifecycle -------------------------------------------------------------------

  /** Loads the journal (so that captured ops can be recorded) and, unless `link` is false,
   *  starts connecting to SECOND; with false, call `link()` once the real directories are
   *  in place (a full comparison must never list an empty mount point). */
  async start(opts: { link?: boolean } = {}): Promise<void> {
    const load = await this.journal.load();
    await this.activity.load();
    for (const p of this.activity.hotPaths()) this.hotFiles.set(p, { write_gen: 1, synced_gen: 0, seen_gen: 1 });
    const takeover = this.opts.takeover_copy;
    // The ALONE reason until the link reports: what SECOND's return will cost.
    let reason = load.trusted ? `not connected yet; journal trusted: ${load.reason}` : `not connected yet; journal not trusted (${load.reason}): its return needs a full comparison`;
    if (takeover !== undefined) {
      // This node's data is copy `takeover`, complete: what an earlier life of it as PRIM
      // journaled is moot; from now on the journal holds every change made here.
      this.copyId = takeover;
      this.needFull = false;
      this.takeoverOf = takeover;
      reason = 'not connected yet; took over a complete copy';
    } else {
      this.copyId = load.copy_id;
      this.needFull = !load.trusted;
      this.takeoverOf = load.trusted ? load.takeover_of : undefined;
      const snap = load.pending.snapshot();
      for (const ev of snap.ops) this.pending.recordUnshipped(ev);
      for (const d of snap.dirty) for (const r of d.ranges) this.pending.markDirty(d.path, r.start, r.end);
      // Files a full comparison had not reached when the module stopped: compare them next.
      for (const c of snap.compare) this.pending.markCompare(c);
    }
    this.journal.takeoverOf = this.takeoverOf;
    // A journal its disk refuses (full) does not keep the application from starting: it stays
    // emptied, so a crash means a full comparison, and mendJournal writes it once it can.
    // `pending` in memory holds what SECOND lacks either way.
    await this.journal.rewrite(this.copyId, this.pending, 'alone').catch(() => undefined);
    this.gate.wake();
    this.emitStatus({ state: 'alone', reason });
    if (opts.link !== false) this.link();
  }

  /** The module layer: SECOND cannot take over with a copy lacking PRIM's ALONE writes. */
  fenced(): void {
    this.step({ kind: 'fenced' });
  }

  /** The module layer: the fence cannot hold; held sync calls fail, later ones at once. */
  refuseFence(message: string): void {
    this.step({ kind: 'fence_refused', code: 'HAKIT_E_MIRROR_FENCE_REFUSED', message });
  }

  /** The module layer: SECOND is lost by the heartbeats. */
  peerLost(): void {
    this.step({ kind: 'peer_lost' });
  }

  /** Sync calls that return on PRIM alone wait for `fenced()` now. */
  get needsFence(): boolean { return !isFenced(this.ls); }

  /** The journal is emptied now (its disk refused a record) until mendJournal rewrites it. */
  get journalProblem(): HakitError | undefined { return this.journal.problem; }

  /** Resolves once the fence holds (at once when it does); rejects if the sender stops first
   *  or the module layer refused the fence (at once while that refusal stands). */
  private whenFenced(): Promise<void> {
    if (isFenced(this.ls)) return Promise.resolve();
    const refused = fenceRefusal(this.ls);
    if (refused) return Promise.reject(new HakitError(refused.code, refused.message, this.opts.module));
    return new Promise((ok, fail) => this.held.push({ ok, fail }));
  }

  /** When a sync call on `path` that SECOND took no part in (ALONE, or SECOND incomplete) may
   *  return: once the fence holds, or at once for a path never replicated (notreplicated). */
  private whenFencedFor(path: string): Promise<void> {
    return isExcluded(this.rules, path, false) ? Promise.resolve() : this.whenFenced();
  }

  /** Starts the connect loop and the watchdog. */
  link(): void {
    if (this.stopped || this.timers.length > 0) return;
    this.timers.push(this.every(this.cfg.reconnect_ms, () => this.step({ kind: 'connect_tick' })));
    this.timers.push(this.every(this.tickMs, () => this.step({ kind: 'tick' })));
    this.timers.push(this.every(COOL_IDLE_MS, () => void this.coolTick().catch(() => undefined)));
    this.timers.push(this.every(JOURNAL_SYNC_INTERVAL_MS, () => this.mendJournal()));
    this.step({ kind: 'start' });
  }

  /** Stops replication: unacknowledged ops become dirty, the journal is closed cleanly. */
  async stop(): Promise<void> {
    // A clean stop (the capture is gone: no new op) first lets SECOND acknowledge what is
    // queued or in flight, for at most the ack timeout (a SECOND silent that long is lost
    // anyway). Else the application's last writes, never synced but written before a clean
    // stop_prim, were dropped with the link while SECOND's copy stayed "complete": a swap's
    // new PRIM then lacked them (test/mirror/clean-stop.test.ts).
    if (!this.stopped && this.phase !== 'alone') await this.drainedWithin(this.cfg.ack_timeout_ms);
    this.stopped = true;
    for (const t of this.timers) t.stop();
    this.timers = [];
    this.step({ kind: 'stop' });
    await Promise.resolve(); // called from inside a step: that step's effects (and ours) run first
    await this.aloneWork;
    await this.reint?.finished;
    // A close its disk refuses leaves the journal emptied: the next start compares in full.
    await this.journal.close(this.copyId, this.pending, 'alone').catch(() => undefined);
    await this.activity.close().catch(() => undefined);
  }

  // ---- activity record (pure/activity.ts) ----------------------------------------------

  /**
   * Before PRIM changes the content of `p` locally: `p` is durably hot, so that after a power
   * cut of this node the new PRIM compares it. When the record cannot be written it is
   * removed (that return then compares every file); when even that fails, the change is
   * refused with EIO rather than made unrecorded.
   */
  private hot(p: string): Promise<void> {
    if (!this.activity.isOpen) return MirrorSender.DONE; // no session yet: no copy of SECOND to differ from
    const f = this.hotFiles.get(p);
    this.hotFiles.set(p, f ? { ...f, write_gen: f.write_gen + 1 } : { write_gen: 1, synced_gen: 0, seen_gen: 0 });
    // A file being written is hot already (the common case): no record to wait for.
    if (this.activity.isDurablyHot(p)) return MirrorSender.DONE;
    return this.markHot(p);
  }

  private static readonly DONE: Promise<void> = Promise.resolve();

  /** hot()'s record write, and its fall-backs when the record cannot be written. */
  private async markHot(p: string): Promise<void> {
    try {
      await this.activity.markHot(p);
    } catch {
      try {
        await this.activity.discard();
      } catch {
        throw Object.assign(new Error('EIO'), { code: 'EIO', errno: -5 });
      }
    }
  }

  /** A rename or link carries the hotness of its source (a dir: of every hot path under it). */
  private async hotMoved(from: string, to: string): Promise<void> {
    for (const p of [...this.hotFiles.keys()]) if (under(p, from)) await this.hot(to + p.slice(from.length));
  }

  /** Every COOL_IDLE_MS: hot files idle since the last tick are synced (to SECOND and PRIM's
   *  disk) unless a sync covered them already, then dropped from the record. */
  private async coolTick(): Promise<void> {
    if (this.cooling || this.stopped || this.hotFiles.size === 0) return;
    this.cooling = true;
    try {
      const plan = coolingPlan(this.hotFiles);
      const cooled = [...plan.cool];
      if (this.phase === 'in_sync') {
        for (const p of plan.sync_first.slice(0, 256)) {
          const gen = this.hotFiles.get(p)?.write_gen;
          const ok = await this.sync(p, () => this.syncReal(p)).then(() => true, () => false);
          if (ok && this.hotFiles.get(p)?.write_gen === gen) cooled.push(p);
        }
      }
      for (const [p, f] of this.hotFiles) this.hotFiles.set(p, { ...f, seen_gen: f.write_gen });
      const gone = cooled.filter((p) => { const f = this.hotFiles.get(p); return f !== undefined && f.seen_gen === f.write_gen; });
      if (gone.length === 0) return;
      for (const p of gone) this.hotFiles.delete(p);
      await this.activity.cool(gone);
    } finally {
      this.cooling = false;
    }
  }

  /** What a pass shipped is on PRIM's disk: each file's fdatasync, or one syncfs when many. */
  private async makeShippedDurable(paths: ReadonlySet<string>): Promise<void> {
    if (paths.size > MAX_SHIPPED_FILE_SYNCS) {
      await syncFileSystem(this.opts.real_dir);
      return;
    }
    for (const p of paths) await this.syncReal(p).catch(() => undefined);
  }

  /** fdatasync of a file of the real tree (a file gone meanwhile has nothing to sync). */
  private async syncReal(p: string): Promise<void> {
    let fh;
    try {
      fh = await fs.open(realPathOf(this.opts.real_dir, p), 'r');
    } catch {
      return;
    }
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
  }

  /**
   * Feeds one event to the link machine at the Clock port's now and performs its effects in
   * order. Run to completion: an event fed while effects are being performed (closing a
   * channel reports its close at once; a pass started by an effect ships its first ops) is
   * stepped after them, so frames leave in the order the machine chose. `caller` is who waits
   * for an `enqueue` (its `queued`/`record` effect) or a `request` (`request_queued`/`_failed`).
   */
  private step(e: LinkEvent, caller?: { done?: () => void; request?: PendingRequest }): void {
    this.events.push({ e, caller });
    if (this.stepping) return;
    this.stepping = true;
    try {
      for (let next = this.events.shift(); next; next = this.events.shift()) {
        const before = this.ls.route;
        const r = linkStep(this.ls, next.e, this.clock.now_ms(), this.linkCfg);
        this.ls = r.state;
        if (this.ls.route !== before) this.gate.wake();
        this.enqueueDone = next.caller?.done;
        this.requestSlot = next.caller?.request;
        for (const eff of r.effects) this.perform_(eff);
        this.enqueueDone = undefined;
        this.requestSlot = undefined;
        if (this.roomWaiters.length > 0 && hasRoom(this.ls, this.linkCfg)) this.wakeRoom();
      }
    } finally {
      this.stepping = false;
    }
  }

  private perform_(eff: LinkEffect): void {
    switch (eff.kind) {
      case 'open_channel':
        void this.open(eff.purpose, eff.timeout_ms);
        return;
      case 'attach':
        this.attach();
        return;
      case 'discard_channel': {
        const ch = this.opened;
        this.opened = undefined;
        this.openedSession = undefined;
        ch?.close();
        return;
      }
      case 'close_channel': {
        const ch = this.channel;
        ch?.close(new HakitError(eff.code, eff.message, ch.where));
        return;
      }
      case 'drop_channel': {
        const ch = this.channel;
        this.channel = undefined;
        ch?.close(new HakitError(eff.code, eff.message, ch.where));
        return;
      }
      case 'send_op': {
        const ch = this.channel;
        if (!ch || ch.isClosed) return; // its close is (or was) an event: the machine resends or journals it
        // The machine says which ops SECOND acknowledges at once: every op but a write, and
        // writes a sync call will soon wait for (see sync()); SECOND acknowledges an fsync op
        // at once anyway.
        const ackNow = eff.ack_now && eff.op.kind !== 'fsync' ? FrameFlag.ACK_NOW : 0;
        if (!this.sendOrClose(ch, FrameType.OP, eff.seq, encodeOpParts(eff.op), ackNow)) return;
        this.shippedOps++;
        if (eff.op.kind === 'write') this.shippedBytes += eff.op.data.length;
        return;
      }
      case 'send_frame': {
        const ch = this.channel;
        if (!ch || ch.isClosed) return;
        this.sendOrClose(ch, eff.frame_type === 'REQ' ? FrameType.REQ : FrameType.STATE, eff.id, Buffer.from(JSON.stringify(eff.body)));
        return;
      }
      case 'ping':
        this.channel?.send(FrameType.PING, 0, Buffer.alloc(0));
        return;
      case 'queued':
        if (this.enqueueDone) this.waiters.push({ seq: eff.seq, done: this.enqueueDone });
        this.enqueueDone = undefined;
        return;
      case 'record': {
        const op = eff.op;
        void this.journal.append([MirrorSender.journalEventFor(op)]).catch(() => undefined);
        this.pending.recordUnshipped(op);
        const done = this.enqueueDone;
        this.enqueueDone = undefined;
        done?.();
        return;
      }
      case 'complete':
        this.completeThrough(eff.through_seq);
        return;
      case 'go_alone':
        this.goAlone(eff.ops, eff.through_seq, eff.rewrite_journal);
        return;
      case 'fail_requests': {
        const err = new HakitError(eff.code, eff.message, this.opts.module);
        const all = [...this.requests.values()];
        this.requests.clear();
        for (const r of all) r.reject(err);
        return;
      }
      case 'request_queued':
        if (this.requestSlot) this.requests.set(eff.id, this.requestSlot);
        this.requestSlot = undefined;
        return;
      case 'request_failed':
        this.requestSlot?.reject(new HakitError(eff.code, eff.message, this.opts.module));
        this.requestSlot = undefined;
        return;
      case 'start_reintegration':
        this.startReintegration(eff.mode, eff.gen);
        return;
      case 'timer': {
        const ev = eff.event;
        this.clock.setTimer(() => this.step(ev), eff.delay_ms);
        return;
      }
      case 'status':
        this.emitStatus(eff.status);
        return;
      case 'fence_wanted':
        if (this.opts.fence === 'self') this.events.push({ e: { kind: 'fenced' }, caller: undefined });
        else this.emit('fence_wanted');
        return;
      case 'release_held': {
        const held = this.held;
        this.held = [];
        const err = eff.error ? new HakitError(eff.error.code, eff.error.message, this.opts.module) : undefined;
        for (const h of held) if (err) h.fail(err); else h.ok();
        return;
      }
    }
  }

  private completeThrough(seq: number): void {
    let n = 0;
    while (n < this.waiters.length && this.waiters[n]!.seq <= seq) n++;
    if (n === 0) return;
    const done = this.waiters.splice(0, n);
    for (const w of done) w.done();
  }

  /** The machine went ALONE: these ops become pending; the journal says so before their
   *  callers return (their data is on PRIM's disk even when the journal cannot be written:
   *  they return then too; the journal is then emptied until mendJournal rewrites it). */
  private goAlone(ops: readonly MirrorOp[], through_seq: number, rewrite: boolean): void {
    for (const op of ops) this.pending.recordUnshipped(op);
    // Taken out now: an ACK of a newer session must not release them before the journal.
    let n = 0;
    while (n < this.waiters.length && this.waiters[n]!.seq <= through_seq) n++;
    const waiting = this.waiters.splice(0, n);
    // Their callers (sync calls among them) return once the journal holds the ops and the
    // fence holds: until SECOND knows its copy is out of date, it could take over without them.
    const release = (): void => { for (const w of waiting) w.done(); };
    const finish = (): void => { this.wakeRoom(); this.whenFenced().then(release, release); };
    if (!rewrite) { finish(); return; }
    // A rewrite its disk refuses empties the journal (reported by onBroken): `pending` holds
    // the ops, and dropping the link again would not make the disk take the file.
    this.aloneWork = this.journal.rewrite(this.copyId, this.pending, 'alone').catch(() => undefined).finally(finish);
  }
  /** A repeating timer on the Clock port. */
  private every(period_ms: number, f: () => void): { stop: () => void } {
    let handle: unknown;
    let live = true;
    const tick = (): void => { if (!live) return; f(); if (live) handle = this.clock.setTimer(tick, period_ms); };
    handle = this.clock.setTimer(tick, period_ms);
    return { stop: () => { live = false; this.clock.clearTimer(handle); } };
  }

  /** A journal emptied by a record it could not write (journal.ts) is written again from
   *  `pending` once its disk takes it: a restart trusts it again from then on. */
  private mendJournal(): void {
    if (!this.journal.broken || this.mending || this.stopped) return;
    this.mending = true;
    void this.journal.rewrite(this.copyId, this.pending, this.phase).catch(() => undefined).finally(() => { this.mending = false; });
  }

  /** A full comparison is owed (see fullAsked). */
  private oweFull(): void {
    this.needFull = true;
    this.fullAsked++;
  }

  /** Forces a full block-hash comparison at the next (or a new) re-integration. */
  async fullsync(): Promise<void> {
    this.oweFull();
    this.step({ kind: 'fullsync' });
  }

  // ---- capture entry point ----------------------------------------------------------

  /**
   * Performs `local` (the operation on PRIM's real directory) and replicates `op` as the
   * current phase requires. Resolves with the local result once SECOND acknowledged it,
   * or once it is recorded as dirty (ALONE). A local failure is returned unreplicated.
   */
  async perform<T>(op: MirrorOp, local: () => Promise<T>, opts: { wait?: boolean } = {}): Promise<T> {
    if (op.kind === 'write' || op.kind === 'truncate') await this.hot(op.path);
    else if (op.kind === 'rename' || op.kind === 'link') await this.hotMoved(op.from, op.to);
    for (;;) {
      const route = routeOp(this.view(), op);
      switch (route.to) {
        case 'wait':
          await this.gate.changed();
          continue;
        case 'skip':
        case 'local':
          return local();
        case 'record':
          return this.performRecorded(op, local);
        case 'live':
          return this.performLive(op, local, opts.wait !== false);
        case 'import':
        case 'drop':
          return this.performCrossing(op, route.to, route.path, local);
      }
    }
  }

  /**
   * write(2) under the contract of docs/mirror.md ("Durability contract"): resolves once the
   * local write is done and the op is queued for SECOND (shipping starts at once, many
   * writes in flight). `data` must stay unchanged until the promise given to `hold` settles
   * (SECOND acknowledged it, or it became a dirty range); small writes are copied so that
   * the caller's buffer is free at once. `sync` (an O_SYNC/O_DSYNC descriptor, RWF_DSYNC):
   * resolves only when SECOND holds the bytes, as `sync()` does.
   */
  async write(op: WriteOp, local: () => Promise<number>, sync: boolean, hold: (until: Promise<void>) => void): Promise<number> {
    await this.hot(op.path);
    for (;;) {
      const route = routeOp(this.view(), op);
      if (route.to === 'wait') { await this.gate.changed(); continue; }
      if (route.to !== 'live') {
        // ALONE / dirty / compared later: as before, the old path (no bytes kept); a sync
        // write waits for the fence like sync().
        const n = await this.perform(op, local);
        if (sync) await this.whenFencedFor(op.path);
        return n;
      }
      const copied = op.data.length <= this.cfg.copy_write_below_bytes;
      // Bounded queue: a writer faster than the link waits here for room (its own buffer
      // pool bounds the big writes; copies would grow without bound otherwise).
      if (copied) await this.room();
      if (routeOp(this.view(), op).to !== 'live') continue;
      const shipped: WriteOp = copied ? { ...op, data: Buffer.from(op.data) } : op;
      // A sync write's own ACK is its barrier when SECOND's fsync op would only order; other
      // writes of a file synced every few writes are acknowledged at once too (see sync()).
      const ownBarrier = sync && !fsyncSyncsSecond(this.mode);
      const ackNow = ownBarrier || syncLikelySoon(this.hotFiles.get(op.path));
      const paths = [op.path];
      this.gate.enterShared(paths, false);
      let acked: Promise<void>;
      let syncAcked: Promise<void> | undefined;
      let done: PromiseSettledResult<number>;
      try {
        // A write the caller does not wait on (not O_SYNC/O_DSYNC) leaves in the loop's check
        // phase, after the FUSE reply: the application wakes before SECOND does, and its next
        // call (the fdatasync of a WAL write) is on its way while the frame travels. Measured
        // on the lab's engine pair, 10 rounds alternating: 4 KiB write + fdatasync 1716 →
        // 2020 ops/s (medians), the write 104-377 → 80-191 µs. A sync write ships at once:
        // its own ACK is what it waits for (with the frames held before it, in order).
        if (!sync) this.channel?.holdFramesThisTurn();
        else this.channel?.releaseHeldFrames();
        acked = this.shipWrite(shipped, ackNow); // takes the sequence number now: capture order is kept
        if (sync) syncAcked = ownBarrier ? acked : this.ship({ kind: 'fsync', path: op.path });
        done = await local().then((value) => ({ status: 'fulfilled', value }) as const, (reason: unknown) => ({ status: 'rejected', reason }) as const);
      } finally {
        this.gate.leaveShared(paths, false);
      }
      if (!copied) hold(acked);
      if (done.status === 'rejected') {
        // SECOND may get bytes PRIM does not have: the range becomes dirty once acked (see
        // performLiveOverlapped), and re-integration ships PRIM's truth.
        const fix = acked.then(() => this.markDivergent(op.path, op.offset, op.offset + op.data.length)).catch(() => undefined);
        if (!copied) hold(fix);
        else void fix;
        throw done.reason;
      }
      if (syncAcked) await syncAcked;
      return done.value;
    }
  }

  /**
   * fsync, fdatasync, msync(MS_SYNC), an fsync of a directory, syncfs (`path` is then the
   * replicated directory's root): performs `local` and, when SECOND is in the session,
   * resolves only once SECOND holds every op queued before: the cumulative ACK of an fsync
   * op that SECOND applies after all of them (with sync_secondary, SECOND fsyncs the file
   * and the directories changed since its last fsync before acknowledging), or, where that
   * op would only order, the ACK of the last op before it (docs/mirror.md, "A sync call
   * without a barrier").
   */
  async sync(path: string, local: () => Promise<void>): Promise<void> {
    const op: MirrorOp = { kind: 'fsync', path };
    for (;;) {
      const route = routeOp(this.view(), op);
      if (route.to === 'wait') { await this.gate.changed(); continue; }
      if (route.to !== 'live') {
        // ALONE or SECOND still incomplete: nothing to wait for on SECOND, but the fence.
        await local();
        await this.whenFencedFor(path);
        return;
      }
      const gen = this.hotFiles.get(path)?.write_gen;
      let acked: Promise<void>;
      this.gate.enterShared([path], false);
      try {
        // No barrier needed when SECOND acknowledges unasked everything queued before: its
        // cumulative ACK says what the fsync op's would (pure/link.ts, "Barrier-free sync
        // calls"), and the sync skips a frame each way and SECOND's turn of the op.
        acked = syncWaitsUnasked(this.mode, this.ls) ? this.drained() : this.ship(op);
      } finally {
        this.gate.leaveShared([path], false);
      }
      // The local flush may block the loop (a small one runs on it): what SECOND must hold
      // for this call leaves first, held writes included, so that both disks work at once.
      this.channel?.releaseHeldFrames();
      await Promise.all([local(), acked]);
      // During a pass SECOND's ACK does not cover the file's writes still pending (a write
      // into a pending range is not shipped live): the call returns once SECOND knows its copy
      // is incomplete (pure/link.ts leaveBehind). At once in sync, and once SECOND answered.
      if (!isFenced(this.ls)) await this.whenFencedFor(path);
      // Both copies hold the file as of `gen` and PRIM's is on disk: it may cool.
      const f = this.hotFiles.get(path);
      if (f && gen !== undefined && this.ls.route === 'in_sync' && this.ls.conn !== 'resuming') this.hotFiles.set(path, { ...f, synced_gen: Math.max(f.synced_gen, gen) });
      return;
    }
  }

  private async performRecorded<T>(op: MirrorOp, local: () => Promise<T>): Promise<T> {
    const paths = opPaths(op);
    const ns = isNamespaceOp(op);
    this.gate.enterShared(paths, ns);
    try {
      const alone = this.phase === 'alone';
      if (op.kind === 'write') {
        // Journaled unless inside extents the journal names already (journal.appendDirty).
        // Not "unless dirty in memory": `pending` rounds ranges out to 4 KiB after a truncate
        // cut them, where the journal's replay keeps the cut, so a write past the cut could
        // go unjournaled (the data-path simulation found it, seed 981 with --fence daemon).
        const end = op.offset + op.data.length;
        if (alone) {
          const written = this.journal.appendDirty(op.path, op.offset, end);
          if (written) await written;
          // Pending before the local write, in the same turn as the journal's answer: a
          // rewrite of the journal (an image of `pending`) between here and the end of the
          // write still holds the range.
          this.pending.markDirty(op.path, op.offset, end);
        }
        const r = await local();
        this.pending.recordUnshipped(op);
        return r;
      }
      const id = this.nextIntent++;
      if (alone) await this.journal.append([{ t: 'intent', id }]);
      let r: T;
      try {
        r = await local();
      } catch (e) {
        if (alone) await this.journal.append([{ t: 'failed', id }]);
        throw e;
      }
      if (alone) await this.journal.append([{ t: 'op', op, id }]);
      this.pending.recordUnshipped(op);
      return r;
    } finally {
      this.gate.leaveShared(paths, ns);
    }
  }

  private async performLive<T>(op: MirrorOp, local: () => Promise<T>, wait = true): Promise<T> {
    if (op.kind === 'write' || op.kind === 'fsync') return this.performLiveOverlapped(op, local);
    const paths = opPaths(op);
    const ns = isNamespaceOp(op);
    this.gate.enterShared(paths, ns);
    let acked: Promise<void>;
    let r: T;
    try {
      r = await local();
      this.pending.noteLiveOp(op);
      acked = this.ship(op);
    } finally {
      this.gate.leaveShared(paths, ns);
    }
    // The durability contract: a metadata or namespace op is queued, not awaited; a later
    // fsync (of the file, its directory, or syncfs) waits for it.
    if (wait) await acked;
    return r;
  }

  /**
   * A write is shipped and performed locally at the same time (as DRBD does with its
   * local and remote writes): the application hears back when both are done, so a
   * sequential writer pays max(local, round trip) per request instead of their sum.
   * Only data writes and fsync overlap: a namespace op whose local call may fail (ENOTEMPTY,
   * ENOENT) must not reach SECOND before we know it happened here. (An fsync SECOND performed
   * while PRIM's failed harms nothing: it only made durable what SECOND already had.)
   * If the local write fails, SECOND may hold bytes PRIM does not: the call fails to the
   * application and the range is marked dirty, so the next re-integration pass (started at
   * once) ships PRIM's content of it, and its size (see Reintegrator.shipRanges).
   */
  private async performLiveOverlapped<T>(op: Extract<MirrorOp, { kind: 'write' | 'fsync' }>, local: () => Promise<T>): Promise<T> {
    const paths = [op.path];
    this.gate.enterShared(paths, false);
    let acked: Promise<void>;
    let done: PromiseSettledResult<T>;
    try {
      acked = op.kind === 'write' ? this.shipWrite(op, false) : this.ship(op); // takes the sequence number now: capture order is kept
      done = await local().then((value) => ({ status: 'fulfilled', value }) as const, (reason: unknown) => ({ status: 'rejected', reason }) as const);
    } finally {
      this.gate.leaveShared(paths, false);
    }
    // Wait for the ack even when the local write failed: until then the socket may still
    // read op.data, which is the application's buffer (no copy is made).
    await acked;
    if (done.status === 'rejected') {
      if (op.kind === 'write') await this.markDivergent(op.path, op.offset, op.offset + op.data.length);
      throw done.reason;
    }
    return done.value;
  }

  /**
   * Ships a big live write as consecutive ops of at most live_chunk_bytes: SECOND starts
   * verifying and writing the first part while the rest is still in transit, so the write
   * waits for transfer + the last part's apply instead of transfer + the whole apply.
   */
  private shipWrite(op: Extract<MirrorOp, { kind: 'write' }>, ack_now: boolean): Promise<void> {
    const chunk = this.cfg.live_chunk_bytes;
    if (op.data.length <= chunk) return this.ship(op, ack_now);
    const parts: Array<Promise<void>> = [];
    for (let at = 0; at < op.data.length; at += chunk) {
      parts.push(this.ship({ kind: 'write', path: op.path, offset: op.offset + at, data: op.data.subarray(at, Math.min(op.data.length, at + chunk)) }, ack_now));
    }
    return Promise.all(parts).then(() => undefined);
  }

  /** SECOND may differ from PRIM in [start, end) of `p`: make it pending and re-integrate. */
  private async markDivergent(p: string, start: number, end: number): Promise<void> {
    this.pending.markDirty(p, start, end);
    if (this.phase === 'alone') {
      await this.journal.append([{ t: 'dirty', path: p, start, end }]).catch(() => undefined);
      return;
    }
    this.kickReintegration();
  }

  /** A rename/link across the notreplicated boundary. */
  private async performCrossing<T>(op: MirrorOp, dir: 'import' | 'drop', p: string, local: () => Promise<T>): Promise<T> {
    const r = await local();
    if (dir === 'drop') {
      await this.shipOrRecord({ kind: 'remove', path: p });
      return r;
    }
    let st;
    try {
      st = await fs.lstat(realPathOf(this.opts.real_dir, p));
    } catch {
      return r; // gone again already
    }
    if (!st.isFile()) {
      this.oweFull(); // a whole excluded tree moved in: compare everything once
      this.kickReintegration();
      return r;
    }
    await this.shipOrRecord({ kind: 'create', path: p, mode: st.mode & 0o7777 });
    await this.shipOrRecord({ kind: 'truncate', path: p, size: st.size });
    if (st.size > 0) {
      this.pending.markDirty(p, 0, st.size);
      if (this.phase === 'alone') await this.journal.append([{ t: 'dirty', path: p, start: 0, end: st.size }]);
      this.kickReintegration();
      // The rename returns once its content is on SECOND, like any replicated write.
      while (this.phase !== 'alone' && this.pending.hasDirty(p)) await this.gate.changed();
      if (this.phase !== 'alone') await this.drained();
    }
    return r;
  }

  private async shipOrRecord(op: MirrorOp): Promise<void> {
    if (this.phase === 'alone') {
      await this.journal.append([{ t: 'op', op }]);
      this.pending.recordUnshipped(op);
      return;
    }
    this.pending.noteLiveOp(op);
    await this.ship(op);
  }

  /**
   * `from` is about to lose its name while `to` names the same file (a hard link): its
   * pending ranges and compare mark become `to`'s too, journaled when ALONE, so that the
   * removal of `from` drops nothing SECOND's `to` lacks. A pass running takes them.
   */
  async carryPending(from: string, to: string): Promise<void> {
    const ranges = this.pending.carry(from, to);
    if (ranges.length > 0 && this.phase === 'alone') await this.journal.append(ranges.map((r) => ({ t: 'dirty' as const, path: to, start: r.start, end: r.end })));
  }

  /** Is anything pending for `path` (dirty ranges, or a comparison)? */
  hasPending(path: string): boolean {
    return this.pending.hasDirty(path) || this.pending.needsCompare(path);
  }

  /** A change no op describes was made on PRIM (written through a hard link whose other
   *  name we cannot tell): the next re-integration compares every file; one starts now when
   *  in sync. */
  unknownChange(): void {
    this.oweFull();
    void this.activity.markAll().catch(() => this.activity.discard().catch(() => undefined));
    this.kickReintegration();
  }

  /** In sync but something became pending (an import): run another pass. */
  private kickReintegration(): void {
    this.step({ kind: 'kick', mode: this.needFull ? 'full' : 'journal' });
  }

  // ---- shipping ---------------------------------------------------------------------

  /** Queues an op with the next sequence number; resolves on ack or when made dirty.
   *  `ack_now`: see LinkEvent enqueue (default: every op but a write). */
  ship(op: MirrorOp, ack_now?: boolean): Promise<void> {
    if (isNamespaceOp(op)) this.namespaceGen++;
    return new Promise<void>((resolve) => {
      this.step({ kind: 'enqueue', op, ...(ack_now === undefined ? {} : { ack_now }) }, { done: resolve });
    });
  }

  /** Sends a request after every op queued before it; resolves with its response frames. */
  request(body: Record<string, unknown>): Promise<Frame[]> {
    return this.queueRequest('REQ', body);
  }

  private sendState(body: Record<string, unknown>): Promise<Frame[]> {
    return this.queueRequest('STATE', body);
  }

  private queueRequest(frame_type: 'REQ' | 'STATE', body: Record<string, unknown>): Promise<Frame[]> {
    return new Promise<Frame[]>((resolve, reject) => {
      this.step({ kind: 'request', frame_type, body }, { request: { frames: [], resolve, reject } });
    });
  }

  /** Resolves when the ops waiting to be sent weigh at most max_inflight_bytes (or the link
   *  is gone): bulk producers (re-integration) wait here so the outbox stays bounded. */
  async room(): Promise<void> {
    while (!hasRoom(this.ls, this.linkCfg)) {
      await new Promise<void>((r) => this.roomWaiters.push(r));
    }
  }

  private wakeRoom(): void {
    const w = this.roomWaiters;
    this.roomWaiters = [];
    for (const r of w) r();
  }

  /** drained(), or after `bound_ms`, whichever comes first. */
  private async drainedWithin(bound_ms: number): Promise<void> {
    let timer: unknown;
    const late = new Promise<void>((resolve) => { timer = this.clock.setTimer(resolve, bound_ms); });
    await Promise.race([this.drained(), late]);
    this.clock.clearTimer(timer);
  }

  /** Resolves when every op queued so far is acknowledged (or made dirty). */
  async drained(): Promise<void> {
    const seq = drainSeq(this.ls);
    if (seq === undefined) return;
    await new Promise<void>((resolve) => { this.waiters.push({ seq, done: resolve }); });
  }

  /** A frame Channel.send refuses (over the frame limit) closes the connection with its code
   *  instead of throwing out of an event handler; false when it did. */
  private sendOrClose(ch: Channel, type: typeof FrameType.OP | typeof FrameType.REQ | typeof FrameType.STATE, id: number, payload: Buffer | readonly Buffer[], flags = 0): boolean {
    try {
      ch.send(type, id, payload, flags);
      return true;
    } catch (e) {
      ch.close(e as HakitError);
      return false;
    }
  }

  /** Bytes per re-integration write (pure/bandwidth-cap.ts). */
  reintChunkBytes(): number {
    return capChunkBytes(this.cfg.reint_chunk_bytes, this.opts.bandwidth_bytes_per_s);
  }

  /** Re-integration's bandwidth cap (pure/bandwidth-cap.ts): resolves when `bytes` may be queued. */
  async throttle(bytes: number): Promise<void> {
    const cap = this.opts.bandwidth_bytes_per_s;
    if (!cap) return;
    for (;;) {
      const d = capTake(this.capBucket, bytes, this.clock.now_ms(), cap, this.phase === 'alone' || this.stopped);
      this.capBucket = d.bucket;
      if (d.wait_ms === 0) return;
      await this.sleep(d.wait_ms);
    }
  }

  private onFrame(ch: Channel, f: Frame): void {
    if (this.channel !== ch) return;
    switch (f.type) {
      case FrameType.ACK:
        this.step({ kind: 'ack', seq: f.seq });
        return;
      case FrameType.PONG:
        this.step({ kind: 'rx' });
        return;
      case FrameType.RESP: {
        this.step({ kind: 'rx', resp_id: f.seq });
        const r = this.requests.get(f.seq);
        if (!r) return;
        r.frames.push(f);
        let more = (f.flags & FrameFlag.MORE) !== 0;
        if (!more && f.payload[0] === 0x7b /* '{' */) {
          try { more = (JSON.parse(f.payload.toString('utf8')) as { more?: boolean }).more === true; } catch { more = false; }
        }
        if (!more) {
          this.requests.delete(f.seq);
          r.resolve(r.frames);
        }
        return;
      }
      case FrameType.ERROR: {
        let msg = 'SECOND reported an error';
        try { msg = (JSON.parse(f.payload.toString('utf8')) as { message?: string }).message ?? msg; } catch { /* keep default */ }
        this.step({ kind: 'peer_error', message: msg });
        return;
      }
      default:
        this.step({ kind: 'bad_frame', frame_type: f.type });
    }
  }

  // ---- connection management --------------------------------------------------------

  private async openChannel(timeout_ms: number = SENDER_DEFAULTS.welcome_timeout_ms): Promise<{ ch: Channel; welcome: Record<string, unknown> }> {
    // A stopped peer's kernel still accepts TCP connections: only the deadline ends the wait.
    const ch = await connectChannel(this.opts.peer.host, this.opts.peer.port, { key: this.opts.key, module: this.opts.module, timeout_ms, protection: this.opts.protection, keepalive_ms: Math.max(this.cfg.idle_ping_ms, this.tickMs) });
    const welcome = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const t = this.clock.setTimer(() => { ch.close(new HakitError('HAKIT_E_MIRROR_HANDSHAKE_TIMEOUT', 'no WELCOME', ch.where)); }, timeout_ms);
      ch.once('frame', (f) => {
        this.clock.clearTimer(t);
        if (f.type !== FrameType.WELCOME) { ch.close(new HakitError('HAKIT_E_MIRROR_BAD_FRAME', 'expected WELCOME', ch.where)); return; }
        try { resolve(JSON.parse(f.payload.toString('utf8')) as Record<string, unknown>); } catch { ch.close(new HakitError('HAKIT_E_MIRROR_BAD_FRAME', 'WELCOME is not JSON', ch.where)); }
      });
      ch.once('close', (err) => { this.clock.clearTimer(t); reject(err ?? new HakitError('HAKIT_E_MIRROR_PEER_LOST', 'closed before WELCOME', ch.where)); });
    });
    return { ch, welcome };
  }

  /** Performs the machine's open_channel and feeds back what came of it. */
  private async open(purpose: 'connect' | 'resume', timeout_ms: number): Promise<void> {
    let got: { ch: Channel; welcome: Record<string, unknown> };
    try {
      got = await this.openChannel(timeout_ms);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      this.step(purpose === 'connect' ? { kind: 'connect_failed', code: typeof code === 'string' ? code : undefined, message: (e as Error).message } : { kind: 'resume_failed' });
      return;
    }
    const { ch, welcome } = got;
    this.opened = ch;
    try {
      if (purpose === 'resume') {
        const last = typeof welcome.last_seq === 'number' ? welcome.last_seq : -1;
        this.step({ kind: 'resume_welcome', session: welcome.session, last_seq: last, pending_empty: this.pending.isEmpty });
        return;
      }
      const copy = typeof welcome.copy_id === 'string' ? welcome.copy_id : '';
      const activity = activityOf(welcome.activity);
      const mode = chooseReintegration({
        need_full: this.needFull || this.pending.overflowed,
        journal_matches: welcome.trusted === true && copy === this.copyId,
        takeover_of: this.takeoverOf,
        activity,
      });
      this.openedSession = { copy, activity };
      this.step({ kind: 'connected', session: randomUUID(), mode });
    } finally {
      if (this.opened === ch) { this.opened = undefined; ch.close(); }
      this.openedSession = undefined;
    }
  }

  /** The machine's `attach`: the channel just opened is the link's. */
  private attach(): void {
    const ch = this.opened;
    if (!ch) return;
    this.opened = undefined;
    this.channel = ch;
    ch.removeAllListeners('frame');
    ch.removeAllListeners('close');
    ch.on('frame', (f) => this.onFrame(ch, f));
    ch.on('close', (err) => this.onClose(ch, err));
    // Closed before its listeners were on (the close event is gone): report it now.
    if (ch.isClosed) queueMicrotask(() => this.onClose(ch, undefined));
    const s = this.openedSession;
    this.openedSession = undefined;
    if (s) {
      // A new session: from now on this node's record describes what may differ from this
      // SECOND's copy.
      this.sessionActivity = s.activity;
      this.copyId = s.copy;
      void this.activity.open(s.copy).catch(() => this.activity.discard().catch(() => undefined));
    }
  }

  private startReintegration(mode: ReintegrationMode, gen: number): void {
    // From here live ops go to SECOND, not to the journal: a journal left by a crash during
    // the pass lacks them, so it must not be trusted (last phase 'syncing'; found by the
    // data-path simulation). Appended at once, before the pass ships anything.
    void this.journal.append([{ t: 'phase', phase: 'syncing' }]).catch((e: unknown) => this.onInternalError(e));
    const r = new Reintegrator(this, mode, gen);
    this.reint = r;
    const asked = this.fullAsked;
    r.run().then(async (ok) => {
      if (!ok && gen === this.ls.gen && !this.stopped) {
        // The pass failed with the link up (SECOND could not answer): start over cleanly.
        this.step({ kind: 'pass_failed', gen });
        return;
      }
      if (!ok || gen !== this.ls.gen || this.stopped) return;
      if (mode !== 'journal' && this.fullAsked === asked) this.needFull = false;
      // A full comparison became owed while this pass ran (a change no op describes, a tree
      // moved in): SECOND is not told in_sync before it ran.
      if (this.needFull) {
        this.step({ kind: 'pass_again', gen, mode: 'full' });
        return;
      }
      // What the pass shipped was read from PRIM's page cache: on PRIM's disk before SECOND
      // is told it is complete, so a power cut of PRIM cannot lose what SECOND now has
      // without the activity record knowing (only live writes are recorded there).
      await this.makeShippedDurable(r.shippedPaths);
      if (gen !== this.ls.gen || this.stopped) return;
      try {
        await this.sendState({ session: this.ls.session, state: 'in_sync' });
      } catch {
        return;
      }
      if (gen !== this.ls.gen || !this.pending.isEmpty) {
        if (gen === this.ls.gen) this.step({ kind: 'pass_again', gen });
        return;
      }
      // In sync with this SECOND: the takeover no longer describes what it lacks.
      this.takeoverOf = undefined;
      this.journal.takeoverOf = undefined;
      // Refused by a full disk: the journal stays emptied (a crash compares in full) until
      // mendJournal; failing the pass instead would repeat it for as long as the disk is full.
      await this.journal.rewrite(this.copyId, this.pending, 'in_sync').catch(() => undefined);
      if (!this.pending.isEmpty) return;
      this.step({ kind: 'in_sync', gen });
    }).catch((e: unknown) => this.onInternalError(e));
  }

  /**
   * A failure of our own bookkeeping other than a journal write its disk refused (that one
   * empties the journal, journal.ts): a journal that is not open, an unexpected error of a
   * pass. Never an unhandled rejection (it would kill hakitd): the link is dropped and PRIM
   * reports `alone` with the code; ops keep being recorded in memory, and the next pass
   * compares every file (needFull).
   */
  private onInternalError(e: unknown): void {
    const err = e instanceof HakitError ? e : new HakitError('HAKIT_E_MIRROR_JOURNAL', `mirror bookkeeping failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, this.opts.module);
    this.oweFull();
    this.step({ kind: 'internal_error', code: err.code, message: err.message });
  }

  /** Is the pass of link generation `gen` still on the attached, sending connection? */
  isLinkCurrent(gen: number): boolean {
    return isCurrent(this.ls, gen);
  }

  private onClose(ch: Channel, err: HakitError | undefined): void {
    if (this.channel !== ch) return;
    this.channel = undefined;
    this.step({ kind: 'closed', code: err?.code, message: err?.message, need_full: this.needFull });
  }

  /** Events recorded for ops made dirty (exposed for tests of the journal). */
  static journalEventFor(op: MirrorOp): JournalEvent {
    return op.kind === 'write' ? { t: 'dirty', path: op.path, start: op.offset, end: op.offset + op.data.length } : { t: 'op', op };
  }
}

function configOf(opts: SenderOptions) {
  return { ...SENDER_DEFAULTS, ...stripUndefined(opts) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The WELCOME's `activity` field, checked (a peer may send anything). */
function activityOf(v: unknown): ActivitySummary | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const a = v as { base_copy?: unknown; hot?: unknown; all?: unknown };
  if (typeof a.base_copy !== 'string' || a.base_copy === '' || !Array.isArray(a.hot) || typeof a.all !== 'boolean') return undefined;
  if (!a.hot.every((p): p is string => typeof p === 'string' && p.startsWith('/'))) return undefined;
  return { base_copy: a.base_copy, hot: a.hot, all: a.all };
}

/** A pass that shipped content of more files than this ends with one syncfs instead of a
 *  fdatasync per file. */
export const MAX_SHIPPED_FILE_SYNCS = 1000;
