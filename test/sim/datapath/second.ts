// SECOND's side of the simulated pair: the receiver's rules (core/mirror/receiver.ts) over
// the in-memory file system. Ops are decoded and validated by the real op codec
// (core/mirror/pure/op-codec.ts); answers use the real response chunking and block
// signatures. What it models, rule by rule, from receiver.ts:
//  - OP frames: a seq at or below the last received is a resend (ignored); a gap closes the
//    connection; ops are applied strictly in order, one at a time, each taking apply time;
//  - async="none": the cumulative ACK names the last applied op, written when the real ACK
//    plan (core/mirror/pure/ack-plan.ts) says: at once for an fsync op or an op flagged
//    ACK_NOW, else batched (after the queued ops, or the idle delay); with sync_secondary an fsync
//    op makes the file durable and commits every namespace change (the dirty directories)
//    before it is acked; without (the default) it is acked once applied (page cache), and a
//    copy whose boot changed is no longer complete;
//  - async="second": every op is acknowledged on receipt (the ACK names the last op
//    received, as WELCOME's last_seq does) and applied later; only a clean stop keeps the copy
//    trusted (the apply queue dies with the process), and a clean stop applies the queue
//    first; the fsync op syncs nothing;
//  - STATE: a new session restarts numbering at first_seq; "syncing" makes the copy
//    incomplete (durably, before anything later is applied), "in_sync" syncs everything and
//    makes it complete;
//  - an apply failure (ENOSPC...) empties the queue, forgets the session, marks the copy
//    incomplete and needing a full comparison, sends ERROR and closes;
//  - the record (copy id, complete, clean, boot id, needs_full) is durable at once; on start
//    the copy is trusted when it stopped cleanly or (async="none") the boot is the same.
import { HakitError } from '../../../core/errors/catalogue';
import { decodeOp } from '../../../core/mirror/pure/op-codec';
import { checkRelPath, opWeightBytes, type MirrorOp } from '../../../core/mirror/pure/ops';
import { fsyncSyncsSecond, restartedCopy, type SecondMode } from '../../../core/mirror/pure/second-mode';
import { ackPlanStep, DEFAULT_ACK_PLAN, INITIAL_ACK_PLAN, type AckPlanEvent, type AckPlanState } from '../../../core/mirror/pure/ack-plan';
import { FrameFlag, FrameType, type Frame } from '../../../core/mirror/stream/frame';
import { manifestChunks, signatureChunks } from '../../../core/mirror/response-chunks';
import { type ManifestEntry } from '../../../core/mirror/pure/tree-diff';
import { signBytes } from '../../../core/mirror/blocksig/signature';
import type { Conn, Scheduler } from './channel';
import { FsError, type MemFs } from './memfs';
import { simHash64 } from './hash';
import { summaryOf, type ActivityDisk } from './activity';
import type { ActivitySummary } from '../../../core/mirror/pure/activity';

export interface ReceiverRecord {
  readonly copy_id: string;
  readonly complete: boolean;
  readonly clean: boolean;
  readonly boot_id: number;
  readonly needs_full: boolean;
}

type Work =
  | { kind: 'op'; seq: number; op: MirrorOp; conn: Conn; epoch: number; ack_now: boolean }
  | { kind: 'frame'; frame: Frame; conn: Conn; epoch: number };

/**
 * What WELCOME's `last_seq` names: 'received' as receiver.ts does today (the highest op seq
 * received, applied or not), or 'applied' (the highest applied, what an ACK names with
 * async="none"). A resume completes every op through last_seq (pure/link.ts resume_welcome).
 */
export type WelcomeLast = 'received' | 'applied';

/**
 * How a receiver restarted on the same boot judges its copy: 'fixed' as receiver.ts does (with
 * async="second" the ops acknowledged on receipt and not yet applied died with the process:
 * neither complete nor trusted), or 'boot' as it did before (a same-boot restart kept the copy
 * whatever `async`; re-injects that bug).
 */
export type ReceiverStart = 'fixed' | 'boot';

/** The mode restartedCopy judges by: 'boot' took a same-boot restart as async="none" does. */
export function restartRule(start: ReceiverStart, m: SecondMode): SecondMode {
  return start === 'boot' ? { ...m, async: 'none' } : m;
}

export interface SecondHooks {
  log(msg: string): void;
  /** The copy's complete flag changed (the module machine's ReplicationSynced / Connected). */
  complete(complete: boolean): void;
}

export class SecondSide {
  record: ReceiverRecord;
  trusted = false;
  conn: Conn | undefined;
  private session = '';
  private epoch = 0;
  lastReceived = 0;
  lastApplied = 0;
  private readonly queue: Work[] = [];
  private draining = false;
  private alive = true;
  private ackPlan: AckPlanState = INITIAL_ACK_PLAN;
  /** Bumped at every kill: an idle-ACK timer of a dead process does nothing. */
  private life = 0;
  opsApplied = 0;
  applyErrors = 0;

  /** This node's activity record from its last life as PRIM (receiver.ts start()). */
  private activity: ActivitySummary | undefined;

  constructor(private readonly s: Scheduler, readonly fs: MemFs, durable: ReceiverRecord | undefined, private readonly activityDisk: ActivityDisk, boot_id: number, private readonly hooks: SecondHooks, private readonly newCopyId: () => string, private readonly welcomeLast: WelcomeLast = 'applied', private readonly syncSecondary = true, private readonly asyncMode: 'none' | 'second' = 'none', start: ReceiverStart = 'fixed') {
    if (durable) {
      const judged = restartedCopy(durable, boot_id, restartRule(start, { async: asyncMode, sync_secondary: syncSecondary }));
      this.trusted = judged.trusted;
      this.record = { ...durable, complete: judged.complete, clean: false, boot_id, needs_full: !this.trusted };
    } else {
      this.trusted = false;
      this.record = { copy_id: newCopyId(), complete: false, clean: false, boot_id, needs_full: true };
    }
    if (!fs.exists('/0')) { fs.mkdir('/0', 0o755); fs.fsyncDir(); }
    this.activity = summaryOf(activityDisk);
  }

  /** The process dies (daemon crash or power cut): nothing in memory survives. */
  kill(): void {
    this.alive = false;
    this.queue.length = 0;
    this.ackPlan = INITIAL_ACK_PLAN;
    this.life++;
  }

  /** A new authenticated connection replaces the old one; WELCOME tells PRIM where we are. */
  accept(conn: Conn): void {
    this.conn?.close('second', new HakitError('HAKIT_E_MIRROR_PEER_LOST', 'replaced by a new connection', 'sim second'));
    this.conn = conn;
    const last_seq = this.welcomeLast === 'received' || this.asyncMode === 'second' ? this.lastReceived : this.lastApplied;
    conn.send('second', FrameType.WELCOME, 0, Buffer.from(JSON.stringify({ copy_id: this.record.copy_id, complete: this.record.complete, trusted: this.trusted, session: this.session, last_seq, ...(this.activity ? { activity: this.activity } : {}) })));
    this.stepAck({ kind: 'acked' }); // WELCOME's last_seq covers what was applied
  }

  /** Feeds the ACK plan and performs what it decides (receiver.ts stepAck). */
  private stepAck(ev: AckPlanEvent): void {
    const { state, effect } = ackPlanStep(this.ackPlan, ev, DEFAULT_ACK_PLAN);
    this.ackPlan = state;
    if (effect === 'ack') {
      const c = this.conn;
      if (c && !c.isClosed('second')) c.send('second', FrameType.ACK, this.lastApplied, Buffer.alloc(0));
    } else if (effect === 'arm_idle') {
      const life = this.life;
      this.s.at(this.s.now + DEFAULT_ACK_PLAN.idle_ms, 'second idle ack', () => { if (this.alive && life === this.life) this.stepAck({ kind: 'idle_timer' }); });
    }
  }

  onClosed(conn: Conn): void {
    if (this.conn === conn) this.conn = undefined;
  }

  onFrame(conn: Conn, f: Frame): void {
    if (!this.alive) return;
    switch (f.type) {
      case FrameType.PING:
        conn.send('second', FrameType.PONG, f.seq, Buffer.alloc(0));
        return;
      case FrameType.OP: {
        if (f.seq <= this.lastReceived) return;
        if (f.seq !== this.lastReceived + 1) {
          conn.close('second', new HakitError('HAKIT_E_MIRROR_BAD_FRAME', `op seq ${f.seq} after ${this.lastReceived}`, 'sim second'));
          return;
        }
        let op: MirrorOp;
        try {
          op = decodeOp(f.payload, `sim second seq ${f.seq}`);
        } catch (e) {
          conn.close('second', e as HakitError);
          return;
        }
        this.lastReceived = f.seq;
        this.queue.push({ kind: 'op', seq: f.seq, op, conn, epoch: this.epoch, ack_now: op.kind === 'fsync' || (f.flags & FrameFlag.ACK_NOW) !== 0 });
        if (this.asyncMode === 'second') conn.send('second', FrameType.ACK, this.lastReceived, Buffer.alloc(0));
        break;
      }
      case FrameType.STATE:
        this.noteSession(f);
        this.queue.push({ kind: 'frame', frame: f, conn, epoch: this.epoch });
        break;
      case FrameType.REQ:
        this.queue.push({ kind: 'frame', frame: f, conn, epoch: this.epoch });
        break;
      default:
        conn.close('second', new HakitError('HAKIT_E_MIRROR_BAD_FRAME', `unexpected frame type ${f.type}`, 'sim second'));
        return;
    }
    this.kick();
  }

  private noteSession(f: Frame): void {
    let body: { session?: unknown; first_seq?: unknown };
    try { body = JSON.parse(f.payload.toString('utf8')) as typeof body; } catch { return; }
    if (typeof body.session === 'string' && body.session !== this.session) {
      this.session = body.session;
      this.epoch++;
      this.lastReceived = typeof body.first_seq === 'number' ? body.first_seq - 1 : 0;
      this.lastApplied = this.lastReceived;
    }
  }

  private kick(): void {
    if (this.draining || this.queue.length === 0 || !this.alive) return;
    this.draining = true;
    const w = this.queue[0]!;
    const cost = w.kind === 'op' ? (w.op.kind === 'fsync' && this.syncSecondary ? 0.3 + this.s.rng.next() * 2 : 0.02 + this.s.rng.next() * 0.1) : 0.05;
    this.s.at(this.s.now + cost, 'second applies', () => {
      this.draining = false;
      if (!this.alive || this.queue[0] !== w) return;
      this.queue.shift();
      this.work(w);
      this.kick();
    });
  }

  private work(w: Work): void {
    if (w.kind === 'op') {
      try {
        this.apply(w.op);
      } catch (e) {
        this.onFailure(w, e);
        return;
      }
      this.opsApplied++;
      if (w.epoch !== this.epoch) return;
      this.lastApplied = w.seq;
      if (this.asyncMode === 'none') this.stepAck({ kind: 'applied', sync: w.ack_now, bytes: opWeightBytes(w.op), queued: this.queue.length });
      return;
    }
    if (w.conn !== this.conn) {
      // A frame of a replaced connection: only "syncing" still counts (receiver.ts handleStaleFrame).
      const body = parse(w.frame.payload);
      if (w.frame.type === FrameType.STATE && body?.state === 'syncing') this.setComplete(false);
      return;
    }
    if (this.asyncMode === 'none') this.stepAck({ kind: 'flush' }); // PRIM reads the ACK before the answer (receiver.ts)
    const body = parse(w.frame.payload);
    if (!body) {
      w.conn.close('second', new HakitError('HAKIT_E_MIRROR_BAD_FRAME', 'request is not JSON', 'sim second'));
      return;
    }
    if (w.frame.type === FrameType.STATE) {
      if (body.state === 'syncing') this.setComplete(false);
      if (body.state === 'in_sync') {
        this.fs.syncAll();
        this.setComplete(true, true);
      }
      w.conn.send('second', FrameType.RESP, w.frame.seq, Buffer.from(JSON.stringify({ ok: true, complete: this.record.complete })));
      return;
    }
    try {
      this.answer(w.conn, w.frame.seq, body);
    } catch (e) {
      w.conn.send('second', FrameType.RESP, w.frame.seq, Buffer.from(JSON.stringify({ error: (e as Error).message })));
    }
  }

  private answer(conn: Conn, id: number, body: Record<string, unknown>): void {
    if (body.kind === 'manifest') {
      const entries: ManifestEntry[] = this.fs.tree().filter((e) => e.path !== '/').map((e) => ({ path: e.path, type: e.type, mode: e.mode, uid: 0, gid: 0, size: e.type === 'f' ? e.data.length : 0, mtime_ms: 0 }));
      const chunks = manifestChunks(entries);
      chunks.forEach((c, i) => conn.send('second', FrameType.RESP, id, c, i < chunks.length - 1 ? FrameFlag.MORE : 0));
      return;
    }
    if (body.kind === 'sig' && typeof body.block_size === 'number') {
      const rel = checkRelPath(body.path, 'sim second sig');
      const data = this.fs.typeOf(rel) === 'f' ? this.fs.read(rel) : new Uint8Array(0);
      const chunks = signatureChunks(signBytes(simHash64, data, body.block_size));
      chunks.forEach((c, i) => conn.send('second', FrameType.RESP, id, c, i < chunks.length - 1 ? FrameFlag.MORE : 0));
      return;
    }
    throw new Error(`unknown request ${JSON.stringify(body.kind)}`);
  }

  private onFailure(w: Work & { kind: 'op' }, e: unknown): void {
    this.applyErrors++;
    const code = e instanceof FsError ? e.code : (e as Error).message;
    this.hooks.log(`second: apply of ${w.op.kind} seq ${w.seq} failed: ${code}`);
    this.queue.length = 0;
    this.session = '';
    this.epoch++;
    this.lastReceived = 0;
    this.lastApplied = 0;
    this.trusted = false;
    this.record = { ...this.record, needs_full: true };
    this.setComplete(false, true);
    const c = this.conn;
    if (!c) return;
    c.send('second', FrameType.ERROR, w.seq, Buffer.from(JSON.stringify({ code: 'HAKIT_E_MIRROR_APPLY', message: `${w.op.kind}: ${code}` })));
    c.close('second', new HakitError('HAKIT_E_MIRROR_APPLY', `${w.op.kind}: ${code}`, 'sim second'));
  }

  private setComplete(complete: boolean, force = false): void {
    if (this.record.complete === complete && !force) return;
    this.record = { ...this.record, complete, needs_full: complete ? false : this.record.needs_full };
    if (complete) this.trusted = true;
    // receiver.ts: the copy the record described has been re-integrated (after the record).
    if (complete && this.activity) {
      this.activity = undefined;
      this.activityDisk.image = undefined;
    }
    this.hooks.complete(complete);
  }

  /** The record as a clean stop leaves it. */
  stopCleanly(): ReceiverRecord {
    // receiver.ts stop(): the connection closes, then the apply loop runs to its end.
    if (this.asyncMode === 'second') {
      const c = this.conn;
      this.conn = undefined;
      c?.close('second', new HakitError('HAKIT_E_MIRROR_STOPPED', 'receiver stopped', 'sim second'));
      while (this.queue.length > 0 && this.alive) this.work(this.queue.shift()!);
    }
    this.fs.syncAll();
    this.record = { ...this.record, clean: true };
    this.kill();
    return this.record;
  }

  /** SECOND's page cache as it will be once the apply queue is applied (async="second": what
   *  it acknowledged is there or queued; the checker reads this). */
  withQueue(): MemFs {
    const fs = this.fs.cacheCopy();
    for (const w of this.queue) {
      if (w.kind !== 'op') continue;
      try { this.apply(w.op, fs); } catch { /* an apply failure makes the copy incomplete */ }
    }
    return fs;
  }

  get queueLength(): number { return this.queue.length; }

  private apply(op: MirrorOp, fs: MemFs = this.fs): void {
    const tolerate = (f: () => void, ...codes: string[]): void => {
      try { f(); } catch (e) { if (!(e instanceof FsError) || !codes.includes(e.code)) throw e; }
    };
    switch (op.kind) {
      case 'write': fs.write(op.path, op.offset, op.data, true); return;
      case 'truncate': fs.truncate(op.path, op.size); return;
      case 'fsync':
        // The file's data, then every directory changed since the last fsync (one commit of
        // the namespace journal here). A root path syncs everything. Without sync_secondary:
        // applied (every op before it is in the page cache), nothing to sync.
        if (!fsyncSyncsSecond({ async: this.asyncMode, sync_secondary: this.syncSecondary })) return;
        if (/^\/\d+$/.test(op.path)) fs.syncAll();
        else if (fs.typeOf(op.path) === 'f') fs.fsyncFile(op.path);
        else if (!fs.exists(op.path)) throw new FsError('ENOENT', op.path);
        fs.fsyncDir();
        return;
      case 'create': fs.create(op.path, op.mode); return;
      case 'mkdir': tolerate(() => fs.mkdir(op.path, op.mode), 'EEXIST'); fs.chmod(op.path, op.mode); return;
      case 'chmod': fs.chmod(op.path, op.mode); return;
      case 'chown': case 'utimens': if (!fs.exists(op.path)) throw new FsError('ENOENT', op.path); return;
      case 'rmdir': tolerate(() => fs.rmdir(op.path), 'ENOENT'); return;
      case 'unlink': tolerate(() => fs.unlink(op.path), 'ENOENT'); return;
      case 'remove': fs.remove(op.path); return;
      case 'rename': fs.rename(op.from, op.to); return;
      case 'symlink': case 'link': throw new FsError('ENOENT', `${op.kind} is not simulated`);
    }
  }
}

function parse(b: Buffer): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(b.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
