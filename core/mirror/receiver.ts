// SECOND side of one mirror module: listens on the replication address, authenticates the
// PRIM, applies its operations in sequence order to the local copy, answers listing and
// signature requests, and persists whether the copy is complete.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { HakitError } from '../errors/catalogue';
import { decodeOp } from './pure/op-codec';
import { type MirrorOp } from './pure/ops';
import { NO_EXCLUDES, type ExcludeRules } from './pure/exclude';
import { acceptChannel, type Channel } from './stream/channel';
import { FrameType, type Frame } from './stream/frame';
import { listTree, realPathOf, signFile, encodeSignature } from './tree-walk';
import { readJson, writeJsonDurable } from './state-file';
import { FdCache } from './fd-cache';
import { currentBootId } from './journal';

/** Entries per manifest response frame (keeps frames far below MAX_PAYLOAD_BYTES). */
export const MANIFEST_ENTRIES_PER_FRAME = 5000;
/** Received-but-unapplied ops beyond which the receiver stops reading the socket. */
export const MAX_APPLY_QUEUE = 4096;

export type AsyncMode = 'second' | 'none';

export interface ReceiverOptions {
  readonly module: string;
  /** The SECOND's copy of the replicated directory. */
  readonly dir: string;
  /** Where the receiver keeps receiver.json (copy id, complete flag). */
  readonly state_dir: string;
  readonly key: Buffer;
  readonly host: string;
  readonly port: number;
  readonly async: AsyncMode;
  readonly rules?: ExcludeRules;
  /**
   * Awaited when PRIM starts a re-integration (STATE syncing), before any later frame is
   * applied: hakitd makes its own "copy incomplete" record durable here. A rejection refuses
   * the session (PRIM reconnects later).
   */
  readonly before_syncing?: () => Promise<void>;
}

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

type Work = { kind: 'op'; seq: number; op: MirrorOp } | { kind: 'frame'; frame: Frame };

export class MirrorReceiver extends EventEmitter<ReceiverEvents> {
  private server: net.Server | undefined;
  private channel: Channel | undefined;
  private record: ReceiverRecord = { copy_id: '', complete: false, clean: false, boot_id: '', needs_full: true };
  /** Whether PRIM's journal can be trusted against this copy (see start()). */
  private trusted = false;
  private readonly fds: FdCache;
  private readonly queue: Work[] = [];
  private draining = false;
  /** Resume point: highest op seq received from `session` (survives reconnects, not restarts). */
  private session = '';
  private lastReceived = 0;
  private lastApplied = 0;
  private ackScheduled = false;
  private paused = false;
  opsApplied = 0;
  bytesApplied = 0;

  constructor(readonly opts: ReceiverOptions) {
    super();
    this.fds = new FdCache(opts.dir);
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
      // With async="second" an op is acknowledged before it is written: after a crash of
      // this process some acknowledged ops may be missing, which PRIM's journal cannot
      // know. With async="none" only a reboot can lose them (page cache).
      const survived = raw.clean === true || (this.opts.async === 'none' && raw.boot_id === boot_id);
      this.trusted = survived && raw.needs_full !== true;
      this.record = { copy_id: raw.copy_id, complete: raw.complete, clean: false, boot_id, needs_full: !this.trusted };
    } else {
      // A copy we know nothing about can only be made complete by a full comparison.
      this.trusted = false;
      this.record = { copy_id: randomUUID(), complete: false, clean: false, boot_id, needs_full: true };
    }
    await writeJsonDurable(this.recordFile, this.record);
    const server = net.createServer((s) => void this.onSocket(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => { server.off('error', reject); resolve(); });
    });
  }

  async stop(): Promise<void> {
    this.channel?.close(new HakitError('HAKIT_E_MIRROR_STOPPED', 'receiver stopped', this.opts.module));
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
    while (this.draining) await new Promise((r) => setTimeout(r, 5));
    await this.fds.syncAll().catch(() => undefined);
    await this.fds.closeAll();
    this.record = { ...this.record, clean: true };
    await writeJsonDurable(this.recordFile, this.record);
  }

  private async onSocket(socket: net.Socket): Promise<void> {
    let ch: Channel;
    try {
      ch = await acceptChannel(socket, { key: this.opts.key, module: this.opts.module });
    } catch (e) {
      this.emit('refused', e as HakitError);
      return;
    }
    // One PRIM at a time: a new authenticated connection replaces the old one (the old
    // one is usually half-dead after a network cut).
    this.channel?.close(new HakitError('HAKIT_E_MIRROR_PEER_LOST', 'replaced by a new connection', ch.where));
    this.channel = ch;
    ch.on('frame', (f) => this.onFrame(ch, f));
    ch.on('close', (err) => {
      if (this.channel === ch) this.channel = undefined;
      this.emit('lost', err);
    });
    ch.sendJson(FrameType.WELCOME, 0, { copy_id: this.record.copy_id, complete: this.record.complete, trusted: this.trusted, session: this.session, last_seq: this.lastReceived });
    this.emit('connected');
  }

  private fail(ch: Channel, e: HakitError): void {
    ch.close(e);
  }

  private onFrame(ch: Channel, f: Frame): void {
    switch (f.type) {
      case FrameType.PING:
        ch.send(FrameType.PONG, f.seq, Buffer.alloc(0));
        return;
      case FrameType.OP: {
        if (f.seq <= this.lastReceived) return; // resent after a resume: already have it
        if (f.seq !== this.lastReceived + 1) {
          this.fail(ch, new HakitError('HAKIT_E_MIRROR_BAD_FRAME', `op seq ${f.seq} after ${this.lastReceived}`, ch.where));
          return;
        }
        let op: MirrorOp;
        try {
          op = decodeOp(f.payload, `${ch.where} seq ${f.seq}`);
        } catch (e) {
          this.fail(ch, e as HakitError);
          return;
        }
        this.lastReceived = f.seq;
        this.queue.push({ kind: 'op', seq: f.seq, op });
        if (this.opts.async === 'second') this.scheduleAck(ch);
        break;
      }
      case FrameType.STATE:
        this.noteSession(f);
        this.queue.push({ kind: 'frame', frame: f });
        break;
      case FrameType.REQ:
        this.queue.push({ kind: 'frame', frame: f });
        break;
      default:
        this.fail(ch, new HakitError('HAKIT_E_MIRROR_BAD_FRAME', `unexpected frame type ${f.type}`, ch.where));
        return;
    }
    if (this.queue.length > MAX_APPLY_QUEUE && !this.paused) {
      this.paused = true;
      ch.socket.pause();
    }
    void this.drain(ch);
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
      this.lastReceived = typeof body.first_seq === 'number' ? body.first_seq - 1 : 0;
    }
  }

  private scheduleAck(ch: Channel): void {
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      const seq = this.opts.async === 'second' ? this.lastReceived : this.lastApplied;
      if (!ch.isClosed) ch.send(FrameType.ACK, seq, Buffer.alloc(0));
    });
  }

  private async drain(ch: Channel): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const w = this.queue.shift()!;
        if (this.paused && this.queue.length < MAX_APPLY_QUEUE / 2) {
          this.paused = false;
          ch.socket.resume();
        }
        if (w.kind === 'op') {
          try {
            await this.apply(w.op);
          } catch (e) {
            await this.onApplyError(ch, w.seq, w.op, e as NodeJS.ErrnoException);
            return;
          }
          this.lastApplied = w.seq;
          this.opsApplied++;
          if (this.opts.async === 'none') this.scheduleAck(ch);
        } else {
          await this.handleFrame(ch, w.frame);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async onApplyError(ch: Channel, seq: number, op: MirrorOp, e: NodeJS.ErrnoException): Promise<void> {
    const err = new HakitError('HAKIT_E_MIRROR_APPLY', `${op.kind} ${'path' in op ? op.path : op.from}: ${e.code ?? e.message}`, `${this.opts.module} seq ${seq}`);
    this.queue.length = 0;
    this.session = ''; // never resume past a hole
    this.lastReceived = 0;
    this.lastApplied = 0;
    this.trusted = false;
    this.record = { ...this.record, needs_full: true };
    await this.setComplete(false, true).catch(() => undefined);
    this.emit('applyError', err);
    ch.sendJson(FrameType.ERROR, seq, { code: err.code, message: err.message });
    ch.finish(err);
  }

  private async setComplete(complete: boolean, force = false): Promise<void> {
    if (this.record.complete === complete && !force) return;
    // Reaching "in sync" after any re-integration means PRIM compared or shipped everything.
    this.record = { ...this.record, complete, needs_full: complete ? false : this.record.needs_full };
    if (complete) this.trusted = true;
    await writeJsonDurable(this.recordFile, this.record);
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
      for (let i = 0; i < entries.length || i === 0; i += MANIFEST_ENTRIES_PER_FRAME) {
        const more = i + MANIFEST_ENTRIES_PER_FRAME < entries.length;
        ch.sendJson(FrameType.RESP, id, { entries: entries.slice(i, i + MANIFEST_ENTRIES_PER_FRAME), more });
      }
      return;
    }
    if (body.kind === 'sig' && typeof body.path === 'string' && typeof body.block_size === 'number') {
      const rel = body.path;
      if (rel.split('/').includes('..')) throw new Error('bad path');
      await this.fds.flush(rel);
      const sig = await signFile(realPathOf(this.opts.dir, rel), body.block_size);
      ch.send(FrameType.RESP, id, encodeSignature(sig));
      return;
    }
    throw new Error(`unknown request ${JSON.stringify(body.kind)}`);
  }

  private async apply(op: MirrorOp): Promise<void> {
    const fds = this.fds;
    const real = (p: string): string => realPathOf(this.opts.dir, p);
    const tolerate = async (p: Promise<unknown>, ...codes: string[]): Promise<void> => {
      try {
        await p;
      } catch (e) {
        if (!codes.includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      }
    };
    switch (op.kind) {
      case 'write':
        await fds.write(op.path, op.data, op.offset);
        this.bytesApplied += op.data.length;
        return;
      case 'fsync':
        if (this.opts.async === 'none') await fds.sync(op.path);
        return;
      case 'truncate':
        await fds.truncate(op.path, op.size);
        return;
      case 'create': {
        const fh = await fs.open(real(op.path), fs.constants.O_CREAT | fs.constants.O_WRONLY, op.mode);
        await fh.close();
        return;
      }
      case 'mkdir':
        await tolerate(fs.mkdir(real(op.path), { mode: op.mode }), 'EEXIST');
        return;
      case 'chmod':
        await fs.chmod(real(op.path), op.mode);
        return;
      case 'chown':
        await fs.lchown(real(op.path), op.uid, op.gid);
        return;
      case 'utimens':
        await fs.lutimes(real(op.path), op.atime_ms / 1000, op.mtime_ms / 1000);
        return;
    }
    // Namespace changes invalidate cached descriptors by name.
    await fds.closeUnder('path' in op ? op.path : op.from);
    switch (op.kind) {
      case 'rmdir':
        await tolerate(fs.rmdir(real(op.path)), 'ENOENT');
        return;
      case 'unlink':
        await tolerate(fs.unlink(real(op.path)), 'ENOENT');
        return;
      case 'remove':
        await fs.rm(real(op.path), { recursive: true, force: true });
        return;
      case 'rename':
        await fds.closeUnder(op.to);
        await fs.rename(real(op.from), real(op.to));
        return;
      case 'symlink':
        await tolerate(fs.symlink(op.target, real(op.path)), 'EEXIST');
        return;
      case 'link':
        await tolerate(fs.link(real(op.from), real(op.to)), 'EEXIST');
        return;
    }
  }
}
