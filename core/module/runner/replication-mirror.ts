// The ReplicationPort of a mirror module: the mirror engine (core/mirror/engine.ts) driven by
// the module machine. One owner per resource: this object alone starts and stops the
// module's engine, one lifecycle step at a time (a chain), so an unmount always ends before
// the next mount of the same directory begins.
//
// Lifecycle, as the machine's scripts and effects drive it:
//   before start_prim      PRIM engine: journal loaded, FUSE capture mounted over every <rfs>
//                          dir, sender linking to the peer's receiver (ALONE writes are
//                          journaled from the first byte the application writes)
//   after stop_prim        PRIM engine stopped (unmounted, journal closed cleanly)
//   StartReplication recv  SECOND engine: binds, read-only application path, receiver listens
//   StopReplication        SECOND engine stopped; on PRIM only the reporting stops (the
//                          application still runs and must stay captured)
//
// Engine status -> machine events:
//   PRIM   connected -> ReplicationConnected, in_sync -> ReplicationSynced, alone (after a
//          session was up) -> ReplicationLost. A transient `lost` is not reported: the sender
//          first tries to resume the session; `alone` follows when it cannot.
//   SECOND STATE syncing (before any re-integration block is applied) -> ReplicationConnected,
//          and the receiver waits until the machine's Persist(copyComplete=false) is on disk;
//          complete=true -> ReplicationSynced; socket lost -> ReplicationLost (a resumed
//          session is followed by STATE in_sync -> ReplicationSynced again).
import { HakitError, isHakitError } from '../../errors/catalogue';
import type { LogSink } from '../../log/sink';
import type { MirrorModuleSpec, MirrorPrim, MirrorSecond, MirrorStatus, VerifyReport } from '../../mirror/engine';
import type { TreeDifference } from '../../mirror/pure/tree-diff';
import type { SenderStatus } from '../../mirror/pure/link';
import type { ReplicationPort, ReplicationReport } from './ports';

/** Longest wait for the machine to make "copy incomplete" durable before a session is refused. */
export const SYNCING_DURABLE_TIMEOUT_MS = 10_000;
/** At most one "replication connection refused" line per this interval (a flood would write thousands). */
export const REFUSED_LOG_INTERVAL_MS = 10_000;
/** Re-integration progress is logged at info level at most this often. */
export const PROGRESS_LOG_INTERVAL_MS = 10_000;
/** Distinct ALONE reasons remembered between two connections (for logging each once). */
const MAX_ALONE_REASONS_LOGGED = 16;
/** Sync calls held this long for the fence are worth a warning (a few heartbeats is normal). */
export const FENCE_WAIT_WARN_MS = 10_000;

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** The engine entry points (replaceable by fakes in unit tests). */
export interface MirrorEngine {
  startPrim(spec: MirrorModuleSpec, peer: Endpoint): Promise<MirrorPrim>;
  startSecond(spec: MirrorModuleSpec, listen: Endpoint, opts: { readonly_copy: boolean; before_syncing: () => Promise<void> }): Promise<MirrorSecond>;
}

export interface MirrorReplicationDeps {
  readonly spec: MirrorModuleSpec;
  /** The peer's receiver (PRIM connects there). */
  readonly peer: Endpoint;
  /** This node's receiver address (SECOND listens there). */
  readonly listen: Endpoint;
  readonly engine: MirrorEngine;
  readonly log: LogSink;
  /** Resolves once every event delivered to the module machine so far has been stepped and its effects performed. */
  readonly settled: () => Promise<void>;
  /** The module machine's persisted word on this node's copy: false once it was marked out of
   *  date (the PRIM wrote without it), which the SECOND engine's own record cannot know when
   *  the PRIM went ALONE over a link that died silently. Absent: the engine's word alone. */
  readonly moduleCopyComplete?: () => boolean;
}

type Role = 'sender' | 'receiver';

/** What rfsverify/rfsdiff/fullsync see of the running engine. */
export interface MirrorControl {
  verify(): Promise<TreeDifference[]>;
  /** verify, with the files and bytes compared (absent from fakes that only verify). */
  verifyReport?(): Promise<VerifyReport>;
  fullsync(): Promise<void>;
  status(): MirrorReplicationStatus;
}

export interface MirrorReplicationStatus {
  readonly engine: 'prim' | 'second' | 'none';
  /** The current engine's last status event: on PRIM its sender's link phase (alone, connected, syncing, in_sync, lost), on SECOND its receiver's events; null until it reports. */
  readonly last: MirrorStatus | null;
  readonly copy_complete: boolean | null;
  /** SECOND: bytes and ops applied to the copy since its engine started (what re-integration and live traffic shipped). */
  readonly bytes_applied: number | null;
  readonly ops_applied: number | null;
  /** SECOND: connections closed at accept because they did not come from the peer's addresses. */
  readonly foreign_refused: number | null;
  /** Whether the replication session is up now (null: no engine). */
  readonly link: 'up' | 'down' | null;
  /** PRIM: how long sync calls have waited for the fence (docs/mirror.md); null: they do not wait. */
  readonly fence_wait_ms?: number | null;
  /** PRIM: how long its journal has been emptied because its disk refused a record (a crash
   *  now costs a full comparison; docs/mirror.md); null: the journal is kept. */
  readonly journal_emptied_ms?: number | null;
}

/** The PRIM engine's statuses that say where its link is (core/mirror/pure/link.ts SenderStatus). */
const SENDER_PHASES: ReadonlySet<string> = new Set<SenderStatus['state']>(['alone', 'connected', 'syncing', 'in_sync', 'lost']);

export class MirrorReplication implements ReplicationPort, MirrorControl {
  private prim: MirrorPrim | null = null;
  private second: MirrorSecond | null = null;
  private chain: Promise<void> = Promise.resolve();
  /** The machine listens while its replication is on; null when off. */
  private report: ((e: ReplicationReport) => void) | null = null;
  private role: Role | null = null;
  private last: MirrorStatus | null = null;
  /** PRIM: a session came up since the engine started or last went alone. */
  private sessionUp = false;
  private inSync = false;
  private disposed = false;
  /** A replication session with the peer is up now (PRIM: connected to the SECOND; SECOND: a PRIM connected). */
  private linkUp = false;
  /** Refused connections not logged yet (a flood must not write a line each). */
  private refusedPending = 0;
  private refusedLoggedAt_ms = -Infinity;
  /** When re-integration progress was last logged (null: no pass logged since in sync). */
  private progressLoggedAt_ms: number | null = null;
  /** ALONE reasons logged since the last connection: a SECOND whose failures alternate
   *  (a crash loop: refused, then a handshake timeout) logs each cause once, not every second. */
  private aloneReasonsLogged = new Set<string>();
  /** The module runner's FenceWanted sink (ports.ts onFenceWanted), and the newest token. */
  private fenceWant: ((token: number) => void) | null = null;
  private fenceToken = 0;
  /** When the engine started waiting for the fence (performance.now), null when it holds. */
  private fenceWaitSince_ms: number | null = null;
  /** When PRIM's journal was last seen emptied (monotonic ms); null while it is kept. */
  private journalEmptiedSince_ms: number | null = null;
  private fenceWarn: NodeJS.Timeout | undefined;

  constructor(private readonly d: MirrorReplicationDeps) {}

  // ---- ReplicationPort ----------------------------------------------------------------

  start(role: Role, report: (e: ReplicationReport) => void): void {
    this.role = role;
    this.report = report;
    if (role === 'receiver') {
      this.step('start SECOND engine', () => this.startSecond());
      return;
    }
    // The PRIM engine normally runs since before start_prim; a session already up is told now.
    this.step('start PRIM engine', async () => {
      if (!this.prim) await this.startPrim();
      if (this.role !== 'sender') return;
      if (this.sessionUp) this.tell({ type: 'ReplicationConnected' });
      if (this.inSync) this.tell({ type: 'ReplicationSynced' });
    });
  }

  stop(): void {
    const role = this.role;
    this.role = null;
    this.report = null;
    if (role === 'receiver') this.step('stop SECOND engine', () => this.stopSecond());
  }

  async beforeScript(script: string): Promise<void> {
    if (script !== 'start_prim') return;
    await this.run('start PRIM engine', async () => {
      if (this.second) await this.stopSecond(); // SECOND -> ALONE: its read-only binds go first
      if (!this.prim) await this.startPrim();
    });
  }

  async afterScript(script: string): Promise<void> {
    if (script !== 'stop_prim') return;
    await this.run('stop PRIM engine', () => this.stopPrim());
  }

  onFenceWanted(want: (token: number) => void): void {
    this.fenceWant = want;
  }

  /** The machine's answer; an older token (the engine asked again since, or was replaced) is moot. */
  fenced(token: number): void {
    if (token !== this.fenceToken || !this.prim) return;
    const waited_ms = this.fenceWaitSince_ms === null ? 0 : Math.round(performance.now() - this.fenceWaitSince_ms);
    this.d.log.info({ token, waited_ms }, 'mirror: SECOND fenced (its copy is marked out of date or it is lost): held sync calls return');
    this.prim.fenced();
  }

  /** The machine's refusal (the fence cannot hold): held sync calls fail, later ones at once. */
  fenceRefused(token: number, reason: string): void {
    if (token !== this.fenceToken || !this.prim) return;
    this.d.log.warn({ token, code: 'HAKIT_E_MIRROR_FENCE_REFUSED' }, `mirror: the fence cannot hold (${reason}): held sync calls fail`);
    clearTimeout(this.fenceWarn);
    this.fenceWaitSince_ms = null; // nothing waits any more: they failed
    this.prim.refuseFence(reason);
  }

  /** How long sync calls have waited for the fence; null when they need not (the link may fence by itself). */
  private fenceWait(): number | null {
    if (!this.prim?.needsFence) this.fenceWaitSince_ms = null;
    return this.fenceWaitSince_ms === null ? null : Math.round(performance.now() - this.fenceWaitSince_ms);
  }

  /** How long PRIM's journal has been emptied (a record its disk refused); null while it is kept. */
  private journalEmptied(): number | null {
    if (!this.prim?.journalProblem) this.journalEmptiedSince_ms = null;
    else this.journalEmptiedSince_ms ??= performance.now();
    return this.journalEmptiedSince_ms === null ? null : Math.round(performance.now() - this.journalEmptiedSince_ms);
  }

  peerLost(): void {
    if (!this.prim) return;
    this.d.log.warn({}, 'mirror: SECOND lost by the heartbeats: the replication link gives up its session');
    this.prim.peerLost();
  }

  private wantFence(): void {
    this.fenceToken++;
    if (this.fenceWait() === null) this.fenceWaitSince_ms = performance.now();
    this.d.log.info({ token: this.fenceToken }, 'mirror: PRIM writes without SECOND: sync calls wait until SECOND is fenced');
    this.fenceWant?.(this.fenceToken);
    clearTimeout(this.fenceWarn);
    const token = this.fenceToken;
    this.fenceWarn = setTimeout(() => {
      const waited_ms = token === this.fenceToken ? this.fenceWait() : null;
      if (waited_ms === null) return;
      this.d.log.warn({ code: 'HAKIT_E_MIRROR_FENCE_WAIT', waited_ms }, 'mirror: sync calls still wait for the fence: the peer still announces a complete copy (check the peer\'s hakitd and the heartbeat LANs)');
    }, FENCE_WAIT_WARN_MS);
    this.fenceWarn.unref();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.fenceWarn);
    this.report = null;
    await this.run('release engine', async () => {
      await this.stopPrim();
      await this.stopSecond();
    });
  }

  // ---- MirrorControl ------------------------------------------------------------------

  async verify(): Promise<TreeDifference[]> {
    return this.primOrThrow('rfsverify').verify();
  }

  async verifyReport(): Promise<VerifyReport> {
    return this.primOrThrow('rfsverify').verifyReport();
  }

  async fullsync(): Promise<void> {
    await this.primOrThrow('fullsync').fullsync();
  }

  /**
   * The link's real state for monitoring: null when no engine runs; 'down' from the moment
   * the engine reports the session lost (the machine may still say PRIM while it retries).
   */
  link(): 'up' | 'down' | null {
    if (!this.prim && !this.second) return null;
    return this.linkUp ? 'up' : 'down';
  }

  status(): MirrorReplicationStatus {
    return {
      engine: this.prim ? 'prim' : this.second ? 'second' : 'none',
      last: this.last,
      copy_complete: this.second ? this.second.complete && (this.d.moduleCopyComplete?.() ?? true) : null,
      bytes_applied: this.second ? this.second.receiver.bytesApplied : null,
      ops_applied: this.second ? this.second.receiver.opsApplied : null,
      foreign_refused: this.second ? (this.second.receiver.foreignRefused ?? 0) : null,
      link: this.link(),
      fence_wait_ms: this.fenceWait(),
      journal_emptied_ms: this.journalEmptied(),
    };
  }

  // ---- engine lifecycle -----------------------------------------------------------------

  private primOrThrow(what: string): MirrorPrim {
    if (!this.prim) {
      const where = this.second ? 'this node is SECOND' : 'the engine is not running here';
      throw new HakitError('HAKIT_E_REPL_NOT_PRIM', `${what} runs on the PRIM (or ALONE) node of module ${this.d.spec.module}: ${where}`, `module ${this.d.spec.module}`);
    }
    return this.prim;
  }

  /** Runs one lifecycle step after the previous ones; rejects with its error. */
  private run(what: string, f: () => Promise<void>): Promise<void> {
    const p = this.chain.then(async () => {
      if (this.disposed && what !== 'release engine') return;
      await f();
    });
    this.chain = p.catch((e: unknown) => this.d.log.error({ code: isHakitError(e) ? e.code : 'HAKIT_E_REPL_START', err: e instanceof Error ? e.message : String(e) }, `mirror: ${what} failed`));
    return p;
  }

  /** Same, for effects that cannot wait (the machine hears of a failure as ReplicationLost). */
  private step(what: string, f: () => Promise<void>): void {
    void this.run(what, f).catch((e: unknown) => this.tell({ type: 'ReplicationLost', reason: `${what} failed: ${e instanceof Error ? e.message : String(e)}` }));
  }

  private tell(e: ReplicationReport): void {
    this.report?.(e);
  }

  private async startPrim(): Promise<void> {
    this.sessionUp = false;
    this.inSync = false;
    let prim: MirrorPrim;
    try {
      prim = await this.d.engine.startPrim(this.d.spec, this.d.peer);
    } catch (e) {
      throw new HakitError('HAKIT_E_REPL_START', `PRIM engine: ${e instanceof Error ? e.message : String(e)}`, `module ${this.d.spec.module}`);
    }
    this.prim = prim;
    prim.on('status', (s) => this.onPrimStatus(s));
    prim.on('fence_wanted', () => this.wantFence());
    if (prim.needsFence) this.wantFence(); // asked while the engine started, before this listener
    // The FUSE capture's problems are plain errors; the journal's carry their own code.
    const bookkeeping = (e: HakitError): void => {
      this.d.log.warn({ code: e.code, err: e.message, where: e.where }, 'mirror: PRIM bookkeeping problem');
      // Told once per break: a break after a rewrite nobody asked about starts a new span.
      this.journalEmptiedSince_ms = performance.now();
    };
    prim.on('problem', (e) => {
      if (e instanceof HakitError) bookkeeping(e);
      else this.d.log.warn({ code: 'HAKIT_E_MIRROR_FUSE', err: e.message }, 'mirror: FUSE capture problem');
    });
    // Emptied while the engine started (its disk already full), before this listener.
    if (prim.journalProblem) bookkeeping(prim.journalProblem);
    // Reported while the engine started, before these listeners: its ALONE reason (what
    // SECOND's return will cost) is what state -v, the API and the console show until the
    // link reports.
    const started = prim.lastStatus;
    if (started && this.last === null) this.onPrimStatus(started);
    this.d.log.info({ dirs: this.d.spec.dirs, peer: `${this.d.peer.host}:${this.d.peer.port}`, mode: this.d.spec.mode ?? 'sync' }, 'mirror: PRIM engine started (capture mounted)');
  }

  private async stopPrim(): Promise<void> {
    const p = this.prim;
    if (!p) return;
    this.prim = null;
    p.removeAllListeners('status');
    p.removeAllListeners('fence_wanted');
    p.removeAllListeners('problem');
    this.journalEmptiedSince_ms = null;
    this.aloneReasonsLogged.clear();
    this.linkUp = false;
    this.sessionUp = false;
    this.inSync = false;
    // An engine's last status (an old PRIM's 'in_sync', a SECOND's 'lost') ends with it: the
    // next engine's own (a PRIM's start reason, startPrim) replaces it.
    this.last = null;
    await p.stop();
    this.d.log.info({}, 'mirror: PRIM engine stopped (capture unmounted, journal closed)');
  }

  private async startSecond(): Promise<void> {
    if (this.prim) await this.stopPrim(); // never two engines on one directory
    if (this.second) return;
    let second: MirrorSecond;
    try {
      second = await this.d.engine.startSecond(this.d.spec, this.d.listen, { readonly_copy: true, before_syncing: () => this.beforeSyncing() });
    } catch (e) {
      throw new HakitError('HAKIT_E_REPL_START', `SECOND engine: ${e instanceof Error ? e.message : String(e)}`, `module ${this.d.spec.module}`);
    }
    this.second = second;
    second.on('status', (s) => this.onSecondStatus(s));
    // A copy that is not complete (e.g. acknowledged writes lost with SECOND's page cache in a
    // reboot, docs/mirror.md "Durability contract") must not stay eligible to take over until
    // PRIM's next pass marks it so: the machine persists copyComplete=false now.
    if (!second.complete && this.role === 'receiver') this.tell({ type: 'ReplicationConnected' });
    this.d.log.info({ listen: `${this.d.listen.host}:${this.d.listen.port}`, complete: second.complete }, 'mirror: SECOND engine listening (copy read-only to applications)');
  }

  private async stopSecond(): Promise<void> {
    const s = this.second;
    if (!s) return;
    this.second = null;
    this.linkUp = false;
    this.last = null; // as in stopPrim
    s.removeAllListeners('status');
    await s.stop();
    this.d.log.info({}, 'mirror: SECOND engine stopped');
  }

  /**
   * SECOND, PRIM starts re-integrating: the machine persists copyComplete=false on
   * ReplicationConnected; the receiver applies nothing more until that record is durable.
   */
  private async beforeSyncing(): Promise<void> {
    if (this.role !== 'receiver' || !this.report) throw new Error('the module is not SECOND here');
    this.tell({ type: 'ReplicationConnected' });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the module machine did not record "copy incomplete" within ${SYNCING_DURABLE_TIMEOUT_MS} ms`)), SYNCING_DURABLE_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.d.settled(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- status mapping ---------------------------------------------------------------------

  private onPrimStatus(s: MirrorStatus): void {
    // `last` is the sender's link phase (what `state -v`, the API and the console word); a
    // watch-mode error is logged below and must not read as ALONE there.
    if (SENDER_PHASES.has(s.state)) this.last = s;
    switch (s.state) {
      case 'connected':
        this.aloneReasonsLogged.clear();
        this.sessionUp = true;
        this.linkUp = true;
        this.d.log.info({ peer: s.peer }, 'mirror: connected to SECOND');
        this.tell({ type: 'ReplicationConnected' });
        return;
      case 'syncing': {
        this.inSync = false;
        // Progress in the module log at info level: once when a pass starts, then every
        // PROGRESS_LOG_INTERVAL_MS (the engine reports every 500 ms; `state -v` shows each).
        const now = performance.now();
        const first = this.progressLoggedAt_ms === null;
        if (first || now - (this.progressLoggedAt_ms ?? 0) >= PROGRESS_LOG_INTERVAL_MS) {
          this.progressLoggedAt_ms = now;
          this.d.log.info({ mode: s.mode, shipped_bytes: s.shipped_bytes, pending_bytes: s.pending_bytes, pending_files: s.pending_files, rate_bytes_per_s: s.rate_bytes_per_s, eta_s: s.eta_s }, first ? 'mirror: re-integration started' : 'mirror: re-integrating');
        }
        return;
      }
      case 'in_sync':
        this.progressLoggedAt_ms = null;
        this.inSync = true;
        this.linkUp = true;
        this.d.log.info({}, 'mirror: SECOND in sync');
        this.tell({ type: 'ReplicationSynced' });
        return;
      case 'alone': {
        this.progressLoggedAt_ms = null;
        const wasUp = this.sessionUp;
        this.sessionUp = false;
        this.linkUp = false;
        this.inSync = false;
        const said = this.aloneReasonsLogged.has(s.reason);
        if (!said && this.aloneReasonsLogged.size < MAX_ALONE_REASONS_LOGGED) this.aloneReasonsLogged.add(s.reason);
        if (wasUp || !said) this.d.log[wasUp ? 'warn' : 'info']({ code: s.code, reason: s.reason }, 'mirror: ALONE (changes journaled for the SECOND)');
        if (wasUp) this.tell({ type: 'ReplicationLost', reason: s.reason });
        return;
      }
      case 'lost':
        this.linkUp = false;
        this.d.log.warn({ code: s.code, err: s.message }, 'mirror: link to SECOND lost, trying to resume');
        return;
      default:
        this.d.log.warn({ status: s }, 'mirror: engine status');
    }
  }

  /** At most one line per REFUSED_LOG_INTERVAL_MS, with the count of refusals since the last. */
  private logRefused(code: string, message: string): void {
    this.refusedPending++;
    const now = performance.now();
    if (now - this.refusedLoggedAt_ms < REFUSED_LOG_INTERVAL_MS) return;
    this.d.log.error({ code, err: message, refused: this.refusedPending, interval_ms: REFUSED_LOG_INTERVAL_MS }, 'mirror: replication connection refused (count since the last such line)');
    this.refusedPending = 0;
    this.refusedLoggedAt_ms = now;
  }

  private onSecondStatus(s: MirrorStatus): void {
    this.last = s;
    switch (s.state) {
      case 'second_connected':
        this.linkUp = true;
        this.d.log.info({}, 'mirror: PRIM connected');
        return;
      case 'second_complete':
        this.d.log.info({ complete: s.complete }, s.complete ? 'mirror: copy in sync with PRIM' : 'mirror: re-integration started, copy incomplete');
        if (s.complete) this.tell({ type: 'ReplicationSynced' });
        return;
      case 'lost':
        this.linkUp = false;
        this.d.log.warn({ code: s.code, err: s.message }, 'mirror: PRIM connection lost');
        this.tell({ type: 'ReplicationLost', reason: s.message });
        return;
      case 'refused':
        this.logRefused(s.code, s.message);
        return;
      case 'apply_error':
        this.d.log.error({ code: s.code, err: s.message }, 'mirror: cannot apply to the copy');
        return;
      default:
        this.d.log.info({ status: s }, 'mirror: engine status');
    }
  }
}
