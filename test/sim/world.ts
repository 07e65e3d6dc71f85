// The simulated cluster: N nodes running the real pure membership and module machines, a
// witness running the real pure witness step, a fake network (delay, loss, duplication,
// reordering by random delay, one-way and two-way cuts per LAN), per-node clock drift, fake
// scripts, a fake mirror engine and crash/restart. Everything random comes from one Prng.
import { initMembership, membershipStep, type MembershipState } from '../../core/membership/pure/membership';
import type { MembershipEffect, NodeId, ReceivedHeartbeat } from '../../core/membership/pure/types';
import { initWitness, witnessStep, type WitnessInput, type WitnessReply, type WitnessState } from '../../core/witness/pure/witness';
import { witnessAfterRestart } from '../../core/witness/pure/restart';
import { addAnswer, decide, majorityOf, newTally, type QuorumTally } from '../../core/witness/pure/quorum';
import { createMachine, step, type ModuleMachine } from '../../core/module/pure/machine';
import { defaultPolicy, HEARTBEAT_PROFILES, type ModulePolicy } from '../../core/module/pure/policy';
import { INITIAL_PERSISTED, type LeftoverState, type ModuleEffect, type ModuleEvent, type ModuleMode, type OperatorCommand, type PersistedModuleState, type ScriptName, type TimerId } from '../../core/module/pure/types';
import { Prng } from './prng';
import { EventQueue } from './queue';

export const MODULE = 'app';
/** Actions of a takeover from a lost peer (core/module/pure/mirror.ts) that manual failover forbids. */
const UNAPPROVED_TAKEOVERS: ReadonlySet<string> = new Set(['failover', 'failover: peer lost']);
export const WITNESS: NodeId = 'w';

export interface FaultRates {
  loss: number;
  dup: number;
  /** Extra delay spikes (reordering) happen with this probability. */
  spike: number;
  maxDelay_ms: number;
  /**
   * Probability that a witness reply is held back by up to WITNESS_LATE_MAX_PERIODS renewal
   * periods (a starved CPU on the witness or the node): the node must accept it, counted from
   * its request's send time, without ever believing in a lease the witness no longer holds.
   */
  witnessLate: number;
  /**
   * Timers fire up to this much early (Node counts a timer from the event loop's cached time,
   * which lags the monotonic clock under CPU load); 0: on time.
   */
  timerEarly_ms: number;
  /** Probability that a start script (or a first stop attempt) fails. */
  scriptFail: number;
  maxScript_ms: number;
}

export const CALM: FaultRates = { loss: 0, dup: 0, spike: 0, maxDelay_ms: 5, witnessLate: 0, timerEarly_ms: 0, scriptFail: 0, maxScript_ms: 400 };
export const ROUGH: FaultRates = { loss: 0.05, dup: 0.03, spike: 0.05, maxDelay_ms: 20, witnessLate: 0.1, timerEarly_ms: 20, scriptFail: 0.03, maxScript_ms: 800 };
/** A late witness reply arrives up to this many renewal periods after it was sent. */
export const WITNESS_LATE_MAX_PERIODS = 5;

export interface WorldOptions {
  readonly seed: number;
  readonly mode: ModuleMode;
  readonly nodes: number;
  readonly witness: boolean;
  readonly lans: number;
  readonly profile: 'default' | 'fast';
  /** Largest clock-rate error of a node (e.g. 0.005 = 0.5 %). */
  readonly maxDrift: number;
  readonly policy?: Partial<ModulePolicy>;
  /** Arbitrators with a majority rule (docs/geo.md); default 1 (the witness alone). */
  readonly arbitrators?: number;
  /**
   * The replication link's frames in flight, 1..this many ms each: the SECOND hears a session
   * start after the PRIM (the real PRIM hears `connected` at WELCOME, the SECOND marks its copy
   * incomplete at the STATE syncing behind it), and the PRIM hears in_sync after the SECOND
   * marked its copy complete (STATE in_sync, SECOND persists, ACK, PRIM rewrites its journal).
   * A session lost meanwhile never tells the late side. 0 or absent: both hear each at once
   * (the schedules the pinned seeds were found with).
   */
  readonly linkDelay_ms?: number;
}

interface Arbitrator {
  readonly id: NodeId;
  state: WitnessState;
  readonly drift: number;
}

interface SimNode {
  readonly id: NodeId;
  alive: boolean;
  incarnation: number;
  readonly drift: number;
  readonly offset: number;
  persisted: PersistedModuleState;
  machine: ModuleMachine | null;
  membership: MembershipState;
  hbVersion: number;
  seq: number;
  timers: Map<TimerId, number>;
  nextToken: number;
  scriptRun: number | null;
  announced: string;
  vip: boolean;
  app: boolean;
  /** 'draining': a PRIM whose machine stopped its replication (a stop or a hand-over): as in
   *  replication-mirror.ts, only the reporting stopped; the engine ships the stopping
   *  application's writes (its shutdown fsyncs) until stop_prim ends. */
  replRole: 'off' | 'sender' | 'draining' | 'receiver';
  /** Ground truth: how many acknowledged writes this node's copy holds. */
  version: number;
  /** Mirror PRIM engine: sync calls return without SECOND (docs/mirror.md, "The ALONE fence"):
   *  the machine answered the newest FenceWanted, token `fenceToken`. */
  fenced: boolean;
  fenceToken: number;
  /** The newest FenceWanted is not answered yet (granted or refused): sync calls made without
   *  SECOND are held, and an application stopping meanwhile waits in its shutdown fsync. */
  fencePending: boolean;
  /** What the node's dead daemon announced last (its run-dir record), for the next boot to adopt. */
  leftover: LeftoverState | undefined;
  /** Several arbitrators: each request's answers so far (the node holds a ticket on a majority). */
  tallies: Map<number, QuorumTally>;
}

type SimEvent =
  | { k: 'tick'; node: NodeId; inc: number }
  | { k: 'hb'; to: NodeId; hb: ReceivedHeartbeat }
  | { k: 'timer'; node: NodeId; inc: number; id: TimerId; token: number }
  | { k: 'script'; node: NodeId; inc: number; run_id: number; script: ScriptName; code: number | null; timedOut: boolean }
  | { k: 'witness-in'; input: WitnessInput; inc: number; arb: number }
  | { k: 'witness-out'; to: NodeId; reply: WitnessReply; inc: number; arb: number }
  | { k: 'synced'; session: number }
  /** The PRIM's side of in_sync, the SECOND's side of a session start (WorldOptions.linkDelay_ms). */
  | { k: 'synced-ack'; session: number }
  | { k: 'session-start'; session: number }
  /** The PRIM runner starts reporting again (StartReplication sender): it tells a session still up. */
  | { k: 'report'; node: NodeId; inc: number }
  | { k: 'restart'; node: NodeId }
  | { k: 'write' }
  | { k: 'repl' }
  | { k: 'fence-wanted'; node: NodeId; inc: number; token: number };

interface Session {
  readonly id: number;
  readonly sender: NodeId;
  readonly receiver: NodeId;
  /** SECOND heard the session start (STATE syncing): its copy is marked incomplete. */
  receiverStarted: boolean;
  /** SECOND marked its copy complete (in_sync reached it). */
  receiverSynced: boolean;
  /** The PRIM heard in_sync: its sync calls return on SECOND's ACKs. */
  synced: boolean;
}

export interface Violation {
  readonly t: number;
  readonly what: string;
}

const WRITE_PERIOD_MS = 100;
/** More events than this without simulated time moving is a livelock. */
const MAX_EVENTS_PER_INSTANT = 10_000;
const REPL_CHECK_MS = 50;
const SYNC_MIN_MS = 100;
const SYNC_MAX_MS = 1500;
/** stop_prim's timeout as the fence-held application meets it (the default, 120 s, is far
 *  beyond the liveness bound, so a hang fails the run either way). */
const STOP_PRIM_HELD_LIMIT_MS = 120_000;
const HELD_RECHECK_MS = 50;

export class World {
  readonly rng: Prng;
  /** The replication link's delays (WorldOptions.linkDelay_ms): a stream of their own, so that schedules without them replay as before. */
  private readonly linkRng: Prng;
  readonly opts: WorldOptions;
  readonly policy: ModulePolicy;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly ids: NodeId[];
  now = 0;
  rates: FaultRates = CALM;
  readonly trace: string[] = [];
  readonly violations: Violation[] = [];
  readonly codes = new Map<string, number>();
  /** Cut directed links: `${from}>${to}@${lan}` (lan 'w' for the witness link). */
  readonly cuts = new Set<string>();
  private q = new EventQueue<SimEvent>();
  /** The arbitrators; the first is WITNESS ('w'), the others 'w2', 'w3', … */
  readonly arbs: Arbitrator[] = [];
  private session: Session | null = null;
  private nextSession = 1;
  private globalMax = 0;
  verbose = false;

  constructor(opts: WorldOptions) {
    this.opts = opts;
    this.rng = new Prng(opts.seed);
    this.linkRng = new Prng(opts.seed + 0x5eed);
    this.ids = Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`);
    const profile = HEARTBEAT_PROFILES[opts.profile];
    this.policy = defaultPolicy(MODULE, opts.mode, this.ids, {
      hasWitness: opts.witness,
      heartbeat: profile,
      max_clock_drift_ratio: Math.max(opts.maxDrift, 0.001),
      ...opts.policy,
    });
    this.arbs.push({ id: WITNESS, state: initWitness(this.policy.witness_lease_ms), drift: this.drift() });
    for (const id of this.ids) {
      const node: SimNode = {
        id,
        alive: false,
        incarnation: 0,
        drift: this.drift(),
        offset: this.rng.int(0, 1_000_000),
        persisted: INITIAL_PERSISTED,
        machine: null,
        membership: this.freshMembership(id),
        hbVersion: 0,
        seq: 0,
        timers: new Map(),
        nextToken: 1,
        scriptRun: null,
        announced: '',
        vip: false,
        app: false,
        replRole: 'off',
        version: 0,
        fenced: false,
        fenceToken: 0,
        fencePending: false,
        leftover: undefined,
        tallies: new Map(),
      };
      this.nodes.set(id, node);
    }
    // Drawn after the nodes', so that runs with one arbitrator replay as before.
    for (let i = 2; i <= (opts.arbitrators ?? 1); i++) this.arbs.push({ id: `w${i}`, state: initWitness(this.policy.witness_lease_ms), drift: this.drift() });
    this.q.push(WRITE_PERIOD_MS, { k: 'write' });
    this.q.push(REPL_CHECK_MS, { k: 'repl' });
    for (const id of this.ids) this.boot(id);
  }

  private drift(): number {
    return (this.rng.next() * 2 - 1) * this.opts.maxDrift;
  }

  private freshMembership(self: NodeId): MembershipState {
    const lans = Array.from({ length: this.opts.lans }, (_, i) => i);
    return initMembership({
      self,
      profile: HEARTBEAT_PROFILES[this.opts.profile],
      peers: this.ids.filter((p) => p !== self).map((node) => ({ node, lans })),
      modules: [{ module: MODULE, nodes: this.ids }],
    });
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  local(n: SimNode): number {
    return n.offset + Math.floor(this.now * (1 + n.drift));
  }

  private toGlobal(n: SimNode, at_local: number): number {
    return Math.max(this.now, Math.ceil((at_local - n.offset) / (1 + n.drift)));
  }

  log(line: string): void {
    this.trace.push(`${(this.now / 1000).toFixed(3).padStart(8)} ${line}`);
    if (this.verbose) console.log(this.trace[this.trace.length - 1]);
  }

  // ------------------------------------------------------------------ node lifecycle

  private boot(id: NodeId): void {
    const n = this.node(id);
    n.alive = true;
    n.incarnation += 1;
    n.membership = this.freshMembership(id);
    n.machine = createMachine(id, this.policy, n.persisted);
    n.timers.clear();
    n.tallies = new Map();
    n.scriptRun = null;
    n.announced = '';
    this.q.push(this.now + this.rng.int(0, this.policy.heartbeat.period_ms), { k: 'tick', node: id, inc: n.incarnation });
    const leftover = n.leftover;
    n.leftover = undefined;
    this.feed(n, leftover === undefined ? { type: 'Booted' } : { type: 'Booted', leftover });
  }

  /**
   * Only the daemon dies (kill -9, crash, watchdog); the machine runs on. A farm application
   * keeps running; a mirror application cannot write any more (its capture died with the
   * daemon: the kernel refuses its writes). The VIP is gone: it expires in the kernel before
   * the peers' timeout (fencing by expiry), and a new daemon drops any it finds. The next
   * boot (restart) adopts the module from its last announcement.
   */
  daemonCrash(id: NodeId): void {
    const n = this.node(id);
    if (!n.alive) return;
    this.log(`${id} DAEMON CRASH (the machine runs on)`);
    const a = n.machine === null || n.announced === '' ? null : (JSON.parse(n.announced) as { state: LeftoverState['state']; status: LeftoverState['status'] });
    n.leftover = a === null || a.state === 'STOP' ? undefined : { state: a.state, status: a.status };
    const leftover = n.leftover;
    const farmApp = this.policy.mode !== 'mirror' && n.app;
    this.crash(id);
    n.leftover = leftover;
    n.app = farmApp;
  }

  crash(id: NodeId): void {
    const n = this.node(id);
    if (!n.alive) return;
    this.log(`${id} CRASH`);
    n.leftover = undefined;
    n.alive = false;
    n.machine = null;
    n.app = false;
    n.vip = false;
    n.replRole = 'off';
    n.fenced = false;
    n.fencePending = false;
    n.scriptRun = null;
    n.timers.clear();
  }

  restart(id: NodeId): void {
    if (this.node(id).alive) return;
    this.log(`${id} RESTART`);
    this.boot(id);
  }

  command(id: NodeId, command: OperatorCommand): ModuleEffect[] {
    const n = this.node(id);
    if (!n.alive || n.machine === null) return [];
    const effects = this.feed(n, { type: 'Command', command });
    for (const e of effects) {
      if (e.type === 'Refuse') this.log(`${id} ${command.kind}: refused ${e.code}`);
      if (e.type === 'CommandAccepted') this.log(`${id} ${command.kind}: accepted`);
    }
    return effects;
  }

  feedResource(id: NodeId, resource: string, state: 'up' | 'down'): void {
    const n = this.node(id);
    this.log(`${id} resource ${resource} ${state}`);
    this.feed(n, { type: 'ResourceChanged', resource, state });
  }

  // ------------------------------------------------------------------ network

  cut(a: NodeId, b: NodeId, opts: { lan?: number | 'w'; oneway?: boolean } = {}): void {
    const lans: (number | 'w')[] = opts.lan !== undefined ? [opts.lan] : this.isArbitrator(b) || this.isArbitrator(a) ? ['w'] : Array.from({ length: this.opts.lans }, (_, i) => i);
    if (!this.isArbitrator(a) && !this.isArbitrator(b)) this.everCut = true;
    for (const lan of lans) {
      this.cuts.add(`${a}>${b}@${lan}`);
      if (!opts.oneway) this.cuts.add(`${b}>${a}@${lan}`);
    }
    this.log(`cut ${a}${opts.oneway ? '->' : '<->'}${b}${opts.lan !== undefined ? ` lan ${opts.lan}` : ''}`);
  }

  heal(): void {
    this.cuts.clear();
    this.log('heal');
  }

  /** An arbitrator restarts: it keeps only its durable record (core/witness/pure/restart.ts). */
  restartWitness(index = 0): void {
    const a = this.arbs[index];
    if (a === undefined) throw new Error(`no arbitrator ${index}`);
    a.state = witnessAfterRestart(a.state, this.arbNow(a));
    this.log(`${a.id === WITNESS ? 'witness' : `arbitrator ${a.id}`} RESTART`);
  }

  isArbitrator(id: NodeId): boolean {
    return this.arbs.some((a) => a.id === id);
  }

  private arbNow(a: Arbitrator): number {
    return Math.floor(this.now * (1 + a.drift));
  }

  private linkUp(from: NodeId, to: NodeId, lan: number | 'w'): boolean {
    return !this.cuts.has(`${from}>${to}@${lan}`);
  }

  private send(from: NodeId, to: NodeId, lan: number | 'w', ev: SimEvent): void {
    if (!this.linkUp(from, to, lan)) return;
    const r = this.rates;
    const copies = this.rng.chance(r.loss) ? 0 : this.rng.chance(r.dup) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const spike = this.rng.chance(r.spike) ? this.rng.int(50, 300) : 0;
      const late = this.isArbitrator(from) && r.witnessLate > 0 && this.rng.chance(r.witnessLate) ? this.rng.int(1, WITNESS_LATE_MAX_PERIODS * this.policy.witness_renew_ms) : 0;
      this.q.push(this.now + this.rng.int(1, r.maxDelay_ms) + spike + late, ev);
    }
  }

  // ------------------------------------------------------------------ running

  runUntil(t_ms: number, stop?: () => boolean): boolean {
    let same = 0;
    for (;;) {
      if (stop?.()) return true;
      const at = this.q.peekTime();
      if (at === undefined || at > t_ms) break;
      const e = this.q.pop();
      if (e === undefined) break;
      same = e.at === this.now ? same + 1 : 0;
      if (same > MAX_EVENTS_PER_INSTANT) {
        // A machine that keeps setting a timer in the past spins (a busy loop in the daemon).
        this.violation(`event storm: more than ${MAX_EVENTS_PER_INSTANT} events at t=${this.now} (last: ${JSON.stringify(e.item).slice(0, 120)})`);
        return true;
      }
      this.now = e.at;
      this.handle(e.item);
      this.check();
    }
    this.now = Math.max(this.now, t_ms);
    return stop?.() ?? false;
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  private handle(e: SimEvent): void {
    switch (e.k) {
      case 'tick':
        return this.onTick(e.node, e.inc);
      case 'hb': {
        const n = this.node(e.to);
        if (n.alive) this.feedMembership(n, { type: 'HeartbeatReceived', heartbeat: e.hb });
        return;
      }
      case 'timer': {
        const n = this.node(e.node);
        if (!n.alive || n.incarnation !== e.inc || n.timers.get(e.id) !== e.token) return;
        n.timers.delete(e.id);
        this.feed(n, { type: 'TimerFired', id: e.id });
        return;
      }
      case 'script': {
        const n = this.node(e.node);
        if (!n.alive || n.incarnation !== e.inc || n.scriptRun !== e.run_id) return;
        if (this.heldByFence(n, e)) return;
        n.scriptRun = null;
        const stopOk = e.code === 0 || e.script === 'stop_prim' || e.script === 'stop_both';
        if ((e.script === 'stop_prim' || e.script === 'stop_both') && stopOk) n.app = e.code === 0 ? false : n.app;
        // replication-mirror.ts afterScript: the PRIM engine stops once stop_prim ended.
        if (e.script === 'stop_prim' && n.replRole === 'draining') n.replRole = 'off';
        this.feed(n, { type: 'ScriptExited', run_id: e.run_id, script: e.script, code: e.code, timedOut: e.timedOut });
        return;
      }
      case 'witness-in': {
        const a = this.arbs[e.arb];
        if (a === undefined) return;
        const r = witnessStep(a.state, e.input, this.arbNow(a));
        a.state = r.state;
        if (this.verbose && r.reply !== null) console.log(`   [${a.id === WITNESS ? 'witness' : a.id}] ${e.input.node} epoch ${e.input.type === 'Request' ? e.input.epoch : '-'} -> ${r.reply.reason} ${r.reply.epoch}`);
        // The reply goes to the socket the request came from: a restarted node has a new one.
        if (r.reply !== null) this.send(a.id, r.reply.node, 'w', { k: 'witness-out', to: r.reply.node, reply: r.reply, inc: e.inc, arb: e.arb });
        return;
      }
      case 'witness-out': {
        const n = this.node(e.to);
        if (!n.alive || n.incarnation !== e.inc) return;
        if (this.arbs.length === 1) {
          this.feed(n, { type: 'WitnessReply', request_id: e.reply.request_id, granted: e.reply.granted, lease_ms: e.reply.lease_ms, epoch: e.reply.epoch });
          return;
        }
        this.onArbitratorAnswer(n, e.arb, e.reply);
        return;
      }
      case 'synced':
        return this.onSynced(e.session);
      case 'synced-ack':
        return this.onSyncedAck(e.session);
      case 'session-start':
        return this.onSessionStart(e.session);
      case 'report': {
        const n = this.node(e.node);
        const s = this.session;
        if (!n.alive || n.incarnation !== e.inc || n.replRole !== 'sender' || s === null || s.sender !== n.id) return;
        this.feed(n, { type: 'ReplicationConnected' });
        if (s.synced) this.feed(n, { type: 'ReplicationSynced' });
        return;
      }
      case 'restart':
        return this.restart(e.node);
      case 'fence-wanted': {
        const n = this.node(e.node);
        if (n.alive && n.incarnation === e.inc && n.fenceToken === e.token) this.feed(n, { type: 'FenceWanted', token: e.token });
        return;
      }
      case 'write':
        this.onWrite();
        this.q.push(this.now + WRITE_PERIOD_MS, { k: 'write' });
        return;
      case 'repl':
        this.onReplCheck();
        this.q.push(this.now + REPL_CHECK_MS, { k: 'repl' });
        return;
    }
  }

  scheduleRestart(id: NodeId, after_ms: number): void {
    this.q.push(this.now + after_ms, { k: 'restart', node: id });
  }

  private onTick(id: NodeId, inc: number): void {
    const n = this.node(id);
    if (!n.alive || n.incarnation !== inc) return;
    const a = n.machine === null ? null : n.announced;
    if (a !== null && a !== '') {
      n.hbVersion += 1;
      const payload = { version: n.hbVersion, modules: [JSON.parse(a)] };
      for (let lan = 0; lan < this.opts.lans; lan++) {
        for (const peer of this.ids) {
          if (peer === id) continue;
          n.seq += 1;
          this.send(id, peer, lan, { k: 'hb', to: peer, hb: { from: id, lan, incarnation: n.incarnation, seq: n.seq, payload } });
        }
      }
    }
    this.feedMembership(n, { type: 'Tick' });
    this.q.push(this.now + this.policy.heartbeat.period_ms, { k: 'tick', node: id, inc });
  }

  private feedMembership(n: SimNode, ev: Parameters<typeof membershipStep>[1]): void {
    const r = membershipStep(n.membership, ev, this.local(n));
    n.membership = r.state;
    for (const e of r.effects as MembershipEffect[]) {
      if (e.type === 'ModuleView') this.feed(n, { type: 'PeerView', peers: e.peers });
      else if (e.type === 'PeerDown' || e.type === 'PeerUp') this.log(`${n.id} sees ${e.node} ${e.type === 'PeerUp' ? 'up' : 'lost'}`);
    }
  }

  /** One event into a node's module machine; performs the effects in order, like the runner. */
  feed(n: SimNode, ev: ModuleEvent): ModuleEffect[] {
    if (n.machine === null) return [];
    let r;
    try {
      r = step(n.machine, ev, this.local(n));
    } catch (e) {
      this.violation(`${n.id}: assertion: ${(e as Error).message}`);
      return [];
    }
    const before = n.machine;
    n.machine = r.state;
    for (const eff of r.effects) this.perform(n, eff, before, ev);
    return [...r.effects];
  }

  private perform(n: SimNode, e: ModuleEffect, before: ModuleMachine, ev: ModuleEvent): void {
    switch (e.type) {
      case 'Persist':
        n.persisted = e.record;
        return;
      case 'RunScript': {
        if (e.script === 'start_prim' || e.script === 'start_both') this.onAppStart(n, before, ev, e.env.HAKIT_ACTION);
        // The PRIM engine starts before start_prim, without SECOND: it asks for the fence.
        if (e.script === 'start_prim' && this.policy.mode === 'mirror') this.wantFence(n);
        n.scriptRun = e.run_id;
        const failable = (e.script.startsWith('start') || e.script.startsWith('stop')) && e.args.length === 0;
        const code = failable && this.rng.chance(this.rates.scriptFail) ? 1 : 0;
        this.q.push(this.now + this.rng.int(5, this.rates.maxScript_ms), { k: 'script', node: n.id, inc: n.incarnation, run_id: e.run_id, script: e.script, code, timedOut: false });
        return;
      }
      case 'KillScripts':
        n.scriptRun = null;
        n.app = false;
        return;
      case 'SetVip':
        n.vip = e.present;
        return;
      case 'GratuitousArp':
        return;
      case 'StartReplication':
        n.replRole = e.role;
        // replication-mirror.ts start(): StopReplication on a PRIM only stopped the reporting;
        // a session still up is told again (after this step, as the runner's own step).
        if (e.role === 'sender') this.q.push(this.now, { k: 'report', node: n.id, inc: n.incarnation });
        return;
      case 'StopReplication':
        // On a PRIM only the reporting stops while the application still runs (replication-mirror.ts).
        n.replRole = n.replRole === 'sender' && n.app ? 'draining' : 'off';
        return;
      case 'ReplicationFence':
        if (e.token === n.fenceToken) {
          n.fenced = true;
          n.fencePending = false;
        }
        return;
      case 'ReplicationFenceRefused':
        // The held sync calls fail: nothing is acknowledged (n.fenced stays false), and a
        // stopping application waits no more.
        if (e.token === n.fenceToken) n.fencePending = false;
        return;
      case 'Announce': {
        const a = e.announcement;
        const old = n.announced === '' ? null : JSON.parse(n.announced);
        n.announced = JSON.stringify(a);
        if (old === null || old.state !== a.state || old.status !== a.status) this.log(`${n.id} ${a.state}/${a.status}`);
        return;
      }
      case 'SetTimer': {
        const token = n.nextToken++;
        n.timers.set(e.id, token);
        const early_ms = this.rates.timerEarly_ms > 0 && this.rng.chance(0.5) ? this.rng.int(1, this.rates.timerEarly_ms) : 0;
        this.q.push(Math.max(this.now, this.toGlobal(n, e.at_ms) - early_ms), { k: 'timer', node: n.id, inc: n.incarnation, id: e.id, token });
        return;
      }
      case 'CancelTimer':
        n.timers.delete(e.id);
        return;
      case 'WitnessRequest':
        if (this.arbs.length > 1) n.tallies.set(e.request_id, newTally(this.arbs.length, e.epoch));
        this.arbs.forEach((a, arb) => this.send(n.id, a.id, 'w', { k: 'witness-in', arb, inc: n.incarnation, input: { type: 'Request', module: MODULE, node: n.id, request_id: e.request_id, epoch: e.epoch, force: e.force, bump: e.bump } }));
        return;
      case 'WitnessRelease':
        this.arbs.forEach((a, arb) => this.send(n.id, a.id, 'w', { k: 'witness-in', arb, inc: n.incarnation, input: { type: 'Release', module: MODULE, node: n.id, up_to_request_id: e.up_to_request_id } }));
        return;
      case 'Log':
        if (e.code !== undefined) {
          this.codes.set(e.code, (this.codes.get(e.code) ?? 0) + 1);
          if (e.level === 'error') this.log(`${n.id} ${e.code}`);
        }
        if (this.verbose && e.level !== 'debug') console.log(`   [${n.id} ${e.level}] ${e.msg}`);
        return;
      case 'FarmMembers':
      case 'CommandAccepted':
      case 'Refuse':
        return;
    }
  }

  /**
   * Several arbitrators: the node's ticket client (core/witness/quorum-client.ts) answers the
   * machine once a majority granted, or once a majority can no longer grant; later answers to
   * the same request are dropped. The pure rule is core/witness/pure/quorum.ts.
   */
  private onArbitratorAnswer(n: SimNode, arb: number, reply: WitnessReply): void {
    const t = n.tallies.get(reply.request_id);
    if (t === undefined) return;
    const next = addAnswer(t, arb, { granted: reply.granted, lease_ms: reply.lease_ms, epoch: reply.epoch });
    const d = decide(next);
    if (d === null || d.kind === 'unanswered') {
      n.tallies.set(reply.request_id, next);
      return;
    }
    n.tallies.delete(reply.request_id);
    // Bounded: only requests a grant could still come for are kept (the machine's own bound).
    for (const id of [...n.tallies.keys()]) if (id < reply.request_id - 2 * 8) n.tallies.delete(id);
    if (this.verbose) console.log(`   [${n.id} tickets] request ${reply.request_id}: ${d.kind} by ${next.grants.length} of ${next.n} (lease ${d.grant.lease_ms} ms, epoch ${d.grant.epoch})`);
    this.feed(n, { type: 'WitnessReply', request_id: reply.request_id, ...d.grant });
  }

  // ------------------------------------------------------------------ ground truth

  /** stop_prim runs whose end the fence put off (heldByFence), since when. */
  private readonly heldSince = new Map<string, number>();

  /** Ever a cut between two nodes (without a witness, both sides may then write: histories diverge). */
  everCut = false;

  private onAppStart(n: SimNode, before: ModuleMachine, ev: ModuleEvent, action: string): void {
    n.app = true;
    if (this.policy.mode !== 'mirror') return;
    // Manual failover (docs/invariants.md): a takeover from a lost peer needs an approval.
    if (this.policy.failover_mode === 'manual' && UNAPPROVED_TAKEOVERS.has(action)) {
      this.violation(`${n.id} took over from a lost peer without approval (manual failover, action "${action}")`);
    }
    // What the node knew BEFORE this step (the step itself persists copyComplete when it serves).
    const operator = ev.type === 'Command' && (ev.command.kind === 'prim' || ev.command.kind === 'primforce');
    const forced = before.forced || before.forceRequested || (ev.type === 'Command' && ev.command.kind === 'primforce');
    const known = before.persisted.copyComplete || before.primRequested || operator || before.state === 'ALONE' || before.state === 'PRIM';
    if (!known && !forced) this.violation(`${n.id} starts the application with a copy it does not know to be complete`);
    const comparable = this.opts.witness || !this.everCut;
    if (comparable && !forced && n.version < this.globalMax) {
      this.violation(`${n.id} starts the application missing acknowledged writes (has ${n.version}, newest ${this.globalMax})`);
    }
  }

  /**
   * The application writes and syncs whenever it runs on a serving node; what makes its sync
   * call return (an acknowledged write) is the data path's rule, not the module's status: the
   * SECOND holds it (a synced session), or the fence holds (the machine answered FenceWanted).
   */
  private onWrite(): void {
    if (this.policy.mode !== 'mirror') return;
    for (const n of this.nodes.values()) {
      const m = n.machine;
      if (!n.alive || !n.app || m === null || (m.state !== 'ALONE' && m.state !== 'PRIM' && n.replRole !== 'draining')) continue;
      const s = this.session;
      const mine = s !== null && s.sender === n.id;
      // Once the pass is done (in_sync sent), every op ships live and a sync call returns on
      // SECOND's ACK (core/mirror/sender.ts sync): also before the PRIM hears in_sync, and
      // not on a fence granted earlier (that one covered the pass's pending ranges only).
      const gap = mine && s.receiverSynced && !s.synced;
      const viaSecond = mine && (s.synced || (gap && this.node(s.receiver).alive && this.linkUp(n.id, s.receiver, 0) && this.linkUp(s.receiver, n.id, 0)));
      const ownFence = n.fenced && !gap;
      if (!viaSecond && !ownFence) continue;
      n.version += 1;
      this.globalMax = Math.max(this.globalMax, n.version);
      if (viaSecond) this.node(s.receiver).version = n.version;
    }
  }

  /**
   * stop_prim of a PRIM whose engine ships through it ends only once its application's shutdown
   * fsync returns or fails: the session is synced, or the machine answered the fence (granted
   * or refused). Until then the script's end is put off, up to its timeout
   * (STOP_PRIM_HELD_LIMIT_MS): a fence nobody answers shows as a module that does not converge.
   * Found by review: held calls with no way out kept stop_prim, and the VIP, until its timeout.
   */
  private heldByFence(n: SimNode, e: Extract<SimEvent, { k: 'script' }>): boolean {
    // A forced stop kills the application, and its held call with it.
    if (e.script !== 'stop_prim' || n.replRole !== 'draining' || !n.fencePending || e.timedOut || n.machine?.job?.forceTried === true) return false;
    const s = this.session;
    if (s !== null && s.sender === n.id && s.synced) return false;
    const key = `${n.id}/${n.incarnation}/${e.run_id}`;
    const since = this.heldSince.get(key) ?? this.now;
    this.heldSince.set(key, since);
    const next = this.now - since < STOP_PRIM_HELD_LIMIT_MS ? e : { ...e, code: null, timedOut: true };
    this.q.push(this.now + HELD_RECHECK_MS, next);
    return true;
  }

  /** The PRIM engine holds sync calls until the machine answers this (replication-mirror.ts). */
  private wantFence(n: SimNode): void {
    n.fenced = false;
    n.fencePending = true;
    const token = ++n.fenceToken;
    this.q.push(this.now, { k: 'fence-wanted', node: n.id, inc: n.incarnation, token });
  }

  /** Fake mirror engine: a session exists while sender and receiver both want it and LAN 0 works both ways. */
  private onReplCheck(): void {
    if (this.policy.mode !== 'mirror') return;
    const shipping = (n: SimNode): boolean => n.replRole === 'sender' || n.replRole === 'draining';
    const sender = [...this.nodes.values()].find((n) => n.alive && shipping(n));
    const receiver = [...this.nodes.values()].find((n) => n.alive && n.replRole === 'receiver');
    const s = this.session;
    const ok = (a: SimNode, b: SimNode): boolean => this.linkUp(a.id, b.id, 0) && this.linkUp(b.id, a.id, 0);
    if (s !== null) {
      const snd = this.node(s.sender);
      const rcv = this.node(s.receiver);
      if (snd.alive && rcv.alive && shipping(snd) && rcv.replRole === 'receiver' && ok(snd, rcv)) return;
      this.session = null;
      for (const n of [snd, rcv]) if (n.alive) this.tell(n, { type: 'ReplicationLost', reason: 'session broken' });
      // The link left SECOND behind: after reporting the loss it asks for the fence.
      if (snd.alive && shipping(snd)) this.wantFence(snd);
      return;
    }
    if (sender === undefined || receiver === undefined || !ok(sender, receiver)) return;
    const id = this.nextSession++;
    const delay_ms = this.opts.linkDelay_ms ?? 0;
    this.session = { id, sender: sender.id, receiver: receiver.id, receiverStarted: delay_ms === 0, receiverSynced: false, synced: false };
    this.tell(sender, { type: 'ReplicationConnected' });
    if (delay_ms === 0) this.tell(receiver, { type: 'ReplicationConnected' });
    else this.q.push(this.now + this.linkRng.int(1, delay_ms), { k: 'session-start', session: id });
    this.q.push(this.now + this.rng.int(SYNC_MIN_MS, SYNC_MAX_MS), { k: 'synced', session: id });
  }

  /** An engine's status reaches its machine only while the machine listens (replication-mirror.ts `tell`). */
  private tell(n: SimNode, ev: ModuleEvent): void {
    if (n.replRole === 'sender' || n.replRole === 'receiver') this.feed(n, ev);
  }

  /** Session `id` if a frame sent on it now reaches its `to` side: still current, both ends alive, LAN 0 up that way. */
  private frameArrives(id: number, to: 'sender' | 'receiver'): Session | null {
    const s = this.session;
    if (s === null || s.id !== id || !this.node(s.sender).alive || !this.node(s.receiver).alive) return null;
    const [a, b] = to === 'receiver' ? [s.sender, s.receiver] : [s.receiver, s.sender];
    return this.linkUp(a, b, 0) ? s : null;
  }

  /** STATE syncing reaches the SECOND. */
  private onSessionStart(id: number): void {
    const s = this.frameArrives(id, 'receiver');
    if (s === null) return;
    s.receiverStarted = true;
    this.tell(this.node(s.receiver), { type: 'ReplicationConnected' });
  }

  private onSynced(id: number): void {
    const s = this.session;
    if (s === null || s.id !== id) return;
    // The pass ends behind STATE syncing: not before the SECOND heard the session start.
    if (!s.receiverStarted) {
      this.q.push(this.now + REPL_CHECK_MS, { k: 'synced', session: id });
      return;
    }
    s.receiverSynced = true;
    const snd = this.node(s.sender);
    const rcv = this.node(s.receiver);
    rcv.version = snd.version;
    this.tell(rcv, { type: 'ReplicationSynced' });
    const ack_ms = this.opts.linkDelay_ms ?? 0;
    if (ack_ms > 0) this.q.push(this.now + this.linkRng.int(1, ack_ms), { k: 'synced-ack', session: id });
    else this.primSynced(s);
  }

  /** SECOND's ACK of in_sync reaches the PRIM. */
  private onSyncedAck(id: number): void {
    const s = this.frameArrives(id, 'sender');
    if (s !== null) this.primSynced(s);
  }

  private primSynced(s: Session): void {
    const snd = this.node(s.sender);
    s.synced = true;
    snd.fenced = true; // in sync: the link fences (core/mirror/pure/link.ts)
    this.tell(snd, { type: 'ReplicationSynced' });
  }

  // ------------------------------------------------------------------ invariants

  private violation(what: string): void {
    this.violations.push({ t: this.now, what });
    this.log(`VIOLATION ${what}`);
  }

  private check(): void {
    if (this.policy.mode !== 'mirror') return;
    for (const n of this.nodes.values()) {
      // A node waiting for approval serves nothing.
      if (n.alive && n.machine?.status === 'Approval' && (n.app || n.machine.vip)) {
        const what = `${n.id} waits for failover approval but runs the application or holds the VIP`;
        if (!this.violations.some((v) => v.what === what)) this.violation(what);
      }
    }
    if (!this.opts.witness) return;
    const running = [...this.nodes.values()].filter((n) => n.alive && n.app);
    if (running.length > 1) {
      const key = running.map((n) => n.id).join('+');
      if (!this.violations.some((v) => v.what.includes(key))) this.violation(`two sites serve one module (two nodes run the application with an arbitrator configured): ${key}`);
    }
    this.checkLeaseBelief();
  }

  /**
   * The lease as the node counts it never outlives the witness's record: while a node's lease
   * has not ended on its own clock, the witness (a majority of the arbitrators) holds the
   * lease for that node. (The stop
   * margin comes on top; this checks the counting itself, late replies included.)
   */
  private checkLeaseBelief(): void {
    const need = majorityOf(this.arbs.length);
    for (const n of this.nodes.values()) {
      const lease = n.alive ? n.machine?.lease : null;
      if (lease === null || lease === undefined || this.local(n) >= lease.until_ms) continue;
      const holding = this.arbs.filter((a) => {
        const l = a.state.modules[MODULE]?.lease;
        return l !== null && l !== undefined && l.holder === n.id && l.until_ms > this.arbNow(a);
      }).length;
      const held = holding >= need;
      const what = `${n.id} counts a witness lease the witness does not hold for it${this.arbs.length > 1 ? ` (a majority of ${this.arbs.length} arbitrators)` : ''}`;
      if (!held && !this.violations.some((v) => v.what === what)) this.violation(what);
    }
  }

  // ------------------------------------------------------------------ views for tests

  stateOf(id: NodeId): string {
    const n = this.node(id);
    if (!n.alive || n.machine === null) return 'DOWN';
    return `${n.machine.state}/${n.machine.status}`;
  }

  /** Mirror: one PRIM/Ready and one SECOND/Ready; farm: every node UP/Ready. */
  converged(): boolean {
    const states = this.ids.map((id) => this.stateOf(id));
    if (this.policy.mode !== 'mirror') return states.every((s) => s === 'UP/Ready');
    return states.filter((s) => s === 'PRIM/Ready').length === 1 && states.filter((s) => s === 'SECOND/Ready').length === this.ids.length - 1;
  }

  appNodes(): NodeId[] {
    return this.ids.filter((id) => this.node(id).alive && this.node(id).app);
  }
}
