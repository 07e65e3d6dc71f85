// SECOND side of one mirror module: listens on the replication address, authenticates the
// PRIM, applies its operations in sequence order to the local copy, answers listing and
// signature requests, and persists whether the copy is complete.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HakitError, isHakitError } from '../errors/catalogue';
import { decodeOp } from './pure/op-codec';
import { checkRelPath, type MirrorOp, opWeightBytes } from './pure/ops';
import { NO_EXCLUDES, type ExcludeRules } from './pure/exclude';
import { acceptChannel, type Channel } from './stream/channel';
import { FrameFlag, FrameType, type Frame, type FrameProtection } from './stream/frame';
import { listTree, signFile } from './tree-walk';
import { readJson, writeJsonDurable } from './state-file';
import { FdCache, GONE_CODES, NOT_REGULAR, viaPool } from './fd-cache';
import { currentBootId } from './journal';
import { CopyRoots, O_NOFOLLOW } from './copy-roots';
import { manifestChunks, signatureChunks } from './response-chunks';
import { loadActivity, removeActivity } from './activity-record';
import { type ActivitySummary } from './pure/activity';
import { ReceiverTiming } from './receiver-timing';
import { syncFileSystem } from './sync-fs';
import { writeRunLength, type WriteSlot } from './pure/write-run';
import { fsyncSyncsSecond, restartedCopy, type SecondMode } from './pure/second-mode';
import { ackPlanStep, DEFAULT_ACK_PLAN, INITIAL_ACK_PLAN, type AckPlanConfig, type AckPlanEvent, type AckPlanState } from './pure/ack-plan';

/** Received-but-unapplied ops beyond which the receiver stops reading the socket. */
export const MAX_APPLY_QUEUE = 4096;
/** Received-but-unapplied payload bytes beyond which the receiver stops reading the socket
 *  (it reads again below half of both bounds). 4096 ops of 1 MiB would be 4 GiB. */
export const MAX_APPLY_QUEUE_BYTES = 64 * 1024 * 1024;
/** Connections from the peer's addresses the receiver holds at once (authenticated or not).
 *  With `peers` set, connections from other addresses are closed at accept and never counted,
 *  so a flood from elsewhere cannot take the PRIM's room (issue 15 item 1). */
export const MAX_RECEIVER_CONNECTIONS = 16;

/** A connection that carries no frame for this long (at least; four keepalives of a slower
 *  sender), while this node reads it, is given up. Only a sender that named its keepalive in
 *  HELLO is held to it: it pings at least that often whatever else flows (pure/link-watch.ts),
 *  so a live one is never this silent. A cut of the replication LAN alone leaves a TCP
 *  connection silent, not closed, and this node's session would otherwise look alive for as
 *  long as the cut lasts (its state says "in sync" to a PRIM that went ALONE). PRIM's own bound
 *  (its ack timeout). The module machine learns of the lost session from PRIM's announcement
 *  too (absorbPeerView). */
export const RECEIVER_SILENCE_MS = 5000;
/** The silence is checked this often (at most; a fifth of the bound when that is shorter). */
const SILENCE_CHECK_MS = 1000;

export type AsyncMode = 'second' | 'none';

export interface ReceiverOptions {
  readonly module: string;
  /** The SECOND's copy of the replicated directory. */
  readonly dir: string;
  /** Where the receiver keeps receiver.json (copy id, complete flag). */
  readonly state_dir: string;
  readonly key: Buffer;
  /** Frame protection; the sender must use the same (default 'auth'). */
  readonly protection?: FrameProtection;
  readonly host: string;
  readonly port: number;
  readonly async: AsyncMode;
  /**
   * async="none": an fsync op makes its file (and the directories changed since the last one)
   * durable on this disk before it is acknowledged (`<rfs sync_secondary="on">`). Off
   * (default): acknowledged once every op before it is written here (page cache), which a
   * failover of PRIM keeps; only a power loss of this node too could lose it, and a copy
   * that went through a reboot is compared in full before it is trusted (see start()).
   */
  readonly sync_secondary?: boolean;
  readonly rules?: ExcludeRules;
  /** Replicated directories: ops may only name paths under `/0` … `/<roots-1>` of `dir`. */
  readonly roots: number;
  /**
   * Awaited when PRIM starts a re-integration (STATE syncing), before any later frame is
   * applied: hakitd makes its own "copy incomplete" record durable here. A rejection refuses
   * the session (PRIM reconnects later).
   */
  readonly before_syncing?: () => Promise<void>;
  /** The peer's addresses (cluster.xml): only connections from these are accepted and counted. */
  readonly peers?: readonly string[];
  /** When ACKs are written with async="none" (pure/ack-plan.ts); DEFAULT_ACK_PLAN if unset. */
  readonly ack_plan?: AckPlanConfig;
  /** RECEIVER_SILENCE_MS unless set (tests). */
  readonly silence_ms?: number;
}

const EMPTY = Buffer.alloc(0);

export interface ReceiverRecord {
  readonly copy_id: string;
  /** Every op the PRIM acknowledged is in the copy (set at "in sync", cleared at "syncing"). */
  readonly complete: boolean;
  /** The receiver stopped cleanly (false while it runs). */
  readonly clean: boolean;
  readonly boot_id: string;
  /** An apply failed: ops after it may have been acknowledged and not applied. */
  readonly needs_full: boolean;
}

export interface ReceiverEvents {
  connected: [];
  lost: [HakitError | undefined];
  refused: [HakitError];
  complete: [boolean];
  applyError: [HakitError];
}

/** One received item, with the connection it came on and the session epoch it belongs to
 *  (acks are only sent for the epoch that is current when it is applied). */
/** `ack_now`: a sync-class op, or one PRIM waits for (FrameFlag.ACK_NOW): acknowledged as soon
 *  as it is applied (pure/ack-plan.ts). */
type OpWork = { kind: 'op'; seq: number; op: MirrorOp; bytes: number; ch: Channel; epoch: number; ack_now: boolean; t_rx: number; t_enq: number };
type Work = OpWork | { kind: 'frame'; frame: Frame; bytes: number; ch: Channel; epoch: number };

export class MirrorReceiver extends EventEmitter<ReceiverEvents> {
  private server: net.Server | undefined;
  private channel: Channel | undefined;
  private record: ReceiverRecord = { copy_id: '', complete: false, clean: false, boot_id: '', needs_full: true };
  /** Whether PRIM's journal can be trusted against this copy (see start()). */
  private trusted = false;
  /** This node's activity record from its last life as PRIM (see start()). */
  private activity: ActivitySummary | undefined;
  private readonly roots: CopyRoots;
  private readonly fds: FdCache;
  private readonly queue: Work[] = [];
  private queuedBytes = 0;
  private draining = false;
  private drainKicked = false;
  /** Resume point: highest op seq received from `session` (survives reconnects, not restarts). */
  private session = '';
  /** Incremented whenever sequence numbering restarts (new session, apply error). */
  private epoch = 0;
  private lastReceived = 0;
  private lastApplied = 0;
  private ackScheduled = false;
  /** async="none": how many applied ops the next ACK covers (pure/ack-plan.ts). */
  private ackPlan: AckPlanState = INITIAL_ACK_PLAN;
  private ackTimer: NodeJS.Timeout | undefined;
  /** When the current connection last carried a frame (performance.now()). */
  private lastRx_ms = 0;
  private silenceTimer: NodeJS.Timeout | undefined;
  /** The socket we stopped reading (the one that filled the queue), if any. */
  private pausedSocket: net.Socket | undefined;
  /** Source addresses with a handshake in progress (one each). */
  private readonly handshaking = new Set<string>();
  /** The connection an apply error is being reported on (see onFrame). */
  private failingCh: Channel | undefined;
  /** Connections held from the peer's addresses (all connections when `peers` is not set). */
  private held = 0;
  /** Connections closed at accept because they came from elsewhere than the peer. */
  foreignRefused = 0;
  opsApplied = 0;
  bytesApplied = 0;
  /** Runs of back-to-back writes applied with one pwritev (pure/write-run.ts). */
  writeRuns = 0;
  /** Directories (replicated paths) whose entries changed since the last fsync op: made
   *  durable with it (async="none"), so an acknowledged fsync covers every earlier
   *  namespace op, as a journaling file system's commit does. */
  private readonly dirtyDirs = new Set<string>();
  /** Opt-in breakdown of the data path (receiver-timing.ts); undefined when off. */
  readonly timing: ReceiverTiming | undefined;
  /** Timed only: applied ops not yet covered by an ACK (seq, kind, frame read, applied). */
  private unacked: Array<{ seq: number; sync: boolean; t_rx: number; t_applied: number }> = [];

  /** Its async and sync_secondary (pure/second-mode.ts). */
  private readonly mode: SecondMode;

  constructor(readonly opts: ReceiverOptions, timing: ReceiverTiming | undefined = ReceiverTiming.fromEnv()) {
    super();
    this.timing = timing;
    this.mode = { async: opts.async, sync_secondary: opts.sync_secondary === true };
    this.roots = new CopyRoots(opts.dir, opts.roots);
    this.fds = new FdCache(this.roots);
  }

  private get recordFile(): string { return path.join(this.opts.state_dir, 'receiver.json'); }
  get complete(): boolean { return this.record.complete; }
  get copyId(): string { return this.record.copy_id; }
  get address(): net.AddressInfo | undefined { return this.server?.address() as net.AddressInfo | undefined; }

  async start(): Promise<void> {
    await fs.mkdir(this.opts.dir, { recursive: true });
    const raw = (await readJson(this.recordFile)) as Partial<ReceiverRecord> | undefined;
    const boot_id = await currentBootId();
    if (raw && typeof raw.copy_id === 'string' && typeof raw.complete === 'boolean') {
      // Not stopped cleanly: what may have been lost (pure/second-mode.ts).
      const judged = restartedCopy({ clean: raw.clean === true, boot_id: raw.boot_id, complete: raw.complete, needs_full: raw.needs_full }, boot_id, this.mode);
      this.trusted = judged.trusted;
      this.record = { copy_id: raw.copy_id, complete: judged.complete, clean: false, boot_id, needs_full: !this.trusted };
    } else {
      // A copy we know nothing about can only be made complete by a full comparison.
      this.trusted = false;
      this.record = { copy_id: randomUUID(), complete: false, clean: false, boot_id, needs_full: true };
    }
    await writeJsonDurable(this.recordFile, this.record);
    // Kept by this node while it was PRIM: what its copy may hold beyond the copy the new
    // PRIM took over from (sent in WELCOME; removed once this copy is complete again).
    this.activity = await loadActivity(this.opts.state_dir).catch(() => undefined);
    const server = net.createServer((s) => void this.onSocket(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => { server.off('error', reject); resolve(); });
    });
  }

  async stop(): Promise<void> {
    this.channel?.close(new HakitError('HAKIT_E_MIRROR_STOPPED', 'receiver stopped', this.opts.module));
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    this.silenceTimer = undefined;
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
    while (this.draining) await new Promise((r) => setTimeout(r, 5));
    await this.fds.syncAll().catch(() => undefined);
    // What was acknowledged may be in the page cache only (without sync_secondary: writes and
    // directory entries; with it: writes no sync call covered yet, files a pass wrote whose
    // descriptors the cache closed): a clean stop (before a takeover too) makes it durable,
    // and is recorded clean only if that worked (a clean copy is trusted after a reboot).
    const durable = await syncFileSystem(this.opts.dir);
    this.fds.closeAll();
    this.timing?.stop();
    this.record = { ...this.record, clean: durable };
    await writeJsonDurable(this.recordFile, this.record);
  }

  /** Never rejects: every failure becomes a `refused` event. */
  private async onSocket(socket: net.Socket): Promise<void> {
    const from = plainAddress(socket.remoteAddress ?? '?');
    if (!this.admit(socket, from)) return;
    if (this.handshaking.has(from)) {
      // One handshake in flight per source address: a peer opening connections faster
      // than it authenticates them is refused at once instead of holding sockets.
      socket.destroy();
      this.emit('refused', new HakitError('HAKIT_E_MIRROR_BUSY', `a handshake from ${from} is already in progress`, `mirror ${this.opts.module} <- ${from}`));
      return;
    }
    this.handshaking.add(from);
    let ch: Channel;
    try {
      ch = await acceptChannel(socket, { key: this.opts.key, module: this.opts.module, protection: this.opts.protection });
    } catch (e) {
      this.emit('refused', e as HakitError);
      return;
    } finally {
      this.handshaking.delete(from);
    }
    if (!this.server) {
      ch.close(new HakitError('HAKIT_E_MIRROR_STOPPED', 'receiver stopped', ch.where));
      return;
    }
    // One PRIM at a time: a new authenticated connection replaces the old one (the old
    // one is usually half-dead after a network cut).
    this.channel?.close(new HakitError('HAKIT_E_MIRROR_PEER_LOST', 'replaced by a new connection', ch.where));
    this.channel = ch;
    this.lastRx_ms = performance.now();
    this.watchSilence();
    ch.timed = this.timing !== undefined;
    ch.on('frame', (f) => {
      if (this.channel === ch) this.lastRx_ms = performance.now();
      this.onFrame(ch, f);
    });
    ch.on('close', (err) => {
      if (this.channel === ch) this.channel = undefined;
      this.emit('lost', err);
    });
    // last_seq is what an ACK would say now: PRIM completes every op up to it on a resume, so
    // with async="none" it must be the last op applied, not merely received (an fsync still in
    // the apply queue would otherwise return to the application before this node holds it;
    // found by the data-path simulation). Ops received but not applied are not re-taken when
    // PRIM re-sends them (seq <= lastReceived) and are acknowledged once applied.
    const last_seq = this.opts.async === 'second' ? this.lastReceived : this.lastApplied;
    this.stepAck({ kind: 'acked' }); // WELCOME's last_seq covers what was applied
    ch.sendJson(FrameType.WELCOME, 0, { copy_id: this.record.copy_id, complete: this.record.complete, trusted: this.trusted, session: this.session, last_seq, ...(this.activity ? { activity: this.activity } : {}) });
    this.emit('connected');
    this.throttle(ch);
  }

  /** Gives up the current connection once it carried no frame for RECEIVER_SILENCE_MS while
   *  its socket was read (a paused socket holds PRIM's frames back: not silence), if its
   *  sender named a keepalive. */
  private watchSilence(): void {
    if (this.silenceTimer) return;
    const silence_ms = this.opts.silence_ms ?? RECEIVER_SILENCE_MS;
    const every_ms = Math.min(SILENCE_CHECK_MS, Math.max(10, silence_ms / 5));
    let lastTick_ms = performance.now();
    this.silenceTimer = setInterval(() => {
      const now = performance.now();
      // This process did not run for a while (stopped, a paused VM): what PRIM sent meanwhile
      // waits unread in the socket; the peer gets a fresh bound, not the blame.
      const stalled = now - lastTick_ms > 2 * every_ms;
      lastTick_ms = now;
      const ch = this.channel;
      if (!ch || ch.peerKeepalive_ms === undefined || this.pausedSocket !== undefined || stalled) {
        this.lastRx_ms = now;
        return;
      }
      const bound_ms = Math.max(silence_ms, 4 * ch.peerKeepalive_ms);
      if (now - this.lastRx_ms > bound_ms) ch.close(new HakitError('HAKIT_E_MIRROR_PEER_LOST', `PRIM silent for ${bound_ms} ms`, ch.where));
    }, every_ms);
    this.silenceTimer.unref();
  }

  /**
   * Accept-time checks: a connection from elsewhere than the peer is closed at once and not
   * counted; the peer's connections are counted against MAX_RECEIVER_CONNECTIONS.
   */
  private admit(socket: net.Socket, from: string): boolean {
    const where = `mirror ${this.opts.module} <- ${from}`;
    if (this.opts.peers !== undefined && !this.opts.peers.includes(from)) {
      socket.destroy();
      this.foreignRefused++;
      this.emit('refused', new HakitError('HAKIT_E_MIRROR_NOT_PEER', `connection from ${from}, which is not an address of the peer (${this.opts.peers.join(', ')})`, where));
      return false;
    }
    if (this.held >= MAX_RECEIVER_CONNECTIONS) {
      socket.destroy();
      this.emit('refused', new HakitError('HAKIT_E_MIRROR_BUSY', `${MAX_RECEIVER_CONNECTIONS} connections from the peer's addresses are open already`, where));
      return false;
    }
    this.held++;
    socket.once('close', () => this.held--);
    return true;
  }

  private fail(ch: Channel, e: HakitError): void {
    ch.close(e);
  }

  private onFrame(ch: Channel, f: Frame): void {
    // Frames still arriving on a connection whose apply error is being reported: dropped. The
    // numbering restarted at the error, so the next OP would fail the sequence check and
    // reset the connection before the ERROR frame went out (PRIM then saw ECONNRESET instead
    // of HAKIT_E_MIRROR_APPLY; seen once in test/mirror/full-disk.test.ts).
    if (ch === this.failingCh) return;
    switch (f.type) {
      case FrameType.PING:
        ch.send(FrameType.PONG, f.seq, EMPTY);
        return;
      case FrameType.OP: {
        if (f.seq <= this.lastReceived) return; // resent after a resume: already have it
        if (f.seq !== this.lastReceived + 1) {
          this.fail(ch, new HakitError('HAKIT_E_MIRROR_BAD_FRAME', `op seq ${f.seq} after ${this.lastReceived}`, ch.where));
          return;
        }
        let op: MirrorOp;
        const t = this.timing;
        const t0 = t ? t.now() : 0;
        try {
          op = decodeOp(f.payload, `${ch.where} seq ${f.seq}`);
        } catch (e) {
          this.fail(ch, e as HakitError);
          return;
        }
        let t_enq = 0;
        if (t) {
          t.record('rx_decode', ch.rxDecodeMsPerFrame);
          t_enq = t.since('op_decode', t0);
        }
        this.lastReceived = f.seq;
        const ack_now = op.kind === 'fsync' || (f.flags & FrameFlag.ACK_NOW) !== 0;
        this.enqueue({ kind: 'op', seq: f.seq, op, bytes: opWeightBytes(op), ch, epoch: this.epoch, ack_now, t_rx: t ? ch.rxAtMs : 0, t_enq });
        if (this.opts.async === 'second') this.scheduleAck();
        break;
      }
      case FrameType.STATE:
        this.noteSession(f);
        this.enqueue({ kind: 'frame', frame: f, bytes: f.payload.length, ch, epoch: this.epoch });
        break;
      case FrameType.REQ:
        this.enqueue({ kind: 'frame', frame: f, bytes: f.payload.length, ch, epoch: this.epoch });
        break;
      default:
        this.fail(ch, new HakitError('HAKIT_E_MIRROR_BAD_FRAME', `unexpected frame type ${f.type}`, ch.where));
        return;
    }
    this.throttle(ch);
    this.kickDrain();
  }

  private enqueue(w: Work): void {
    this.queue.push(w);
    this.queuedBytes += w.bytes;
  }

  /** Stops reading `ch` while the apply queue is over either bound. */
  private throttle(ch: Channel): void {
    if (this.queue.length <= MAX_APPLY_QUEUE && this.queuedBytes <= MAX_APPLY_QUEUE_BYTES) return;
    if (this.pausedSocket === ch.socket) return;
    this.pausedSocket = ch.socket;
    ch.socket.pause();
  }

  /** Reads again once both bounds are below half (the paused socket may be a replaced one). */
  private maybeResume(): void {
    if (!this.pausedSocket || this.queue.length >= MAX_APPLY_QUEUE / 2 || this.queuedBytes >= MAX_APPLY_QUEUE_BYTES / 2) return;
    const s = this.pausedSocket;
    this.pausedSocket = undefined;
    s.resume();
  }

  /** Received but not yet applied (for tests and status). */
  get queued(): { ops: number; bytes: number; paused: boolean } {
    return { ops: this.queue.length, bytes: this.queuedBytes, paused: this.pausedSocket !== undefined };
  }

  /** A STATE frame naming a new sender session restarts sequence numbering at first_seq;
   *  the same session means a resume, and already-received ops are skipped. */
  private noteSession(f: Frame): void {
    let body: { session?: unknown; first_seq?: unknown };
    try {
      body = JSON.parse(f.payload.toString('utf8')) as typeof body;
    } catch {
      return; // handleFrame reports it
    }
    if (typeof body.session === 'string' && body.session !== this.session) {
      this.session = body.session;
      this.epoch++;
      this.lastReceived = typeof body.first_seq === 'number' ? body.first_seq - 1 : 0;
      this.lastApplied = this.lastReceived;
      this.unacked.length = 0;
    }
  }

  /** Cumulative ACK on the current connection, for the current session only. Sent once the
   *  current callback is done (every frame of one socket read acknowledged by one ACK), not
   *  a loop turn later: PRIM's application is waiting for it. */
  private scheduleAck(): void {
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    process.nextTick(() => {
      this.ackScheduled = false;
      this.sendAck();
    });
  }

  /** Writes the cumulative ACK on the current connection, for the current session. */
  private sendAck(): void {
    const ch = this.channel;
    const seq = this.opts.async === 'second' ? this.lastReceived : this.lastApplied;
    if (!ch || ch.isClosed) return;
    const t = this.timing;
    const t0 = t ? t.now() : 0;
    ch.send(FrameType.ACK, seq, EMPTY);
    if (t) this.timeAck(t, seq, t0);
  }

  /** async="none": feeds the ACK plan and performs what it decides. */
  private stepAck(ev: AckPlanEvent): void {
    const { state, effect } = ackPlanStep(this.ackPlan, ev, this.opts.ack_plan ?? DEFAULT_ACK_PLAN);
    this.ackPlan = state;
    if (effect === 'ack') {
      this.sendAck();
    } else if (effect === 'arm_idle') {
      this.ackTimer = setTimeout(() => {
        this.ackTimer = undefined;
        this.stepAck({ kind: 'idle_timer' });
      }, (this.opts.ack_plan ?? DEFAULT_ACK_PLAN).idle_ms);
    }
  }

  /** Timed only: the ACK of `seq` was written (send started at `t0`). */
  private timeAck(t: ReceiverTiming, seq: number, t0: number): void {
    const t1 = t.since('ack_send', t0);
    t.countAck();
    let i = 0;
    for (; i < this.unacked.length && this.unacked[i]!.seq <= seq; i++) {
      const u = this.unacked[i]!;
      t.record('ack_wait', t1 - u.t_applied);
      t.record(u.sync ? 'turn_fsync' : 'turn_write', t1 - u.t_rx);
    }
    this.unacked.splice(0, i);
  }

  /**
   * Runs the apply loop once every frame of the current socket read is queued (a microtask
   * later): most ops are applied without waiting, and starting at once would apply and
   * acknowledge each frame alone, with no run of writes to join and one ACK per frame. Any
   * failure outside an op (receiver.json or fsync: ENOSPC, EIO) takes the coded apply-error
   * path instead of becoming an unhandled rejection.
   */
  private kickDrain(): void {
    if (this.drainKicked || this.draining) return;
    this.drainKicked = true;
    queueMicrotask(() => {
      this.drainKicked = false;
      this.drain().catch((e: unknown) => this.onFailure(undefined, e));
    });
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        if (head.kind === 'op' && head.op.kind === 'write') {
          const n = writeRunLength((i) => this.writeSlot(i));
          const run = n === 1 ? [this.queue.shift() as OpWork] : (this.queue.splice(0, n) as OpWork[]);
          for (const w of run) this.queuedBytes -= w.bytes;
          this.maybeResume();
          const t = this.timing;
          const t0 = t ? t.now() : 0;
          try {
            this.applyWrites(run);
          } catch (e) {
            const at = (e as { written_bytes?: number }).written_bytes ?? 0;
            await this.onFailure(failedWrite(run, at), e);
            return;
          }
          const t1 = t ? t.now() : 0;
          run.forEach((w, i) => this.applied(w, t, t0, t1, run.length, run.length - 1 - i));
          continue;
        }
        const w = this.queue.shift()!;
        this.queuedBytes -= w.bytes;
        this.maybeResume();
        if (w.kind === 'op') {
          const t = this.timing;
          const t0 = t ? t.since('queue_wait', w.t_enq) : 0;
          try {
            // Only syncs and tree removals return a promise: the rest is applied at once,
            // without a microtask turn per op.
            const pending = this.apply(w.op);
            if (pending) await pending;
          } catch (e) {
            await this.onFailure(w, e);
            return;
          }
          this.applied(w, t, t0, t ? t.now() : 0, 1, 0);
        } else if (w.ch !== this.channel) {
          await this.handleStaleFrame(w.frame);
        } else {
          if (this.opts.async === 'none') this.stepAck({ kind: 'flush' });
          await this.handleFrame(w.ch, w.frame);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** The i-th queued item as a write slot (write-run.ts), or undefined when it is none. */
  private writeSlot(i: number): WriteSlot | undefined {
    const w = this.queue[i];
    if (!w || w.kind !== 'op' || w.op.kind !== 'write') return undefined;
    return { path: w.op.path, offset: w.op.offset, length: w.op.data.length, epoch: w.epoch };
  }

  /** One write, or a run of writes back to back in one file, in one syscall. */
  private applyWrites(run: readonly OpWork[]): void {
    const first = run[0]!.op as Extract<MirrorOp, { kind: 'write' }>;
    if (run.length === 1) {
      this.fds.write(first.path, first.data, first.offset);
    } else {
      this.fds.writev(first.path, run.map((w) => (w.op as Extract<MirrorOp, { kind: 'write' }>).data), first.offset);
      this.writeRuns++;
    }
    for (const w of run) this.bytesApplied += (w.op as Extract<MirrorOp, { kind: 'write' }>).data.length;
  }

  /** Bookkeeping once `w` is applied (at t1; its apply, shared by `of` ops, began at t0);
   *  `rest`: ops of its run applied with it and not yet counted. */
  private applied(w: OpWork, t: ReceiverTiming | undefined, t0: number, t1: number, of: number, rest: number): void {
    this.opsApplied++;
    if (t) {
      t.countOp();
      if (w.op.kind === 'write') t.record('queue_wait', t0 - w.t_enq);
      if (w.op.kind !== 'fsync') t.record(w.op.kind === 'write' ? 'apply_write' : 'apply_other', (t1 - t0) / of);
      if (this.opts.async === 'none' && w.epoch === this.epoch && (w.op.kind === 'fsync' || w.op.kind === 'write')) {
        this.unacked.push({ seq: w.seq, sync: w.op.kind === 'fsync', t_rx: w.t_rx, t_applied: t1 });
      }
    }
    // An op of an older session (its connection was replaced by a new session while it
    // waited here) is applied, but its number means nothing to the new session.
    if (w.epoch !== this.epoch) return;
    this.lastApplied = w.seq;
    if (this.opts.async === 'none') this.stepAck({ kind: 'applied', sync: w.ack_now, bytes: w.bytes, queued: this.queue.length + rest });
  }

  /**
   * A request or STATE of a connection that has been replaced: its requester is gone, so it
   * is not answered. "syncing" is still recorded (it only ever makes the copy incomplete,
   * and the ops behind it in the queue are re-integration data); "in_sync" is not trusted.
   */
  private async handleStaleFrame(f: Frame): Promise<void> {
    if (f.type !== FrameType.STATE) return;
    let body: { state?: unknown };
    try { body = JSON.parse(f.payload.toString('utf8')) as typeof body; } catch { return; }
    if (body.state !== 'syncing') return;
    await this.opts.before_syncing?.().catch(() => undefined);
    await this.setComplete(false);
  }

  /** SECOND cannot apply (or persist): the copy is incomplete until a full comparison. */
  private async onFailure(w: Work | undefined, e: unknown): Promise<void> {
    const what = w?.kind === 'op' ? `${w.op.kind} ${'path' in w.op ? w.op.path : w.op.from}` : 'receiver state';
    // An errno by its name (Node's message names this node's absolute path); ours by its text.
    const errno = (e as NodeJS.ErrnoException).code;
    const detail = isHakitError(e) || errno === undefined || errno === NOT_REGULAR ? (e as Error).message : errno;
    const code = isHakitError(e) && e.code === 'HAKIT_E_MIRROR_BAD_PATH' ? 'HAKIT_E_MIRROR_BAD_PATH' : 'HAKIT_E_MIRROR_APPLY';
    const err = new HakitError(code, `${what}: ${detail}`, `${this.opts.module}${w?.kind === 'op' ? ` seq ${w.seq}` : ''}`);
    this.failingCh = this.channel;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.maybeResume();
    this.session = ''; // never resume past a hole
    this.epoch++;
    this.lastReceived = 0;
    this.lastApplied = 0;
    this.trusted = false;
    this.unacked.length = 0;
    this.record = { ...this.record, needs_full: true };
    await this.setComplete(false, true).catch(() => undefined);
    this.emit('applyError', err);
    const ch = this.channel;
    if (!ch) return;
    ch.sendJson(FrameType.ERROR, w?.kind === 'op' ? w.seq : 0, { code: err.code, message: err.message });
    ch.finish(err);
  }

  private async setComplete(complete: boolean, force = false): Promise<void> {
    if (this.record.complete === complete && !force) return;
    // Reaching "in sync" after any re-integration means PRIM compared or shipped everything.
    this.record = { ...this.record, complete, needs_full: complete ? false : this.record.needs_full };
    if (complete) this.trusted = true;
    await writeJsonDurable(this.recordFile, this.record);
    if (complete && this.activity) {
      this.activity = undefined;
      await removeActivity(this.opts.state_dir);
    }
    this.emit('complete', complete);
  }

  private async handleFrame(ch: Channel, f: Frame): Promise<void> {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(f.payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      this.fail(ch, new HakitError('HAKIT_E_MIRROR_BAD_FRAME', 'request is not JSON', ch.where));
      return;
    }
    if (f.type === FrameType.STATE) {
      if (body.state === 'syncing') {
        if (this.opts.before_syncing) {
          try {
            await this.opts.before_syncing();
          } catch (e) {
            this.fail(ch, new HakitError('HAKIT_E_MIRROR_STOPPED', `session refused: ${(e as Error).message}`, ch.where));
            return;
          }
        }
        await this.setComplete(false);
      }
      if (body.state === 'in_sync') {
        await this.fds.syncAll();
        await this.syncDirtyDirs(); // the namespace a complete copy claims, durable too
        // With sync_secondary a complete copy stays complete across a reboot, so everything
        // the pass wrote must be on disk first, also files whose descriptors the cache has
        // closed since (it keeps MAX_CACHED_FDS) and truncates made through a passing one.
        if (this.syncsAtFsync && !(await syncFileSystem(this.opts.dir))) {
          this.fail(ch, new HakitError('HAKIT_E_MIRROR_APPLY', 'the copy could not be synced to disk (syncfs failed or took over 30 s): it stays incomplete', ch.where));
          return;
        }
        // Forced: after a resumed session the flag is unchanged but its owner must hear it.
        await this.setComplete(true, true);
      }
      ch.sendJson(FrameType.RESP, f.seq, { ok: true, complete: this.record.complete });
      return;
    }
    try {
      await this.answer(ch, f.seq, body);
    } catch (e) {
      ch.sendJson(FrameType.RESP, f.seq, { error: (e as Error).message });
    }
  }

  private async answer(ch: Channel, id: number, body: Record<string, unknown>): Promise<void> {
    const rules = this.opts.rules ?? NO_EXCLUDES;
    if (body.kind === 'manifest') {
      const entries = await listTree(this.opts.dir, rules, { hashes: body.hashes === true });
      const chunks = manifestChunks(entries);
      chunks.forEach((c, i) => ch.send(FrameType.RESP, id, c, i < chunks.length - 1 ? FrameFlag.MORE : 0));
      return;
    }
    if (body.kind === 'sig' && typeof body.block_size === 'number') {
      const rel = checkRelPath(body.path, `${ch.where} sig`);
      await this.fds.flush(rel);
      let file: string | undefined;
      try {
        file = await this.roots.resolve(rel, `${ch.where} sig ${rel}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      // A missing file (or parent) has the empty signature; a symlink is refused (ELOOP).
      const sig = await signFile(file ?? path.join(this.opts.dir, rel), body.block_size, { missing: file === undefined });
      const chunks = signatureChunks(sig);
      chunks.forEach((c, i) => ch.send(FrameType.RESP, id, c, i < chunks.length - 1 ? FrameFlag.MORE : 0));
      return;
    }
    throw new Error(`unknown request ${JSON.stringify(body.kind)}`);
  }

  /** An fsync op is a disk sync here (async="none" with sync_secondary). */
  private get syncsAtFsync(): boolean { return fsyncSyncsSecond(this.mode); }

  /** Directory `d`'s entries changed: the next fsync op makes them durable (when it syncs). */
  private dirDirty(d: string): void {
    if (this.syncsAtFsync) this.dirtyDirs.add(d);
  }

  /**
   * An fsync op (async="none" with sync_secondary): the file's data and every directory changed since the last
   * one, all at once (the ACK waits for all of them; the file system joins them in one
   * journal commit instead of one per call). A root path (`/<n>`: PRIM's syncfs or an fsync
   * of the replicated directory itself) also syncs every open file.
   */
  private async syncCovered(p: string): Promise<void> {
    const isRoot = /^\/\d+$/.test(p);
    const t = this.timing;
    const t0 = t ? t.now() : 0;
    const file = isRoot ? this.fds.syncAll() : this.fds.sync(p);
    const dirs = this.syncDirtyDirs(isRoot ? [p] : []);
    if (!t) {
      await Promise.all([file, dirs]);
      return;
    }
    const timed = (stage: 'fdatasync' | 'dir_fsync', q: Promise<boolean>): Promise<void> => q.then((any) => { if (any) t.since(stage, t0); });
    await Promise.all([timed('fdatasync', file.then(() => true)), timed('dir_fsync', dirs)]);
  }

  /** fsync of every directory whose entries changed since the last one (and of `more`), side
   *  by side; one pool hop each (the path check and open are page-cache work, like FdCache's).
   *  True when there was any. */
  private async syncDirtyDirs(more: readonly string[] = []): Promise<boolean> {
    const where = `${this.opts.module} fsync`;
    const dirs = [...this.dirtyDirs, ...more];
    this.dirtyDirs.clear();
    if (dirs.length === 0) return false;
    await Promise.all(dirs.map((d) => this.syncDir(d, `${where} ${d}`)));
    return true;
  }

  private async syncDir(d: string, where: string): Promise<void> {
    let fd: number;
    try {
      fd = fsSync.openSync(this.roots.resolveSync(d, where, { allowRoot: true }), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | O_NOFOLLOW);
    } catch (e) {
      // A directory removed since, or its name now a symlink or a file: nothing of it is left
      // to make durable (its entries went with it; the new ones are the parent's change).
      if (GONE_CODES.has((e as NodeJS.ErrnoException).code ?? '')) return;
      throw e;
    }
    try {
      await fsyncFd(fd);
    } finally {
      fsSync.closeSync(fd);
    }
  }

  /** Applies one op; returns a promise only when the op waits for the disk or the pool (an
   *  fsync, a tree removal), so that the common ops cost no microtask turn. */
  private apply(op: MirrorOp): Promise<void> | undefined {
    const fds = this.fds;
    const where = `${this.opts.module} ${op.kind}`;
    // Checked path of the copy; `allowRoot` for metadata of a replicated directory itself.
    // Synchronous, like the calls below (see FdCache): one op at a time, page-cache work.
    const at = (p: string, allowRoot = false): string => this.roots.resolveSync(p, `${where} ${p}`, { allowRoot });
    const tolerate = (p: () => unknown, ...codes: string[]): void => {
      try {
        p();
      } catch (e) {
        if (!codes.includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      }
    };
    switch (op.kind) {
      case 'write':
        fds.write(op.path, op.data, op.offset);
        this.bytesApplied += op.data.length;
        return;
      case 'fsync':
        return this.syncsAtFsync ? this.syncCovered(op.path) : undefined;
      case 'truncate':
        fds.truncate(op.path, op.size);
        return;
      case 'create':
        // Exactly PRIM's mode; the descriptor stays open for the writes that follow.
        fds.create(op.path, op.mode);
        this.dirDirty(parentOf(op.path));
        return;
      case 'mkdir':
        tolerate(() => fsSync.mkdirSync(at(op.path), { mode: op.mode }), 'EEXIST');
        chmodNoFollowSync(at(op.path), op.mode);
        this.dirDirty(parentOf(op.path));
        return;
      case 'chmod':
        chmodNoFollowSync(at(op.path, true), op.mode);
        return;
      case 'chown':
        fsSync.lchownSync(at(op.path, true), op.uid, op.gid);
        return;
      case 'utimens':
        fsSync.lutimesSync(at(op.path, true), op.atime_ms / 1000, op.mtime_ms / 1000);
        return;
    }
    // Namespace changes invalidate cached descriptors by name.
    fds.closeUnder('path' in op ? op.path : op.from);
    for (const p of 'path' in op ? [op.path] : [op.from, op.to]) this.dirDirty(parentOf(p));
    switch (op.kind) {
      case 'rmdir':
        tolerate(() => fsSync.rmdirSync(at(op.path)), 'ENOENT');
        return;
      case 'unlink':
        tolerate(() => fsSync.unlinkSync(at(op.path)), 'ENOENT');
        return;
      case 'remove':
        // rm does not follow symlinks below the path; at() checked the path itself. (A whole
        // tree may go: through the pool, not on the event loop.)
        return fs.rm(at(op.path), { recursive: true, force: true }).catch((e: unknown) => {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        });
      case 'rename': {
        fds.closeUnder(op.to);
        const from = at(op.from);
        fsSync.renameSync(from, at(op.to));
        return;
      }
      case 'symlink':
        // The target is only stored, never followed by the receiver.
        tolerate(() => fsSync.symlinkSync(op.target, at(op.path)), 'EEXIST');
        return;
      case 'link': {
        // link(2) does not follow a symlink at `from`: it links the symlink itself.
        tolerate(() => fsSync.linkSync(at(op.from), at(op.to)), 'EEXIST');
        return;
      }
    }
  }
}

function fsyncFd(fd: number): Promise<void> {
  return viaPool<void>((cb) => fsSync.fsync(fd, cb));
}

/** The op of a write run that failed, `written_bytes` into the run (for the error report;
 *  the ops before it reached the file). */
function failedWrite(run: readonly OpWork[], written_bytes: number): OpWork {
  let left = written_bytes;
  for (const w of run) {
    const len = (w.op as Extract<MirrorOp, { kind: 'write' }>).data.length;
    if (left < len) return w;
    left -= len;
  }
  return run[run.length - 1]!;
}

/** chmod through a descriptor opened without following a symlink (Linux has no symlink
 *  modes: a symlink there is left alone). */
function chmodNoFollowSync(file: string, mode: number): void {
  let fd: number;
  try {
    fd = fsSync.openSync(file, fs.constants.O_RDONLY | O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') return;
    throw e;
  }
  try {
    fsSync.fchmodSync(fd, mode);
  } finally {
    fsSync.closeSync(fd);
  }
}

/** The replicated directory holding `p` ('/0/a/b' -> '/0/a'; a root stays itself). */
function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? p : p.slice(0, i);
}

/** '::ffff:198.18.0.1' (an IPv4 peer on a dual-stack socket) -> '198.18.0.1'. */
function plainAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

