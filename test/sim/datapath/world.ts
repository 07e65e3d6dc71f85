// The data-path world: two nodes, each with its in-memory file system, a PRIM runner of the
// real link machine on one and SECOND's receiver on the other, the fake replication
// connection between them, the application on PRIM, and the faults. Time and randomness
// come from one seeded PRNG, so a seed replays exactly. The invariants (docs/invariants.md,
// 14-16) are checked after every event that can change their truth.
import { HakitError } from '../../../core/errors/catalogue';
import { FrameType } from '../../../core/mirror/stream/frame';
import type { SenderStatus } from '../../../core/mirror/pure/link';
import { Prng } from '../prng';
import { EventQueue } from '../queue';
import { App, ROOT } from './app';
import { Conn, type ConnHandlers, type End, type Scheduler } from './channel';
import { Ledger } from './ledger';
import { MemFs } from './memfs';
import type { ActivityDisk } from './activity';
import { PrimSide, journalTrusted, type JournalImage, type JournalModel, type PrimBugs } from './prim';
import { SecondSide, restartRule, type ReceiverRecord, type ReceiverStart, type WelcomeLast } from './second';
import { restartedCopy } from '../../../core/mirror/pure/second-mode';

export type NodeName = 'n1' | 'n2';

export interface SimNode {
  readonly id: NodeName;
  readonly fs: MemFs;
  boot: number;
  /** Powered (the kernel runs). */
  up: boolean;
  /** hakitd runs. */
  daemon: boolean;
  journal: JournalImage;
  /** PRIM's activity record on this node's disk (survives its daemon and power cuts). */
  readonly activity: ActivityDisk;
  receiverRecord: ReceiverRecord | undefined;
  /** The module machine's persisted "copy complete" (module/pure/mirror.ts): may take over. */
  copyComplete: boolean;
  /** SECOND: the connection whose in_sync came while PRIM announced no session; the copy is
   *  complete once PRIM announces one while that connection is still SECOND's (a close it saw
   *  or a new connection ends it; module/pure/mirror.ts onReplicationEvent, absorbPeerView). */
  completeHeldOn: Conn | undefined;
  prim: PrimSide | undefined;
  second: SecondSide | undefined;
}

export interface Violation {
  readonly t: number;
  readonly invariant: 'I1' | 'I2' | 'I3' | 'crash';
  readonly what: string;
}

/**
 * How the module layer (core/module/pure/mirror.ts grantFence, outside the data path) answers
 * the link's `fence_wanted`, which PRIM's link asks whenever it starts or leaves SECOND behind
 * (sync calls are held until `fenced`):
 *  - 'ideal': at once, SECOND's copy marked out of date in the same instant;
 *  - 'daemon': as the daemon does: PRIM announces lastRole ALONE, SECOND hears it by heartbeat
 *    `fence_ms` later and marks its copy out of date (a SECOND that is down learns it when it
 *    returns), and PRIM hears that (or that SECOND is lost) one more heartbeat later.
 */
export type FenceModel = 'ideal' | 'daemon';

export interface WorldOptions {
  readonly seed: number;
  readonly fence?: FenceModel;
  /** 'daemon': heartbeat delay before SECOND hears PRIM is ALONE. */
  readonly fence_ms?: number;
  /** See WelcomeLast (default 'applied'). */
  readonly welcome?: WelcomeLast;
  /** See JournalModel (default 'fixed'). */
  readonly journal?: JournalModel;
  readonly bugs?: PrimBugs;
  /** `<rfs sync_secondary>` on SECOND (default true here; the product's default is off). */
  readonly sync_secondary?: boolean;
  /** `<rfs async>` (default "none"). */
  readonly async?: 'none' | 'second';
  /** See ReceiverStart (default 'fixed'; 'boot' re-injects a fixed bug). */
  readonly receiver_start?: ReceiverStart;
}

interface Ev { readonly what: string; readonly fn: () => void }

function freshJournal(): JournalImage {
  return { copy_id: '', boot_id: 0, takeover_of: undefined, phase: 'alone', closed: false, need_full: false, emptied: false, events: [] };
}

export class DatapathWorld implements Scheduler {
  now = 0;
  readonly rng: Prng;
  private readonly q = new EventQueue<Ev>();
  readonly trace: string[] = [];
  verbose = false;
  readonly violations: Violation[] = [];
  readonly nodes: Record<NodeName, SimNode>;
  primNode: NodeName = 'n1';
  secondNode: NodeName = 'n2';
  /** The replication network works. */
  netUp = true;
  readonly ledger = new Ledger();
  readonly app: App;
  private conns = new Set<Conn>();
  private readonly opening = new Map<Conn, { ok: (c: Conn, w: Record<string, unknown>) => void; fail: (code: string, m: string) => void; done: boolean }>();
  private copySeq = 0;
  private connSeq = 0;
  private lastChecked = '';
  readonly bugs: PrimBugs;
  readonly fence: FenceModel;
  readonly fence_ms: number;
  /** With the fence ignored (bug no_fence): PRIM's runner reported a session (replication-mirror.ts sessionUp). */
  private sessionUp = false;
  /** The newest fence request (see onFenceWanted). */
  private fenceToken = 0;
  failovers = 0;
  events = 0;
  checks = 0;
  private get syncSecondary(): boolean { return this.opts.sync_secondary ?? true; }
  private get asyncMode(): 'none' | 'second' { return this.opts.async ?? 'none'; }

  /** PRIM announced ALONE and SECOND has not been in sync since (SECOND learns it on return). */
  private primAnnouncedAlone = false;

  constructor(readonly opts: WorldOptions) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const world = this;
    this.rng = new Prng(opts.seed);
    this.bugs = opts.bugs ?? {};
    this.fence = opts.fence ?? 'ideal';
    this.fence_ms = opts.fence_ms ?? 500;
    const node = (id: NodeName): SimNode => ({ id, fs: new MemFs(), boot: 1, up: true, daemon: false, journal: freshJournal(), activity: { image: undefined }, receiverRecord: undefined, copyComplete: false, completeHeldOn: undefined, prim: undefined, second: undefined });
    this.nodes = { n1: node('n1'), n2: node('n2') };
    this.app = new App({
      get now() { return world.now; },
      rng: this.rng,
      at: (t, what, fn) => this.at(t, what, fn),
      log: (m) => this.log(m),
      prim: () => {
        const n = this.nodes[this.primNode];
        return n.up && n.daemon && n.prim ? { side: n.prim, fs: n.fs } : undefined;
      },
    }, this.ledger);
  }

  log(msg: string): void {
    const line = `${this.now.toFixed(1).padStart(9)} ${msg}`;
    this.trace.push(line);
    if (this.trace.length > 4000) this.trace.splice(0, 1000);
    if (this.verbose) console.log(line);
  }

  at(t: number, what: string, fn: () => void): void {
    this.q.push(Math.max(t, this.now), { what, fn });
  }

  // ---- running -----------------------------------------------------------------------------

  runUntil(t_end: number, until?: () => boolean): boolean {
    for (;;) {
      if (until?.()) return true;
      const t = this.q.peekTime();
      if (t === undefined || t > t_end) { this.now = Math.max(this.now, t_end); return until?.() ?? false; }
      const ev = this.q.pop()!;
      this.now = ev.at;
      this.events++;
      try {
        ev.item.fn();
      } catch (e) {
        this.violate('crash', `exception in ${ev.item.what}: ${(e as Error).stack ?? String(e)}`);
      }
      this.checkSafety();
      if (this.violations.length > 0) return false;
    }
  }

  violate(invariant: Violation['invariant'], what: string): void {
    this.log(`VIOLATION ${invariant}: ${what}`);
    this.violations.push({ t: Math.round(this.now * 10) / 10, invariant, what });
  }

  // ---- setup -------------------------------------------------------------------------------

  start(): void {
    this.startSecond(this.nodes[this.secondNode]);
    this.startPrim(this.nodes[this.primNode], { trusted: false });
    this.app.start();
  }

  private newCopyId(): string { return `copy-${++this.copySeq}`; }

  startPrim(n: SimNode, o: { trusted: boolean; takeover_copy?: string }): void {
    n.daemon = true;
    n.prim = new PrimSide(this, n.fs, n.journal, n.activity, n.boot, {
      log: (m) => this.log(`${n.id} ${m}`),
      connect: (ok, fail, timeout_ms) => this.connect(ok, fail, timeout_ms),
      status: (s) => this.onPrimStatus(n, s),
      fenceWanted: (p) => this.onFenceWanted(n, p),
      bugs: this.bugs,
      journal: this.opts.journal ?? 'fixed',
      sync_secondary: this.syncSecondary,
      async: this.asyncMode,
    }, o);
    this.log(`${n.id}: PRIM runner starts (${o.takeover_copy !== undefined ? `takeover of ${o.takeover_copy}` : o.trusted ? 'journal trusted' : 'journal not trusted'})`);
    // sender.ts start() reports ALONE before anything else.
    this.sessionUp = false;
    this.onPrimStatus(n, { state: 'alone', reason: 'started' });
  }

  startSecond(n: SimNode): void {
    n.daemon = true;
    n.second = new SecondSide(this, n.fs, n.receiverRecord, n.activity, n.boot, {
      log: (m) => this.log(`${n.id} ${m}`),
      complete: (c) => {
        n.receiverRecord = n.second?.record;
        n.completeHeldOn = undefined;
        // The in_sync of a session PRIM has given up, or of one it announced only a moment
        // ago: held until PRIM announces a session (the fixed module layer).
        if (c && this.primAnnouncedAlone && !this.bugs.second_completes_stale) {
          n.completeHeldOn = n.second?.conn;
          this.log(`${n.id}: in_sync held: PRIM announces no session`);
          return;
        }
        n.copyComplete = c;
        if (c) this.primAnnouncedAlone = false;
        this.log(`${n.id}: copy ${c ? 'complete' : 'incomplete'}`);
      },
    }, () => this.newCopyId(), this.opts.welcome ?? 'applied', this.syncSecondary, this.asyncMode, this.opts.receiver_start ?? 'fixed');
    n.receiverRecord = n.second.record;
    // The runner tells the machine at once (replication-mirror.ts startSecond).
    if (!n.second.record.complete && n.copyComplete && !this.bugs.second_keeps_complete) {
      n.copyComplete = false;
      this.log(`${n.id}: copy not complete at start (acknowledged writes lost with the page cache): not eligible`);
    }
    if (this.primAnnouncedAlone && n.copyComplete) {
      n.copyComplete = false;
      this.log(`${n.id}: hears PRIM is ALONE: copy out of date`);
    }
    this.log(`${n.id}: SECOND receiver starts (copy ${n.second.record.copy_id}, ${n.second.trusted ? 'trusted' : 'not trusted'})`);
  }

  private onPrimStatus(n: SimNode, s: SenderStatus): void {
    this.log(`${n.id} status ${s.state}${'reason' in s ? ` (${s.reason})` : ''}${'code' in s && s.code ? ` ${s.code}` : ''}`);
    // PRIM announces its session (`replicating`): at once, or a heartbeat later.
    if (s.state === 'connected' && !this.bugs.no_fence) {
      const p = n.prim;
      this.at(this.now + (this.fence === 'ideal' ? 0 : this.fence_ms), 'heartbeat: PRIM replicates', () => {
        if (!n.up || n.prim !== p || !p?.isAlive || p.route === 'alone') return;
        this.primAnnouncedAlone = false;
        const sec = this.nodes[this.secondNode];
        const held = sec.completeHeldOn;
        // A new connection, or the loss of this one, ended the session the in_sync belonged to.
        if (held !== undefined && sec.up && sec.second?.conn === held) {
          sec.completeHeldOn = undefined;
          sec.copyComplete = true;
          this.log(`${sec.id}: copy complete (the held in_sync: PRIM announces its session)`);
        }
      });
    }
    // With the fence ignored (a re-injected bug), SECOND learns as before the fence existed:
    // only an ALONE after a session was up reaches the machine (ReplicationLost).
    if (!this.bugs.no_fence) return;
    if (s.state === 'connected') this.sessionUp = true;
    if (s.state !== 'alone') return;
    if (this.fence === 'ideal') { this.announceAlone(n); return; }
    if (!this.sessionUp) return;
    this.sessionUp = false;
    this.at(this.now + this.fence_ms, 'heartbeat: PRIM is ALONE', () => this.announceAlone(n));
  }

  /** See FenceModel. */
  private onFenceWanted(n: SimNode, p: PrimSide): void {
    // The runner's token (replication-mirror.ts): an answer to an older request is moot.
    const token = ++this.fenceToken;
    const answer = (): void => { if (token === this.fenceToken && n.up && n.prim === p && p.isAlive) p.fenced(); };
    if (this.fence === 'ideal') {
      this.at(this.now, 'fence (ideal)', () => { this.announceAlone(n); answer(); });
      return;
    }
    this.at(this.now + this.fence_ms, 'heartbeat: PRIM is ALONE', () => {
      if (!n.up || n.prim !== p) return;
      this.announceAlone(n);
      this.at(this.now + this.fence_ms, 'heartbeat: SECOND out of date (or lost)', answer);
    });
  }

  /** SECOND's copy is out of date from now on (it learns it when it is up). */
  private announceAlone(n: SimNode): void {
    if (!n.up || n.id !== this.primNode) return;
    this.primAnnouncedAlone = true;
    const sec = this.nodes[this.secondNode];
    if (sec.up && sec.copyComplete) {
      sec.copyComplete = false;
      this.log(`${sec.id}: hears PRIM is ALONE: copy out of date`);
    }
  }

  // ---- the network ---------------------------------------------------------------------------

  private handlers: ConnHandlers = {
    frame: (conn, end, f) => {
      if (end === 'second') {
        const s = this.nodes[this.secondNode].second;
        if (s && conn === s.conn) s.onFrame(conn, f);
        return;
      }
      const o = this.opening.get(conn);
      if (o && !o.done) {
        o.done = true;
        this.opening.delete(conn);
        if (f.type !== FrameType.WELCOME) { conn.close('prim', new HakitError('HAKIT_E_MIRROR_BAD_FRAME', 'expected WELCOME', 'sim')); o.fail('HAKIT_E_MIRROR_BAD_FRAME', 'expected WELCOME'); return; }
        let w: Record<string, unknown>;
        try { w = JSON.parse(f.payload.toString('utf8')) as Record<string, unknown>; } catch { o.fail('HAKIT_E_MIRROR_BAD_FRAME', 'WELCOME is not JSON'); return; }
        o.ok(conn, w);
        return;
      }
      this.nodes[this.primNode].prim?.onFrame(conn, f);
    },
    closed: (conn, end, err) => {
      if (end === 'second') {
        this.log(`second: connection ${conn.id} closed (${err.code}: ${err.message})`);
        this.nodes[this.secondNode].second?.onClosed(conn);
        return;
      }
      const o = this.opening.get(conn);
      if (o && !o.done) {
        o.done = true;
        this.opening.delete(conn);
        o.fail(err.code, err.message);
        return;
      }
      this.nodes[this.primNode].prim?.onClosed(conn, err);
    },
  };

  private connect(ok: (c: Conn, w: Record<string, unknown>) => void, fail: (code: string, m: string) => void, timeout_ms: number): void {
    const sec = this.nodes[this.secondNode];
    const rtt = 0.2 + this.rng.next() * 0.6;
    if (!this.netUp || !sec.up) {
      this.at(this.now + timeout_ms, 'connect times out', () => fail('HAKIT_E_MIRROR_HANDSHAKE_TIMEOUT', 'no answer'));
      return;
    }
    if (!sec.daemon || !sec.second) {
      this.at(this.now + rtt, 'connect refused', () => fail('HAKIT_E_MIRROR_PEER_LOST', 'connection refused'));
      return;
    }
    const conn = new Conn(++this.connSeq, this, this.handlers, { min_ms: 0.1, max_ms: 0.5 });
    this.conns.add(conn);
    const entry = { ok, fail, done: false };
    this.opening.set(conn, entry);
    this.at(this.now + 2 * rtt, 'handshake', () => {
      const s = this.nodes[this.secondNode];
      if (entry.done) return;
      if (!this.netUp || !s.up || !s.daemon || !s.second || conn.cut) return; // the timeout below answers
      s.second.accept(conn);
    });
    this.at(this.now + timeout_ms, 'handshake timeout', () => {
      if (entry.done) return;
      entry.done = true;
      this.opening.delete(conn);
      conn.close('prim', new HakitError('HAKIT_E_MIRROR_HANDSHAKE_TIMEOUT', 'no WELCOME', 'sim'));
      fail('HAKIT_E_MIRROR_HANDSHAKE_TIMEOUT', 'no WELCOME');
    });
  }

  private liveConns(): Conn[] {
    for (const c of [...this.conns]) if (c.isClosed('prim') && c.isClosed('second')) this.conns.delete(c);
    return [...this.conns];
  }

  // ---- faults ---------------------------------------------------------------------------------

  cutNetwork(): void {
    this.netUp = false;
    for (const c of this.liveConns()) c.cutSilently();
    this.log('fault: replication network cut');
  }

  healNetwork(): void {
    if (!this.netUp) this.log('fault ends: replication network healed');
    this.netUp = true;
  }

  resetConnection(): void {
    const c = this.nodes[this.secondNode].second?.conn;
    if (!c) return;
    this.log(`fault: connection ${c.id} reset`);
    c.close('second', new HakitError('HAKIT_E_MIRROR_PEER_LOST', 'connection reset', 'sim'));
  }

  stall(ms: number): void {
    const c = this.nodes[this.secondNode].second?.conn;
    if (!c) return;
    this.log(`fault: SECOND stops reading for ${ms} ms`);
    c.stall('second', this.now + ms);
  }

  garbage(to: End): void {
    const c = this.nodes[this.secondNode].second?.conn;
    if (!c) return;
    const kind = this.rng.chance(0.5) ? 'random' : 'forged';
    this.log(`fault: ${kind} bytes injected towards ${to}`);
    c.injectGarbage(to, kind);
  }

  /** The disk of SECOND (the copy) or of PRIM (its data and its journal) is full for `ms`. */
  diskFull(ms: number, role: 'second' | 'prim' = 'second'): void {
    const n = this.nodes[role === 'second' ? this.secondNode : this.primNode];
    if (!n.up) return;
    n.fs.full = true;
    this.log(`fault: ${role === 'second' ? 'SECOND' : 'PRIM'}'s disk (${n.id}) full for ${ms} ms`);
    this.at(this.now + ms, 'disk space freed', () => { n.fs.full = false; this.log(`${n.id}: disk space freed`); });
  }

  /** hakitd dies on `id` (the kernel, the file systems and the application live on). */
  daemonCrash(id: NodeName, restart_ms: number): void {
    const n = this.nodes[id];
    if (!n.up || !n.daemon) return;
    this.log(`fault: hakitd dies on ${id} (${id === this.primNode ? 'PRIM' : 'SECOND'}), back in ${restart_ms} ms`);
    n.daemon = false;
    if (n.prim) {
      n.prim.killWithReset();
      n.prim = undefined;
      this.app.abandon();
    }
    if (n.second) {
      const c = n.second.conn;
      n.second.kill();
      n.second = undefined;
      c?.close('second', new HakitError('HAKIT_E_MIRROR_PEER_LOST', 'hakitd died', 'sim'));
    }
    this.at(this.now + restart_ms, `hakitd restarts on ${id}`, () => this.restartDaemon(id));
  }

  restartDaemon(id: NodeName): void {
    const n = this.nodes[id];
    if (!n.up || n.daemon) return;
    if (id === this.primNode) {
      this.startPrim(n, { trusted: journalTrusted(n.journal, n.boot, this.opts.journal ?? 'fixed') });
      this.app.restartOn(n.fs);
      this.app.start();
    } else {
      this.startSecond(n);
    }
  }

  /** Power cut of `id`: the page cache is lost; the node comes back after `back_ms`. */
  powerCut(id: NodeName, back_ms: number): void {
    const n = this.nodes[id];
    if (!n.up) return;
    const role = id === this.primNode ? 'PRIM' : 'SECOND';
    this.log(`fault: power cut of ${id} (${role}), back in ${back_ms} ms`);
    n.up = false;
    n.daemon = false;
    if (n.prim) { n.prim.kill(); n.prim = undefined; }
    if (n.second) {
      n.second.kill();
      n.second = undefined;
    }
    for (const c of this.liveConns()) c.cutSilently();
    n.fs.powerCut(this.rng);
    n.boot++;
    if (role === 'PRIM') {
      this.app.abandon();
      this.ledger.forgetUnacked();
      // The peer's heartbeats stop: after the timeout SECOND takes over if its copy may.
      const detect_ms = this.rng.int(1500, 4000);
      this.at(this.now + detect_ms, 'SECOND notices PRIM is gone', () => this.maybeFailover(id));
    } else {
      // PRIM's heartbeats see SECOND gone after the timeout: the link gives its session up
      // (core/module/pure/mirror.ts ReplicationPeerLost), unless SECOND is back by then.
      const boot = n.boot;
      this.at(this.now + this.rng.int(1500, 4000), 'PRIM notices SECOND is gone', () => {
        if (!n.up && n.boot === boot) this.nodes[this.primNode].prim?.peerLost();
      });
    }
    this.at(this.now + back_ms, `${id} boots`, () => this.boot(id));
  }

  private maybeFailover(oldPrim: NodeName): void {
    const old = this.nodes[oldPrim];
    if (old.up || this.primNode !== oldPrim) return;
    const sec = this.nodes[this.secondNode];
    if (!sec.up || !sec.daemon || !sec.second || !sec.copyComplete) {
      this.log(`${sec.id}: PRIM lost, copy not complete: no takeover (waits for ${oldPrim})`);
      return;
    }
    this.failovers++;
    this.log(`FAILOVER: ${sec.id} takes over from copy ${sec.second.record.copy_id}`);
    const rec = sec.second.stopCleanly();
    this.checkNewPrim(sec);
    sec.receiverRecord = rec;
    sec.second = undefined;
    this.primNode = sec.id;
    this.secondNode = oldPrim;
    this.primAnnouncedAlone = false;
    sec.journal = freshJournal();
    this.startPrim(sec, { trusted: false, takeover_copy: rec.copy_id });
    this.app.restartOn(sec.fs);
    this.app.start();
  }

  private boot(id: NodeName): void {
    const n = this.nodes[id];
    n.up = true;
    this.log(`${id} is up (boot ${n.boot}) as ${id === this.primNode ? 'PRIM' : 'SECOND'}`);
    if (id === this.primNode) {
      this.restartDaemon(id);
    } else {
      n.copyComplete = n.copyComplete && !(this.primAnnouncedAlone);
      this.startSecond(n);
    }
  }

  // ---- invariants --------------------------------------------------------------------------

  /** Whether SECOND could take over now (its module record says its copy is complete). */
  secondMayTakeOver(): boolean {
    const s = this.nodes[this.secondNode];
    return s.up && s.copyComplete;
  }

  /**
   * I1: every acknowledged write is on SECOND (on its disk while SECOND may take over) or, while
   * SECOND may not take over, PRIM's bookkeeping (journal, pending ranges, the link's queue, a
   * full comparison to come) says SECOND lacks it. Also PRIM's own disk holds it.
   */
  private checkSafety(): void {
    const p = this.nodes[this.primNode];
    const s = this.nodes[this.secondNode];
    // async="second": what SECOND acknowledged may still be in its apply queue, which dies with
    // its hakitd (it cannot take over until it restarted, and then its copy is incomplete).
    const second = this.asyncMode === 'second';
    const eligible = this.secondMayTakeOver() && (!second || s.daemon);
    const queued = second && s.second ? s.second.queueLength : 0;
    // Only what the answer depends on: with SECOND eligible its disk, else its page cache and
    // PRIM's bookkeeping; PRIM's own disk always.
    const key = eligible
      ? `${this.ledger.version}|${this.syncSecondary && !second ? s.fs.diskVersion : s.fs.cacheVersion}|${queued}|${s.second?.lastReceived ?? -1}|${p.fs.diskVersion}|${this.primNode}|e`
      : `${this.ledger.version}|${s.fs.cacheVersion}|${s.fs.diskVersion}|${queued}|${s.second?.lastReceived ?? -1}|${p.fs.diskVersion}|${p.prim?.version ?? -1}|${this.primNode}|${s.up}`;
    if (key === this.lastChecked) return;
    this.lastChecked = key;
    this.checks++;
    // SECOND's page cache, with its apply queue applied when it acknowledges on receipt.
    let view: MemFs | undefined;
    const cache = (): MemFs => (view ??= queued > 0 && s.second ? s.second.withQueue() : s.fs);
    for (const [path, file] of this.app.names) {
      if (!this.ledger.hasFloor(file)) continue;
      if (p.up) {
        const own = this.ledger.shortfall(file, p.fs.diskRead(path));
        if (own && this.findHolder(file, p.fs, true) === undefined) {
          this.violate('I1', `PRIM's own disk lacks an acknowledged write of ${path}: word ${own.word} holds ${own.found}, acknowledged ${this.ledger.describe(own.floor)}`);
          return;
        }
      }
      if (eligible) {
        // With sync_secondary on its disk; without, in its page cache (it is up: a reboot
        // makes it ineligible, see startSecond); with async="second", in its page cache with
        // its apply queue applied (cache()), since it acknowledged on receipt.
        const disk = this.syncSecondary && !second;
        const c = cache();
        const miss = this.ledger.shortfall(file, disk ? s.fs.diskRead(path) : c.typeOf(path) === 'f' ? c.read(path) : undefined);
        if (miss && this.findHolder(file, disk ? s.fs : c, disk) === undefined) {
          this.violate('I1', `SECOND (${s.id}) may take over but its ${disk ? 'disk' : 'copy'} lacks an acknowledged write of ${path}: word ${miss.word} holds ${miss.found}, acknowledged ${this.ledger.describe(miss.floor)}; PRIM link ${p.prim ? p.prim.route : 'down'}`);
          return;
        }
        continue;
      }
      if (!p.prim) continue; // hakitd is down on PRIM: the journal on disk is checked when it restarts
      // A SECOND that is down holds what its disk holds.
      const c = cache();
      const miss = this.ledger.shortfall(file, s.up ? (c.typeOf(path) === 'f' ? c.read(path) : undefined) : s.fs.diskRead(path));
      if (!miss || this.findHolder(file, s.up ? c : s.fs, !s.up) !== undefined) continue;
      const start = miss.word * 8;
      if (!this.nextPassCompares() && !p.prim.covers(path, start, start + 8)) {
        this.violate('I1', `acknowledged ${this.ledger.describe(miss.floor)} (${path}, word ${miss.word}) is neither on SECOND (${miss.found}) nor in PRIM's journal/pending set; PRIM link ${p.prim.route}`);
        return;
      }
    }
  }

  /** The next pass to SECOND cannot be a journal pass (chooseReintegration): SECOND's copy is
   *  not the one PRIM's journal describes, or SECOND will not trust it (a crash of its node). */
  private nextPassCompares(): boolean {
    const p = this.nodes[this.primNode].prim;
    const s = this.nodes[this.secondNode];
    const rec = s.second?.record ?? s.receiverRecord;
    if (!p || !rec) return true;
    const trusted = s.second ? s.second.trusted : restartedCopy(rec, s.boot, restartRule(this.opts.receiver_start ?? 'fixed', { async: this.asyncMode, sync_secondary: this.syncSecondary })).trusted;
    return rec.copy_id !== p.trackedCopy || !trusted;
  }

  /** A file of `fs` holding every acknowledged write of `file` (renames not yet applied). */
  private findHolder(file: number, fs: MemFs, disk: boolean): string | undefined {
    for (const path of disk ? fs.diskPaths() : fs.paths()) {
      const data = disk ? fs.diskRead(path) : fs.typeOf(path) === 'f' ? fs.read(path) : undefined;
      if (data && this.ledger.shortfall(file, data) === undefined) return path;
    }
    return undefined;
  }

  /** I2: the node taking over holds every acknowledged write. */
  private checkNewPrim(n: SimNode): void {
    for (const [path, file] of this.app.names) {
      if (!this.ledger.hasFloor(file)) continue;
      const miss = this.ledger.shortfall(file, n.fs.typeOf(path) === 'f' ? n.fs.read(path) : undefined);
      if (miss && this.findHolder(file, n.fs, false) === undefined) {
        this.violate('I2', `new PRIM ${n.id} lacks an acknowledged write of ${path}: word ${miss.word} holds ${miss.found}, acknowledged ${this.ledger.describe(miss.floor)}`);
        return;
      }
    }
  }

  /** I3: both trees identical (names, types, modes, bytes). Returns the first difference. */
  treeDifference(): string | undefined {
    const a = this.nodes[this.primNode].fs.tree().filter((e) => e.path.startsWith(ROOT));
    const b = this.nodes[this.secondNode].fs.tree().filter((e) => e.path.startsWith(ROOT));
    const B = new Map(b.map((e) => [e.path, e] as const));
    for (const e of a) {
      const o = B.get(e.path);
      if (!o) return `${e.path} missing on SECOND`;
      if (o.type !== e.type) return `${e.path}: type ${e.type} on PRIM, ${o.type} on SECOND`;
      if (o.mode !== e.mode) return `${e.path}: mode ${e.mode.toString(8)} on PRIM, ${o.mode.toString(8)} on SECOND`;
      if (e.type === 'f' && Buffer.compare(Buffer.from(e.data), Buffer.from(o.data)) !== 0) return `${e.path}: content differs (${e.data.length} bytes on PRIM, ${o.data.length} on SECOND)`;
      B.delete(e.path);
    }
    const extra = [...B.keys()][0];
    return extra === undefined ? undefined : `${extra} only on SECOND`;
  }

  /** Converged: PRIM in sync with SECOND, nothing in flight, identical trees. */
  converged(): boolean {
    const p = this.nodes[this.primNode].prim;
    if (!p || p.route !== 'in_sync' || !this.app.idle) return false;
    if (p.link.inflight.length > 0 || p.link.queue.length > 0) return false;
    return this.treeDifference() === undefined;
  }
}
