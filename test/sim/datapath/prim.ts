// PRIM's side of the simulated pair: a runner of the real link machine
// (core/mirror/pure/link.ts, linkStep) over the in-memory file system, as core/mirror/sender.ts
// runs it over the real one. Routing is the real routeOp (pure/route.ts) over the real
// PendingSet (pure/pending.ts); ops go on the wire through the real op codec; the pass mode
// is the real chooseReintegration (pure/activity.ts); a full comparison plans with the real
// planTree (pure/tree-diff.ts) and compares with the real block signatures, an activity pass
// only the files the real activityCompare picks from the returning SECOND's record.
// What this file adds is what a runner adds: performing effects (channels, frames, the
// journal, completing callers), the callers' side of the capture (sender.ts perform / write /
// sync, with its barrier-free sync calls and the writes it flags ACK_NOW, by the real
// acksUnasked and syncLikelySoon), the activity record's hot marks and cooling (sender.ts,
// over activity.ts), the re-integration pass (reintegrator.ts) and timers.
import { HakitError } from '../../../core/errors/catalogue';
import { type MirrorOp, isNamespaceOp, opPaths } from '../../../core/mirror/pure/ops';
import { encodeOpParts } from '../../../core/mirror/pure/op-codec';
import { NO_EXCLUDES } from '../../../core/mirror/pure/exclude';
import { PendingSet } from '../../../core/mirror/pure/pending';
import { routeOp, type RouteView } from '../../../core/mirror/pure/route';
import { activityCompare, chooseReintegration, coolingPlan, syncLikelySoon, under, type ActivitySummary, type HotFile, type ReintegrationChoice } from '../../../core/mirror/pure/activity';
import { planTree, type ManifestEntry } from '../../../core/mirror/pure/tree-diff';
import { differingRanges, signBytes } from '../../../core/mirror/blocksig/signature';
import { joinSignature } from '../../../core/mirror/response-chunks';
import { FrameFlag, FrameType, type Frame } from '../../../core/mirror/stream/frame';
import { type ByteRange } from '../../../core/mirror/pure/ranges';
import {
  LINK_DEFAULTS, drainSeq, initialLinkState, isCurrent, isFenced, linkStep,
  type LinkConfig, type LinkEffect, type LinkEvent, type LinkState, type SenderStatus,
} from '../../../core/mirror/pure/link';
import type { Conn, Scheduler } from './channel';
import { FsError, type MemFs } from './memfs';
import { fsyncSyncsSecond, syncWaitsUnasked } from '../../../core/mirror/pure/second-mode';
import { JournalCoverage } from '../../../core/mirror/pure/journal-coverage';

/** The simulation's files are small: extents of 64 KiB still cover several writes each. */
const SIM_JOURNAL_EXTENT_BYTES = 64 * 1024;
import { simHash64 } from './hash';
import { SimActivityRecord, type ActivityDisk } from './activity';

/** The sim's link bounds: the defaults, with a smaller in-flight bound so that back-pressure happens. */
export const SIM_LINK_CFG: LinkConfig = { ...LINK_DEFAULTS, max_inflight_bytes: 64 * 1024 };
export const REINT_CHUNK_BYTES = 16 * 1024;
/** The cooling tick (the product's COOL_IDLE_MS is 5 s): faults come every 0.2-2.5 s here, so
 *  that files cool between them, and a cooled file is written again, as on a real node. */
export const SIM_COOL_IDLE_MS = 700;
export const SIG_BLOCK_BYTES = 4096;

/** The journal as the disk holds it (journal.ts): a compact image at each rewrite, then appends. */
export interface JournalImage {
  copy_id: string;
  boot_id: number;
  takeover_of: string | undefined;
  phase: 'alone' | 'syncing' | 'in_sync';
  closed: boolean;
  /** Kept only with the 'fixed' journal (see JournalModel). */
  need_full: boolean;
  /** A record or a rewrite PRIM's full disk refused: the file was emptied and nothing is
   *  appended until a rewrite succeeds (journal.ts breakOff); never trusted. */
  emptied: boolean;
  events: JournalEv[];
}

/** sender.ts mendJournal: how often an emptied journal is written again (JOURNAL_SYNC_INTERVAL_MS). */
export const JOURNAL_MEND_MS = 1000;

/**
 * 'today': as journal.ts and sender.ts did before the simulation found it (kept to re-inject the bug): (a) a journal found untrusted is rewritten as an
 * empty journal in phase ALONE, which the next load (same boot) trusts, so the full comparison
 * it owed is forgotten; (b) the journal stays in phase ALONE while a pass runs, so a hakitd
 * crash then leaves a trusted journal that lacks the ops shipped live and not yet
 * acknowledged. 'fixed': the rewrite records that a full comparison is owed, and a pass
 * rewrites the journal in phase 'syncing' first; a load of either is not trusted.
 */
export type JournalModel = 'today' | 'fixed';
export type JournalEv =
  | { t: 'op'; op: MirrorOp }
  | { t: 'dirty'; path: string; start: number; end: number }
  | { t: 'compare'; path: string };

/** Test-only faults of the runner (docs: the checker must catch them). */
export interface PrimBugs {
  /** Complete an fsync as soon as it is queued, before SECOND acknowledged it. */
  readonly fsync_before_ack?: boolean;
  /** Forget the ops go_alone hands over (they never reach the journal). */
  readonly drop_go_alone_ops?: boolean;
  /** Ignore the fence: sync calls return on PRIM's local call alone at once (as before the
   *  simulation found the window: docs/mirror.md, "The ALONE fence"). */
  readonly no_fence?: boolean;
  /** (The module layer's, with sync_secondary off:) a SECOND back from a reboot stays eligible
   *  to take over, as if its page cache had survived (before runner startSecond told it). */
  readonly second_keeps_complete?: boolean;
  /** A journal record or rewrite PRIM's full disk refused is lost and the journal left as it
   *  was, still trusted (journal.ts before it emptied itself on a refused write). */
  readonly journal_drops_refused?: boolean;
  /** A pass started on a live connection (kick, pass_again) leaves SECOND complete: its STATE
   *  syncing is not sent and the fence stays up (pure/link.ts before leaveBehind). */
  readonly pass_keeps_second_complete?: boolean;
  /** The activity record cools an idle hot file without the sync that puts it on SECOND and
   *  on PRIM's disk first (coolingPlan's sync_first taken as cool). */
  readonly activity_cools_unsynced?: boolean;
  /** (The module layer's:) SECOND marks its copy complete on an in_sync it handles after PRIM
   *  announced its session down (the in_sync of a session PRIM gave up while it was on the
   *  way), as core/module/pure/mirror.ts did before `replicating` was announced. */
  readonly second_completes_stale?: boolean;
}

/** Whether a journal image left by an earlier life may be trusted (journal.ts load()). */
export function journalTrusted(j: JournalImage, boot_id: number, model: JournalModel): boolean {
  if (j.emptied) return false;
  if (model === 'fixed' && j.need_full) return false;
  return j.closed || (j.phase === 'alone' && j.boot_id === boot_id);
}

export interface PrimHooks {
  log(msg: string): void;
  /** Opens a connection to SECOND and reads its WELCOME, or reports why it could not
   *  (refused at once, or nothing within `timeout_ms`). */
  connect(onWelcome: (conn: Conn, welcome: Record<string, unknown>) => void, onFail: (code: string, message: string) => void, timeout_ms: number): void;
  status(s: SenderStatus): void;
  /** The link asks for the fence (replication-mirror.ts FenceWanted): the world answers with
   *  `fenced()` once its model of the module layer says SECOND cannot take over. */
  fenceWanted(prim: PrimSide): void;
  /** Test-only faults (the checker must catch them). */
  readonly bugs: PrimBugs;
  readonly journal: JournalModel;
  /** SECOND's `<rfs sync_secondary>` and `<rfs async>`: an fsync op only orders with
   *  async="second" or without sync_secondary (sender.ts fsyncOnlyOrders). */
  readonly sync_secondary: boolean;
  readonly async: 'none' | 'second';
}

type Done = (err?: string) => void;
interface Waiting { op: MirrorOp; local: () => void; done: Done; kind: 'perform' | 'write' | 'sync'; sync: boolean }
interface Request { frames: Frame[]; ok: (f: Frame[]) => void; fail: (e: string) => void }

export class PrimSide {
  link: LinkState;
  readonly pending = new PendingSet();
  private readonly waiters = new Map<number, Array<() => void>>();
  private readonly requests = new Map<number, Request>();
  private parked: Waiting[] = [];
  private conn: Conn | undefined;
  private opening: Conn | undefined;
  private dropped = new Set<Conn>();
  private needFull: boolean;
  private copyId: string;
  private takeoverOf: string | undefined;
  private alive = true;
  private readonly inbox: LinkEvent[] = [];
  /** Callers released by the current step's effects (run after all of them). */
  private readonly after: Array<() => void> = [];
  private inEffects = false;
  private draining = false;
  private pendingRequestCb: { ok: (f: Frame[]) => void; fail: (e: string) => void } | undefined;
  private enqueueResult: { seq?: number; recorded?: boolean } | undefined;
  /** journal.ts's extent coverage (pure/journal-coverage.ts). */
  private readonly jcov = new JournalCoverage(SIM_JOURNAL_EXTENT_BYTES);
  /** Callers held until the fence holds (sender.ts whenFenced). */
  private held: Array<() => void> = [];
  /** Write and sync generations of the hot files (sender.ts hotFiles): cooling, syncLikelySoon. */
  private readonly gens = new Map<string, HotFile>();
  /** Files whose content may differ from SECOND's, on this node's disk (activity-record.ts). */
  readonly activity: SimActivityRecord;
  /** The returning SECOND's activity record, for an 'activity' pass. */
  private sessionActivity: ActivitySummary | undefined;
  /** The session a WELCOME opened, taken on at `attach` (sender.ts openedSession). */
  private openedSession: { copy: string; activity: ActivitySummary | undefined } | undefined;
  private cooling = false;
  /** Bumped at every change the checker may care about. */
  version = 0;
  /** linkStep calls (figures). */
  steps = 0;
  lastStatus: SenderStatus | undefined;

  constructor(private readonly s: Scheduler, readonly fs: MemFs, readonly journal: JournalImage, activityDisk: ActivityDisk, boot_id: number, private readonly hooks: PrimHooks, opts: { takeover_copy?: string; trusted: boolean }) {
    this.link = initialLinkState({ peer: 'second:7700' });
    this.activity = new SimActivityRecord(activityDisk, fs);
    for (const p of this.activity.hotPaths()) this.gens.set(p, { write_gen: 1, synced_gen: 0, seen_gen: 1 });
    if (opts.takeover_copy !== undefined) {
      this.copyId = opts.takeover_copy;
      this.needFull = false;
      this.takeoverOf = opts.takeover_copy;
    } else {
      this.copyId = journal.copy_id;
      this.needFull = !opts.trusted;
      this.takeoverOf = opts.trusted ? journal.takeover_of : undefined;
      if (opts.trusted) {
        for (const ev of journal.events) {
          if (ev.t === 'op') this.pending.recordUnshipped(ev.op);
          else if (ev.t === 'dirty') this.pending.markDirty(ev.path, ev.start, ev.end);
          else this.pending.markCompare(ev.path);
        }
      }
    }
    journal.boot_id = boot_id;
    this.rewriteJournal('alone');
    if (!fs.exists('/0')) { fs.mkdir('/0', 0o755); fs.fsyncDir(); }
    this.timers();
    this.feed({ kind: 'start' });
  }

  get route(): RouteView['phase'] { return this.link.route; }
  /** The copy of SECOND the journal describes (a pass in journal mode needs SECOND to hold it). */
  get trackedCopy(): string { return this.copyId; }
  get isNeedFull(): boolean { return this.needFull || this.pending.overflowed; }
  get isAlive(): boolean { return this.alive; }

  /** The daemon dies with its node (power cut): nothing in memory survives, callers never
   *  hear back, the peer is told nothing. */
  kill(): void {
    this.alive = false;
    this.conn?.cutSilently();
    this.opening?.cutSilently();
    this.forget();
  }

  /** The process died but the kernel lives: the peer sees its connections close. */
  killWithReset(): void {
    this.alive = false;
    for (const c of [this.conn, this.opening]) c?.close('prim', new HakitError('HAKIT_E_MIRROR_PEER_LOST', 'hakitd died', 'sim prim'));
    this.forget();
  }

  private forget(): void {
    this.held = [];
    this.waiters.clear();
    this.requests.clear();
    this.parked = [];
    this.inbox.length = 0;
    this.after.length = 0;
  }

  private timers(): void {
    const tick_ms = Math.max(50, Math.floor(SIM_LINK_CFG.ack_timeout_ms / 4));
    const every = (ms: number, what: string, fn: () => void): void => {
      const loop = (): void => { if (!this.alive) return; fn(); this.s.at(this.s.now + ms, what, loop); };
      this.s.at(this.s.now + ms, what, loop);
    };
    every(tick_ms, 'prim timer', () => this.feed({ kind: 'tick' }));
    every(SIM_LINK_CFG.reconnect_ms, 'prim timer', () => this.feed({ kind: 'connect_tick' }));
    every(JOURNAL_MEND_MS, 'prim journal mend', () => {
      if (!this.journal.emptied || this.fs.full) return;
      this.rewriteJournal(this.link.route === 'walking' ? 'syncing' : this.link.route);
      if (!this.journal.emptied) this.hooks.log('prim: journal mended (rewritten from pending)');
    });
    every(SIM_COOL_IDLE_MS, 'prim activity cooling', () => this.coolTick());
  }

  // ---- the machine -----------------------------------------------------------------------

  /**
   * Steps the machine with `e` and performs its effects. Effects never step the machine
   * themselves: an event they cause (a close) is queued, and the callers they release (a
   * completed op, a failed request, a pass to start) run once every effect of the step is
   * done, so that a frame the step sent is on the wire before anything a callback sends.
   */
  feed(e: LinkEvent): void {
    if (!this.alive) return;
    if (this.inEffects) { this.inbox.push(e); return; }
    this.stepNow(e);
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.alive && (this.inbox.length > 0 || this.after.length > 0)) {
        if (this.inbox.length > 0) this.stepNow(this.inbox.shift()!);
        else this.after.shift()!();
      }
    } finally {
      this.draining = false;
    }
    this.wakeParked();
  }

  private stepNow(e: LinkEvent): void {
    // The bug re-injected (test only): SECOND is not told, the fence is put back at once.
    const keepComplete = this.hooks.bugs.pass_keeps_second_complete === true && (e.kind === 'kick' || e.kind === 'pass_again') && isFenced(this.link);
    const r = linkStep(this.link, e, this.s.now, SIM_LINK_CFG);
    this.link = r.state;
    this.steps++;
    this.version++;
    if (keepComplete && !isFenced(this.link)) this.inbox.push({ kind: 'fenced' });
    this.inEffects = true;
    try {
      for (const fx of r.effects) {
        if (keepComplete && fx.kind === 'send_frame' && fx.body.state === 'syncing') continue;
        this.effect(fx);
      }
    } finally {
      this.inEffects = false;
    }
  }

  private later(e: LinkEvent): void {
    this.feed(e);
  }

  private effect(fx: LinkEffect): void {
    switch (fx.kind) {
      case 'open_channel': this.open(fx.purpose, fx.timeout_ms); return;
      case 'attach': {
        const c = this.opening;
        this.opening = undefined;
        this.conn = c;
        // A new session: from now on the record describes what may differ from this copy.
        const o = this.openedSession;
        this.openedSession = undefined;
        if (o) {
          this.sessionActivity = o.activity;
          this.activity.open(o.copy);
          if (!this.activity.isOpen) this.hooks.log('prim: activity record: its rewrite refused (disk full): removed');
        }
        return;
      }
      case 'discard_channel': {
        const c = this.opening;
        this.opening = undefined;
        if (c) { this.dropped.add(c); c.close('prim', new HakitError('HAKIT_E_MIRROR_PEER_LOST', 'discarded', 'sim prim')); }
        return;
      }
      case 'close_channel':
        this.conn?.close('prim', new HakitError(fx.code as 'HAKIT_E_MIRROR_PEER_LOST', fx.message, 'sim prim'));
        return;
      case 'drop_channel': {
        const c = this.conn;
        this.conn = undefined;
        if (c) { this.dropped.add(c); c.close('prim', new HakitError(fx.code as 'HAKIT_E_MIRROR_PEER_LOST', fx.message, 'sim prim')); }
        return;
      }
      case 'send_op':
        this.conn?.send('prim', FrameType.OP, fx.seq, encodeOpParts(fx.op), fx.ack_now && fx.op.kind !== 'fsync' ? FrameFlag.ACK_NOW : 0);
        return;
      case 'send_frame':
        this.conn?.send('prim', fx.frame_type === 'REQ' ? FrameType.REQ : FrameType.STATE, fx.id, Buffer.from(JSON.stringify(fx.body)));
        return;
      case 'ping':
        this.conn?.send('prim', FrameType.PING, 0, Buffer.alloc(0));
        return;
      case 'queued':
        if (this.enqueueResult) this.enqueueResult.seq = fx.seq;
        this.enqueueResult = undefined;
        return;
      case 'record':
        if (this.enqueueResult) this.enqueueResult.recorded = true;
        this.enqueueResult = undefined;
        this.appendJournal(fx.op);
        this.pending.recordUnshipped(fx.op);
        return;
      case 'complete':
        this.completeThrough(fx.through_seq);
        return;
      case 'go_alone': {
        if (!this.hooks.bugs.drop_go_alone_ops) for (const op of fx.ops) this.pending.recordUnshipped(op);
        if (fx.rewrite_journal) this.rewriteJournal('alone');
        // sender.ts goAlone: their callers return once the journal holds them and the fence holds.
        const from = this.after.length;
        this.completeThrough(fx.through_seq);
        const released = this.after.splice(from);
        for (const cb of released) this.whenFenced(cb);
        return;
      }
      case 'fence_wanted':
        if (!this.hooks.bugs.no_fence) this.hooks.fenceWanted(this);
        return;
      case 'release_held': {
        const held = this.held;
        this.held = [];
        this.after.push(...held); // a failure (stop) only happens with a dead runner here
        return;
      }
      case 'fail_requests': {
        const all = [...this.requests.values()];
        this.requests.clear();
        for (const r of all) this.after.push(() => r.fail(fx.code));
        return;
      }
      case 'request_queued':
        if (this.pendingRequestCb) this.requests.set(fx.id, { frames: [], ...this.pendingRequestCb });
        this.pendingRequestCb = undefined;
        return;
      case 'request_failed': {
        const cb = this.pendingRequestCb;
        this.pendingRequestCb = undefined;
        if (cb) this.after.push(() => cb.fail(fx.code));
        return;
      }
      case 'start_reintegration':
        this.after.push(() => this.startPass(fx.mode, fx.gen));
        return;
      case 'timer': {
        const ev = fx.event;
        this.s.at(this.s.now + fx.delay_ms, `prim link timer ${ev.kind}`, () => this.feed(ev));
        return;
      }
      case 'status':
        this.lastStatus = fx.status;
        this.hooks.status(fx.status);
        return;
    }
  }

  /** The module layer's answer to `fenceWanted`. */
  fenced(): void {
    this.feed({ kind: 'fenced' });
  }

  /** The module layer lost SECOND by the heartbeats (ReplicationPeerLost). */
  peerLost(): void {
    this.feed({ kind: 'peer_lost' });
  }

  /** Runs released callers now when no step is running (a step's drain runs them otherwise). */
  private drainAfter(): void {
    if (this.draining || this.inEffects) return;
    while (this.alive && this.after.length > 0) this.after.shift()!();
  }

  private whenFenced(cb: () => void): void {
    if (this.hooks.bugs.no_fence || isFenced(this.link)) this.after.push(cb);
    else this.held.push(cb);
  }

  private completeThrough(seq: number): void {
    for (const [k, cbs] of [...this.waiters].sort((a, b) => a[0] - b[0])) {
      if (k > seq) break;
      this.waiters.delete(k);
      this.after.push(...cbs);
    }
    this.version++;
  }

  private waitFor(seq: number, cb: () => void): void {
    if (seq <= this.link.done_seq) { cb(); return; }
    const l = this.waiters.get(seq);
    if (l) l.push(cb);
    else this.waiters.set(seq, [cb]);
  }

  // ---- channels ------------------------------------------------------------------------

  private open(purpose: 'connect' | 'resume', timeout_ms: number): void {
    this.hooks.connect((conn, welcome) => {
      if (!this.alive) { conn.close('prim', new HakitError('HAKIT_E_MIRROR_STOPPED', 'dead', 'sim prim')); return; }
      this.opening = conn;
      if (purpose === 'resume') {
        this.feed({ kind: 'resume_welcome', session: welcome.session, last_seq: typeof welcome.last_seq === 'number' ? welcome.last_seq : -1, pending_empty: this.pending.isEmpty });
        return;
      }
      const copy = typeof welcome.copy_id === 'string' ? welcome.copy_id : '';
      const activity = welcome.activity as ActivitySummary | undefined;
      const mode = chooseReintegration({
        need_full: this.needFull || this.pending.overflowed,
        journal_matches: welcome.trusted === true && copy === this.copyId,
        takeover_of: this.takeoverOf,
        activity,
      });
      this.copyId = copy;
      this.journal.copy_id = copy;
      this.openedSession = { copy, activity };
      this.hooks.log(`prim: connected, copy ${copy}, pass ${mode}${activity ? ` (SECOND's activity record: base ${activity.base_copy}, ${activity.all ? 'everything' : `${activity.hot.length} hot`})` : ''}`);
      this.feed({ kind: 'connected', session: `s${this.s.rng.int(1, 1e9)}`, mode });
    }, (code, message) => {
      if (!this.alive) return;
      this.feed(purpose === 'resume' ? { kind: 'resume_failed' } : { kind: 'connect_failed', code, message });
    }, timeout_ms);
  }

  onFrame(conn: Conn, f: Frame): void {
    if (!this.alive || conn !== this.conn) return;
    switch (f.type) {
      case FrameType.ACK: this.feed({ kind: 'ack', seq: f.seq }); return;
      case FrameType.PONG: this.feed({ kind: 'rx' }); return;
      case FrameType.RESP: {
        this.feed({ kind: 'rx', resp_id: f.seq });
        const r = this.requests.get(f.seq);
        if (!r) return;
        r.frames.push(f);
        let more = (f.flags & FrameFlag.MORE) !== 0;
        if (!more && f.payload[0] === 0x7b) {
          try { more = (JSON.parse(f.payload.toString('utf8')) as { more?: boolean }).more === true; } catch { more = false; }
        }
        if (!more) { this.requests.delete(f.seq); r.ok(r.frames); }
        return;
      }
      case FrameType.ERROR: {
        let msg = 'SECOND reported an error';
        try { msg = (JSON.parse(f.payload.toString('utf8')) as { message?: string }).message ?? msg; } catch { /* keep */ }
        this.feed({ kind: 'peer_error', message: msg });
        return;
      }
      default:
        this.feed({ kind: 'bad_frame', frame_type: f.type });
    }
  }

  onClosed(conn: Conn, err: HakitError): void {
    if (!this.alive) return;
    if (this.dropped.has(conn)) { this.dropped.delete(conn); return; }
    if (conn === this.opening) return; // the connect callback's failure path reports it
    if (conn !== this.conn) return;
    this.conn = undefined;
    this.later({ kind: 'closed', code: err.code, message: err.message, need_full: this.needFull });
  }

  // ---- journal (journal.ts: rewritten compactly at phase changes, appended while ALONE) --

  /** False when PRIM's full disk refused it. */
  private rewriteJournal(phase: JournalImage['phase']): boolean {
    this.jcov.clear();
    // The temporary file needs new space: a full disk refuses the rewrite.
    if (this.fs.full) { this.journalRefused(`the ${phase} rewrite`); return false; }
    const snap = this.pending.snapshot();
    const events: JournalEv[] = [];
    for (const op of snap.ops) events.push({ t: 'op', op });
    for (const d of snap.dirty) for (const r of d.ranges) events.push({ t: 'dirty', path: d.path, start: r.start, end: r.end });
    for (const c of snap.compare) events.push({ t: 'compare', path: c });
    this.journal.events = events;
    this.journal.phase = phase;
    this.journal.copy_id = this.copyId;
    this.journal.takeover_of = this.takeoverOf;
    this.journal.closed = false;
    this.journal.need_full = this.hooks.journal === 'fixed' && (this.needFull || this.pending.overflowed);
    this.journal.emptied = false;
    return true;
  }

  /** journal.ts write(): appends `ev` unless the journal is emptied; a record PRIM's full disk
   *  refuses empties it. True when written. */
  private journalAppend(ev: JournalEv): boolean {
    if (this.journal.emptied) return false;
    if (this.fs.full) { this.journalRefused('a record'); return false; }
    this.journal.events.push(ev);
    return true;
  }

  /** journal.ts breakOff: the file is emptied; `pending` in memory keeps what SECOND lacks. */
  private journalRefused(what: string): void {
    if (this.hooks.bugs.journal_drops_refused) { this.hooks.log(`prim: journal: ${what} refused (disk full) and lost`); return; }
    if (!this.journal.emptied) this.hooks.log(`prim: journal: ${what} refused (disk full): emptied`);
    this.journal.emptied = true;
    this.journal.events = [];
  }

  /** sender.ts performRecorded / journal.ts appendDirty: an ALONE write is journaled unless
   *  inside extents journaled since the last rewrite; its record names whole extents
   *  (pure/journal-coverage.ts; 64 KiB here, the simulation's files are small). */
  private appendDirtyExtent(path: string, start: number, end: number): void {
    const r = this.jcov.recordFor(path, start, end);
    if (!r) return;
    if (this.journalAppend({ t: 'dirty', path, start: r.start, end: r.end })) this.jcov.written(path, r);
  }

  private appendJournal(op: MirrorOp): void {
    if (op.kind === 'fsync') return;
    if (op.kind !== 'write') this.jcov.noteOp(op);
    this.journalAppend(op.kind === 'write' ? { t: 'dirty', path: op.path, start: op.offset, end: op.offset + op.data.length } : { t: 'op', op });
  }

  // ---- the capture's side (sender.ts perform / write / sync) -------------------------------

  private view(): RouteView {
    return { phase: this.link.route, rules: NO_EXCLUDES, pending: this.pending, busy: new Set<string>() };
  }

  /** Queues `op` for SECOND; `cb` runs once it is complete (acknowledged or handed to the journal). */
  private ship(op: MirrorOp, cb: () => void, ack_now?: boolean): void {
    const r: { seq?: number; recorded?: boolean } = {};
    this.enqueueResult = r;
    this.feed({ kind: 'enqueue', op, ...(ack_now === undefined ? {} : { ack_now }) });
    if (r.seq !== undefined) this.waitFor(r.seq, cb);
    else cb();
  }

  private wakeParked(): void {
    if (this.parked.length === 0) return;
    if (this.link.route === 'walking') return;
    const again = this.parked;
    this.parked = [];
    for (const w of again) this.s.at(this.s.now, 'prim parked op', () => this.run(w));
  }

  private run(w0: Waiting): void {
    if (!this.alive) return;
    let answered = false;
    const w: Waiting = { ...w0, done: (err) => { if (answered) return; answered = true; w0.done(err); } };
    if (w.kind === 'sync') this.doSync(w);
    else if (w.kind === 'write') this.doWrite(w);
    else this.doPerform(w);
  }

  /** Metadata and namespace ops (returns once queued, docs/mirror.md "Durability contract"). */
  perform(op: MirrorOp, local: () => void, done: Done): void {
    if (op.kind === 'write' || op.kind === 'truncate') this.hot(op.path);
    else if (op.kind === 'rename' || op.kind === 'link') this.hotMoved(op.from, op.to);
    this.run({ op, local, done, kind: 'perform', sync: false });
  }

  /** write(2); `sync`: an O_SYNC/O_DSYNC descriptor (returns once SECOND holds it). */
  write(op: Extract<MirrorOp, { kind: 'write' }>, local: () => void, sync: boolean, done: Done): void {
    this.hot(op.path);
    this.run({ op, local, done, kind: 'write', sync });
  }

  /** fsync / fdatasync / fsync of a directory. */
  sync(path: string, local: () => void, done: Done): void {
    this.run({ op: { kind: 'fsync', path }, local, done, kind: 'sync', sync: true });
  }

  // ---- activity record (sender.ts hot / hotMoved / coolTick) ----------------------------

  /** Before PRIM changes the content of `p` locally: `p` is durably hot (or the record is gone). */
  private hot(p: string): void {
    if (!this.activity.isOpen) return; // no session yet: no copy of SECOND to differ from
    const f = this.gens.get(p);
    this.gens.set(p, f ? { ...f, write_gen: f.write_gen + 1 } : { write_gen: 1, synced_gen: 0, seen_gen: 0 });
    if (this.activity.markHot(p) === 'discarded') this.hooks.log(`prim: activity record: hot ${p} refused (disk full): removed`);
  }

  /** A rename or link carries the hotness of its source (a dir: of every hot path under it). */
  private hotMoved(from: string, to: string): void {
    for (const p of [...this.gens.keys()]) if (under(p, from)) this.hot(to + p.slice(from.length));
  }

  /** Every COOL_IDLE_MS: hot files idle since the last tick are synced (to SECOND and PRIM's
   *  disk) unless a sync covered them already, then dropped from the record. */
  private coolTick(): void {
    if (this.cooling || this.gens.size === 0) return;
    this.cooling = true;
    const plan = coolingPlan(this.gens);
    const cooled = [...plan.cool];
    const syncFirst = this.link.route === 'in_sync' ? plan.sync_first.slice(0, 256) : [];
    if (this.hooks.bugs.activity_cools_unsynced) cooled.push(...syncFirst.splice(0));
    const finish = (): void => {
      this.cooling = false;
      if (!this.alive) return;
      for (const [p, f] of this.gens) this.gens.set(p, { ...f, seen_gen: f.write_gen });
      const gone = cooled.filter((p) => { const f = this.gens.get(p); return f !== undefined && f.seen_gen === f.write_gen; });
      if (gone.length === 0) return;
      for (const p of gone) this.gens.delete(p);
      this.activity.cool(gone);
      this.hooks.log(`prim: activity record: ${gone.length} cooled (${gone.join(' ')})`);
    };
    // One sync after the other, as sender.ts awaits them.
    const next = (i: number): void => {
      if (!this.alive) return;
      if (i >= syncFirst.length) { finish(); return; }
      const p = syncFirst[i]!;
      const gen = this.gens.get(p)?.write_gen;
      this.sync(p, () => { if (this.fs.typeOf(p) === 'f') this.fs.fsyncFile(p); }, (err) => {
        if (err === undefined && this.gens.get(p)?.write_gen === gen) cooled.push(p);
        this.s.at(this.s.now, 'prim activity cooling', () => next(i + 1));
      });
    };
    next(0);
  }

  private tryLocal(local: () => void): string | undefined {
    try {
      local();
      this.version++;
      return undefined;
    } catch (e) {
      if (e instanceof FsError) return e.code;
      throw e;
    }
  }

  private doPerform(w: Waiting): void {
    const op = w.op;
    const route = routeOp(this.view(), op);
    switch (route.to) {
      case 'wait': this.parked.push(w); return;
      case 'skip':
      case 'local': w.done(this.tryLocal(w.local)); return;
      case 'record': {
        const alone = this.link.route === 'alone';
        const err = this.tryLocal(w.local);
        if (err === undefined) {
          if (alone && op.kind === 'write') this.appendDirtyExtent(op.path, op.offset, op.offset + op.data.length);
          else if (alone) this.appendJournal(op);
          this.pending.recordUnshipped(op);
        }
        w.done(err);
        return;
      }
      case 'live': {
        if (op.kind === 'write' || op.kind === 'fsync') { this.liveOverlapped(w); return; }
        const err = this.tryLocal(w.local);
        if (err !== undefined) { w.done(err); return; }
        this.pending.noteLiveOp(op);
        this.ship(op, () => undefined);
        w.done();
        return;
      }
      default:
        w.done(this.tryLocal(w.local));
    }
  }

  /** A write or fsync shipped and performed locally at once; returns when both are done. */
  private liveOverlapped(w: Waiting): void {
    let acked = false;
    let localDone = false;
    // `err` is read only once localDone (fin may run from ship(), before the local call).
    const fin = (): void => {
      if (!acked || !localDone) return;
      if (err !== undefined && w.op.kind === 'write') this.markDivergent(w.op.path, w.op.offset, w.op.offset + w.op.data.length);
      w.done(err);
    };
    this.ship(w.op, () => { acked = true; fin(); });
    if (this.hooks.bugs.fsync_before_ack && w.op.kind === 'fsync') acked = true;
    const err = this.tryLocal(w.local);
    localDone = true;
    fin();
  }

  private doWrite(w: Waiting): void {
    const op = w.op as Extract<MirrorOp, { kind: 'write' }>;
    const route = routeOp(this.view(), op);
    if (route.to === 'wait') { this.parked.push(w); return; }
    if (route.to !== 'live') {
      const done: Done = w.sync ? (err) => { this.whenFenced(() => w.done(err)); this.drainAfter(); } : w.done;
      this.doPerform({ ...w, kind: 'perform', done });
      return;
    }
    let syncDone = !w.sync;
    let localDone = false;
    const fin = (): void => { if (syncDone && localDone) w.done(err); };
    // sender.ts write(): a sync write is its own barrier when the fsync op only orders.
    const ownBarrier = w.sync && !fsyncSyncsSecond(this.hooks);
    this.ship(op, ownBarrier ? () => { syncDone = true; fin(); } : () => undefined, ownBarrier || syncLikelySoon(this.gens.get(op.path)));
    if (w.sync && !ownBarrier) this.ship({ kind: 'fsync', path: op.path }, () => { syncDone = true; fin(); });
    if (w.sync && this.hooks.bugs.fsync_before_ack) syncDone = true;
    const err = this.tryLocal(w.local);
    if (err !== undefined) this.markDivergent(op.path, op.offset, op.offset + op.data.length);
    localDone = true;
    fin();
  }

  private doSync(w: Waiting): void {
    const route = routeOp(this.view(), w.op);
    if (route.to === 'wait') { this.parked.push(w); return; }
    if (route.to !== 'live') {
      const err = this.tryLocal(w.local);
      this.whenFenced(() => w.done(err));
      this.drainAfter();
      return;
    }
    let acked = false;
    let localDone = false;
    const path = w.op.kind === 'fsync' ? w.op.path : '';
    const gen = this.gens.get(path)?.write_gen;
    // sender.ts sync(): both copies hold the file as of `gen` and PRIM's is on disk: it may cool.
    const returns = (): void => {
      const f = this.gens.get(path);
      if (err === undefined && f && gen !== undefined && this.link.route === 'in_sync' && this.link.conn !== 'resuming') this.gens.set(path, { ...f, synced_gen: Math.max(f.synced_gen, gen) });
      w.done(err);
    };
    // sender.ts sync(): during a pass, also held until the fence holds (pure/link.ts leaveBehind).
    const fin = (): void => {
      if (!acked || !localDone) return;
      if (this.hooks.bugs.no_fence || isFenced(this.link)) returns();
      else this.held.push(returns);
    };
    const onAcked = (): void => {
      acked = true;
      fin();
    };
    // sender.ts sync(): no barrier when SECOND acknowledges unasked everything before it.
    if (syncWaitsUnasked(this.hooks, this.link)) {
      const last = drainSeq(this.link);
      if (last === undefined) onAcked();
      else this.waitFor(last, onAcked);
    } else {
      this.ship(w.op, onAcked);
    }
    if (this.hooks.bugs.fsync_before_ack) acked = true;
    const err = this.tryLocal(w.local);
    localDone = true;
    fin();
  }



  private markDivergent(p: string, start: number, end: number): void {
    this.pending.markDirty(p, start, end);
    if (this.link.route === 'alone') { this.journalAppend({ t: 'dirty', path: p, start, end }); return; }
    this.later({ kind: 'kick', mode: this.needFull ? 'full' : 'journal' });
  }

  // ---- requests ----------------------------------------------------------------------------

  private request(frame_type: 'REQ' | 'STATE', body: Record<string, unknown>, ok: (f: Frame[]) => void, fail: (e: string) => void): void {
    this.pendingRequestCb = { ok, fail };
    this.feed({ kind: 'request', frame_type, body });
  }

  // ---- re-integration (reintegrator.ts) ------------------------------------------------------

  private startPass(mode: ReintegrationChoice, gen: number): void {
    this.hooks.log(`prim: re-integration pass ${mode} (gen ${gen})`);
    // Live ops of a pass are not journaled: a journal left by a crash now must not be trusted.
    if (this.hooks.journal === 'fixed') this.rewriteJournal('syncing');
    const shipped = new Set<string>();
    if (mode === 'journal') {
      for (const op of this.pending.takeOps()) this.ship(op, () => undefined);
      this.s.at(this.s.now, 'prim pass', () => this.passLoop(mode, gen, shipped));
      return;
    }
    this.s.at(this.s.now, 'prim pass listing', () => {
      if (!isCurrent(this.link, gen)) return;
      this.request('REQ', { kind: 'manifest' }, (frames) => {
        if (!isCurrent(this.link, gen)) return;
        const remote: ManifestEntry[] = [];
        for (const f of frames) {
          const body = JSON.parse(f.payload.toString('utf8')) as { entries?: ManifestEntry[]; error?: string };
          remote.push(...(body.entries ?? []));
        }
        const local: ManifestEntry[] = this.fs.tree().filter((e) => e.path !== '/').map((e) => ({ path: e.path, type: e.type, mode: e.mode, uid: 0, gid: 0, size: e.type === 'f' ? e.data.length : 0, mtime_ms: 0 }));
        const plan = planTree(local, remote, NO_EXCLUDES);
        let compare = plan.compare;
        if (mode === 'activity') {
          // reintegrator.ts: names from the listings; content compared only where it may
          // differ; PRIM's own dirty ranges since it took over ship as in journal mode.
          const also = new Set(this.pending.keepOnlyDirty());
          compare = activityCompare(plan.compare, local, remote, new Set(this.sessionActivity?.hot ?? []), also, plan.otherNames);
          this.hooks.log(`prim: activity pass compares ${compare.length} of ${plan.compare.length} files (${compare.join(' ')})`);
        } else {
          this.pending.clear();
        }
        for (const op of plan.ops) this.ship(op, () => undefined);
        for (const p of compare) this.pending.markCompare(p);
        this.feed({ kind: 'names_reconciled', gen });
        this.passLoop(mode, gen, shipped);
      }, () => undefined);
    });
  }

  private passLoop(mode: ReintegrationChoice, gen: number, shipped: Set<string>): void {
    if (!this.alive || !isCurrent(this.link, gen)) return;
    const next = (): void => this.s.at(this.s.now + 0.2, 'prim pass', () => this.passLoop(mode, gen, shipped));
    for (const op of this.pending.takeOps()) this.ship(op, () => undefined);
    const dirtyPath = this.pending.peekDirtyPath();
    if (dirtyPath !== undefined) {
      const got = this.pending.takeDirty(REINT_CHUNK_BYTES);
      if (got) this.shipRanges(got.path, got.ranges, shipped);
      next();
      return;
    }
    const cmp = this.pending.peekCompare(1)[0];
    if (cmp !== undefined) {
      this.request('REQ', { kind: 'sig', path: cmp, block_size: SIG_BLOCK_BYTES }, (frames) => {
        if (!isCurrent(this.link, gen)) return;
        if (this.pending.unmarkCompare(cmp)) {
          if (frames.length === 0 || frames[0]!.payload[0] === 0x7b) { this.feed({ kind: 'pass_failed', gen }); return; }
          const remote = joinSignature(frames.map((f) => f.payload));
          const data = this.fs.typeOf(cmp) === 'f' ? this.fs.read(cmp) : undefined;
          if (data) {
            const local = signBytes(simHash64, data, SIG_BLOCK_BYTES);
            const ranges = differingRanges(local, remote);
            if (remote.size_bytes !== local.size_bytes) this.ship({ kind: 'truncate', path: cmp, size: local.size_bytes }, () => undefined);
            this.shipRanges(cmp, ranges, shipped);
          }
        }
        next();
      }, () => undefined);
      return;
    }
    const last = drainSeq(this.link);
    const whenDrained = (): void => {
      if (!this.alive || !isCurrent(this.link, gen)) return;
      if (!this.pending.isEmpty) { next(); return; }
      // What the pass shipped is on PRIM's disk before SECOND is told it is complete.
      for (const p of shipped) if (this.fs.typeOf(p) === 'f') this.fs.fsyncFile(p);
      this.request('STATE', { session: this.link.session, state: 'in_sync' }, () => {
        if (!isCurrent(this.link, gen)) return;
        // Something became pending meanwhile: another (journal) pass, as the machine decides.
        if (!this.pending.isEmpty) { this.feed({ kind: 'pass_again', gen }); return; }
        if (mode !== 'journal') this.needFull = false;
        this.takeoverOf = undefined;
        this.rewriteJournal('in_sync');
        this.feed({ kind: 'in_sync', gen });
      }, () => undefined);
    };
    if (last === undefined) whenDrained();
    else this.waitFor(last, whenDrained);
  }

  private shipRanges(path: string, ranges: readonly ByteRange[], shipped: Set<string>): void {
    if (this.fs.typeOf(path) !== 'f') return; // removed since: its unlink was (or will be) shipped
    const data = this.fs.read(path);
    const size = data.length;
    if (ranges.some((r) => r.end > size)) this.ship({ kind: 'truncate', path, size }, () => undefined);
    for (const r of ranges) {
      const end = Math.min(r.end, size);
      for (let at = r.start; at < end; at += REINT_CHUNK_BYTES) {
        const part = data.slice(at, Math.min(end, at + REINT_CHUNK_BYTES));
        this.ship({ kind: 'write', path, offset: at, data: part }, () => undefined);
        shipped.add(path);
      }
    }
  }

  /** The module stops cleanly: the link machine goes ALONE, the journal is closed. */
  stopCleanly(): void {
    this.feed({ kind: 'stop' });
    if (this.rewriteJournal('alone')) this.journal.closed = true;
    this.kill();
  }

  /** For the checker: does PRIM's bookkeeping say SECOND may lack [start, end) of `path`? */
  covers(path: string, start: number, end: number): boolean {
    if (this.needFull || this.pending.overflowed || this.link.route === 'walking') return true;
    if (this.pending.needsCompare(path) || this.pending.isDirtyOverlap(path, start, end)) return true;
    for (const op of this.pending.snapshot().ops) if (opPaths(op).includes(path) || isNamespaceOp(op)) return true;
    for (const it of [...this.link.inflight, ...this.link.queue]) {
      if (it.kind !== 'op') continue;
      const op = it.op;
      if (op.kind === 'write' && op.path === path && op.offset < end && start < op.offset + op.data.length) return true;
      if (op.kind !== 'write' && opPaths(op).includes(path)) return true;
    }
    return false;
  }
}
