// One authenticated replication connection. The handshake is a mutual HMAC challenge-
// response over the cluster key (nobody sends the key or a reusable proof); afterwards
// every frame carries a tag under a per-session key, and its payload is encrypted when both
// ends are configured so (frame.ts, FrameProtection). The protection is named in HELLO and
// CHALLENGE and bound into every proof and into the session key: a man in the middle who
// rewrites it makes the proofs fail, so a mismatch never yields a working session. Any
// failure closes the socket with a coded error: garbage and unauthenticated peers never
// reach the engine.
import { EventEmitter } from 'node:events';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { HakitError } from '../../errors/catalogue';
import { DEFAULT_FRAME_PROTECTION, encodeFrame, FrameCipher, FrameDecoder, FrameType, isFrameProtection, MAX_PAYLOAD_BYTES, type Frame, type FrameProtection, type FrameTypeCode } from './frame';

export const HANDSHAKE_TIMEOUT_MS = 5000;
/** How long a finished channel drains the peer's bytes before it is destroyed. */
export const FINISH_LINGER_MS = 2000;
const NONCE_BYTES = 32;
/** 2: HELLO and CHALLENGE name the frame protection, which every proof binds. */
const PROTOCOL_VERSION = 2;

export interface ChannelEvents {
  frame: [Frame];
  close: [HakitError | undefined];
  drain: [];
}

export class Channel extends EventEmitter<ChannelEvents> {
  private closed = false;
  /** The socket is corked until the event loop's check phase (holdFramesThisTurn). */
  private held = false;
  /** Opt-in timing (receiver-timing.ts): when set, each socket read notes when it started
   *  and how long its frames took to decode, for the 'frame' listeners to read. */
  timed = false;
  rxAtMs = 0;
  rxDecodeMsPerFrame = 0;
  /** Receiver side: the sender's keepalive from HELLO (undefined: it named none). */
  peerKeepalive_ms: number | undefined;

  constructor(readonly socket: net.Socket, private readonly decoder: FrameDecoder, private readonly tx: FrameCipher, readonly where: string) {
    super();
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('drain', () => this.emit('drain'));
    socket.on('error', (e) => this.close(new HakitError('HAKIT_E_MIRROR_PEER_LOST', `socket error: ${e.message}`, where)));
    socket.on('close', () => this.close(new HakitError('HAKIT_E_MIRROR_PEER_LOST', 'connection closed by peer', where)));
  }

  get isClosed(): boolean { return this.closed; }

  /**
   * Queues one frame; false means the socket buffer is full (wait for 'drain'). A payload
   * over MAX_PAYLOAD_BYTES is refused with HAKIT_E_MIRROR_BAD_FRAME and nothing is sent:
   * the peer would refuse it and close, and the same frame would be sent again after the
   * reconnect, forever. Callers split big answers (FrameFlag.MORE).
   */
  send(type: FrameTypeCode, seq: number, payload: Buffer | readonly Buffer[], flags = 0): boolean {
    const size_bytes = Array.isArray(payload) ? (payload as readonly Buffer[]).reduce((n, p) => n + p.length, 0) : (payload as Buffer).length;
    if (size_bytes > MAX_PAYLOAD_BYTES) {
      throw new HakitError('HAKIT_E_MIRROR_BAD_FRAME', `refusing to send a frame of type ${type} with ${size_bytes} bytes of payload (limit ${MAX_PAYLOAD_BYTES})`, this.where);
    }
    if (this.closed) return false;
    const parts = encodeFrame(type, seq, payload, this.tx, flags);
    this.socket.cork();
    let ok = true;
    for (const p of parts) ok = this.socket.write(p);
    this.socket.uncork();
    return ok;
  }

  /**
   * Frames sent from now until the event loop's check phase are written to the socket then,
   * together, instead of at once: the caller's own answer (a FUSE reply) goes out first. On
   * a loopback or veth link the socket write also runs the peer's receive path and wakes it,
   * and a woken peer then competes with the woken application for the CPUs.
   */
  holdFramesThisTurn(): void {
    if (this.closed || this.held) return;
    this.held = true;
    this.socket.cork();
    setImmediate(() => this.releaseHeldFrames());
  }

  /** Writes the frames held this turn now: before the loop blocks on a local flush, so that
   *  SECOND works on them meanwhile. (The pending check-phase release then finds none.) */
  releaseHeldFrames(): void {
    if (!this.held) return;
    this.held = false;
    if (!this.closed) this.socket.uncork();
  }

  sendJson(type: FrameTypeCode, seq: number, body: unknown, flags = 0): boolean {
    return this.send(type, seq, Buffer.from(JSON.stringify(body)), flags);
  }

  get bufferedBytes(): number { return this.socket.writableLength; }

  close(err?: HakitError): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.emit('close', err);
  }

  /**
   * Sends what is queued, then half-closes: used after an ERROR frame, which the peer must
   * be able to read. Destroying at once would reset the connection while the peer is still
   * sending, and the peer would see ECONNRESET instead of the coded error. Incoming bytes
   * are read and dropped until the peer closes (or FINISH_LINGER_MS passes).
   */
  finish(err?: HakitError): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.removeAllListeners('data');
    this.socket.on('data', () => undefined);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), FINISH_LINGER_MS).unref();
    this.emit('close', err);
  }

  private onData(d: Buffer): void {
    if (this.closed) return;
    let frames: Frame[];
    const t0 = this.timed ? performance.now() : 0;
    try {
      frames = this.decoder.push(d);
    } catch (e) {
      this.close(e as HakitError);
      return;
    }
    if (this.timed) {
      this.rxAtMs = t0;
      this.rxDecodeMsPerFrame = frames.length > 0 ? (performance.now() - t0) / frames.length : 0;
    }
    for (const f of frames) {
      if (this.closed) return;
      this.emit('frame', f);
    }
  }
}

type ProofLabel = 'hakit-mirror-s' | 'hakit-mirror-c' | 'hakit-mirror-k';

/** Each variable-length field is length-prefixed, so no two transcripts hash alike. */
function proof(key: Buffer, label: ProofLabel, protection: FrameProtection, module: string, nc: Buffer, ns: Buffer): Buffer {
  const h = createHmac('sha256', key);
  for (const field of [label, protection, module]) {
    const bytes = Buffer.from(field, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(bytes.length);
    h.update(len).update(bytes);
  }
  return h.update(nc).update(ns).digest();
}

/** The `<rfs encrypt>` value behind a protection, for messages an admin acts on. */
function setting(p: FrameProtection): string {
  return p === 'encrypt' ? 'encrypt="on" (frames encrypted)' : 'encrypt="off" (frames authenticated, not encrypted)';
}

function protectionField(o: Record<string, unknown>, where: string): FrameProtection {
  const v = o.frames;
  if (!isFrameProtection(v)) throw new HakitError('HAKIT_E_MIRROR_AUTH', 'handshake field frames is malformed', where);
  return v;
}

function parseJson(f: Frame, want: FrameTypeCode, where: string): Record<string, unknown> {
  if (f.type !== want) throw new HakitError('HAKIT_E_MIRROR_AUTH', `expected handshake frame ${want}, got ${f.type}`, where);
  try {
    const v: unknown = JSON.parse(f.payload.toString('utf8'));
    if (typeof v === 'object' && v !== null) return v as Record<string, unknown>;
  } catch { /* fall through */ }
  throw new HakitError('HAKIT_E_MIRROR_AUTH', 'handshake frame is not a JSON object', where);
}

function hexField(o: Record<string, unknown>, k: string, bytes: number, where: string): Buffer {
  const v = o[k];
  if (typeof v !== 'string' || v.length !== bytes * 2 || !/^[0-9a-f]+$/.test(v)) {
    throw new HakitError('HAKIT_E_MIRROR_AUTH', `handshake field ${k} is malformed`, where);
  }
  return Buffer.from(v, 'hex');
}

function sameMac(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Reads handshake frames one at a time from a raw socket, with a deadline. */
function handshakeReader(socket: net.Socket, decoder: FrameDecoder, where: string, timeout_ms: number) {
  const queue: Frame[] = [];
  let waiter: ((f: Frame) => void) | undefined;
  let failer: ((e: Error) => void) | undefined;
  let failure: Error | undefined;
  const fail = (e: Error): void => { failure ??= e; failer?.(e); };
  const onData = (d: Buffer): void => {
    try {
      for (const f of decoder.push(d)) queue.push(f);
    } catch (e) { fail(e as Error); return; }
    if (waiter && queue.length > 0) waiter(queue.shift()!);
  };
  const onClose = (): void => fail(new HakitError('HAKIT_E_MIRROR_PEER_LOST', 'connection closed during handshake', where));
  // The socket's own error says why (nothing listens: connect ECONNREFUSED; no route; a reset):
  // an admin tells a stopped peer from a handshake problem by it. 'close' follows, too late.
  const onError = (e: NodeJS.ErrnoException): void => fail(new HakitError('HAKIT_E_MIRROR_PEER_LOST', `${e.syscall ?? 'socket'} failed: ${e.code ?? e.message}`, where));
  const timer = setTimeout(() => fail(new HakitError('HAKIT_E_MIRROR_HANDSHAKE_TIMEOUT', `no handshake within ${timeout_ms} ms`, where)), timeout_ms);
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', onError);
  return {
    next(): Promise<Frame> {
      return new Promise((resolve, reject) => {
        if (failure) return reject(failure);
        if (queue.length > 0) return resolve(queue.shift()!);
        waiter = (f) => { waiter = undefined; failer = undefined; resolve(f); };
        failer = (e) => { waiter = undefined; failer = undefined; reject(e); };
      });
    },
    done(): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
    },
  };
}

export interface HandshakeOptions {
  readonly key: Buffer;
  readonly module: string;
  readonly timeout_ms?: number;
  /** Both ends must agree; default DEFAULT_FRAME_PROTECTION ('auth'). */
  readonly protection?: FrameProtection;
  /** Sender: the longest gap between its frames once attached (it pings at least this often),
   *  named in HELLO so that the receiver may give up a connection silent for much longer; a
   *  sender that names none (an older version) is not held to any. */
  readonly keepalive_ms?: number;
}

/** The largest keepalive a HELLO may name; anything else is taken as none. */
const MAX_KEEPALIVE_MS = 60_000;

/** PRIM side: connect, prove knowledge of the key, check the receiver's proof. */
export function connectChannel(host: string, port: number, opts: HandshakeOptions): Promise<Channel> {
  return senderHandshake(net.connect({ host, port }), `mirror ${opts.module} -> ${host}:${port}`, opts);
}

/** PRIM side over a socket that is connecting or connected (unit tests use a Unix socket). */
export async function senderHandshake(socket: net.Socket, where: string, opts: HandshakeOptions): Promise<Channel> {
  const mine = opts.protection ?? DEFAULT_FRAME_PROTECTION;
  socket.setNoDelay(true);
  const decoder = new FrameDecoder(where);
  const reader = handshakeReader(socket, decoder, where, opts.timeout_ms ?? HANDSHAKE_TIMEOUT_MS);
  try {
    const nc = randomBytes(NONCE_BYTES);
    socket.write(Buffer.concat(encodeFrame(FrameType.HELLO, 0, Buffer.from(JSON.stringify({ v: PROTOCOL_VERSION, module: opts.module, nonce: nc.toString('hex'), frames: mine, ...(opts.keepalive_ms !== undefined ? { keepalive_ms: opts.keepalive_ms } : {}) })), null)));
    const ch = parseJson(await reader.next(), FrameType.CHALLENGE, where);
    // The receiver's claim is not authenticated yet: a forged one can only end this attempt
    // (as cutting the connection would); a matching one is checked by the proof below.
    const theirs = protectionField(ch, where);
    if (theirs !== mine) {
      throw new HakitError('HAKIT_E_MIRROR_PROTECTION', `receiver has <rfs> ${setting(theirs)}, this node has ${setting(mine)}: set the same <rfs encrypt> on both nodes`, where);
    }
    const ns = hexField(ch, 'nonce', NONCE_BYTES, where);
    const ps = hexField(ch, 'proof', 32, where);
    if (!sameMac(ps, proof(opts.key, 'hakit-mirror-s', mine, opts.module, nc, ns))) {
      throw new HakitError('HAKIT_E_MIRROR_AUTH', 'receiver does not know the cluster key (or the handshake was altered)', where);
    }
    const sessionKey = proof(opts.key, 'hakit-mirror-k', mine, opts.module, nc, ns);
    socket.write(Buffer.concat(encodeFrame(FrameType.AUTH, 0, Buffer.from(JSON.stringify({ proof: proof(opts.key, 'hakit-mirror-c', mine, opts.module, nc, ns).toString('hex') })), null)));
    decoder.authenticate(new FrameCipher(sessionKey, 1, mine));
    reader.done();
    return new Channel(socket, decoder, new FrameCipher(sessionKey, 0, mine), where);
  } catch (e) {
    reader.done();
    socket.destroy();
    throw e;
  }
}

/** SECOND side: answer a connection; resolves with an authenticated channel or rejects. */
export async function acceptChannel(socket: net.Socket, opts: HandshakeOptions): Promise<Channel> {
  const where = `mirror ${opts.module} <- ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  const mine = opts.protection ?? DEFAULT_FRAME_PROTECTION;
  socket.setNoDelay(true);
  const decoder = new FrameDecoder(where);
  const reader = handshakeReader(socket, decoder, where, opts.timeout_ms ?? HANDSHAKE_TIMEOUT_MS);
  let refused = false;
  try {
    const hello = parseJson(await reader.next(), FrameType.HELLO, where);
    if (hello.v !== PROTOCOL_VERSION) throw new HakitError('HAKIT_E_MIRROR_AUTH', `protocol version ${String(hello.v)} not supported`, where);
    if (hello.module !== opts.module) throw new HakitError('HAKIT_E_MIRROR_AUTH', `peer asks for module ${JSON.stringify(hello.module)}`, where);
    const nc = hexField(hello, 'nonce', NONCE_BYTES, where);
    const theirs = protectionField(hello, where);
    const ns = randomBytes(NONCE_BYTES);
    // Sent even when the protections differ, so that the sender can name both settings too;
    // the proof is bound to this node's protection and is useless for the other one.
    socket.write(Buffer.concat(encodeFrame(FrameType.CHALLENGE, 0, Buffer.from(JSON.stringify({
      nonce: ns.toString('hex'), proof: proof(opts.key, 'hakit-mirror-s', mine, opts.module, nc, ns).toString('hex'), frames: mine,
    })), null)));
    if (theirs !== mine) {
      refused = true;
      throw new HakitError('HAKIT_E_MIRROR_PROTECTION', `sender has <rfs> ${setting(theirs)}, this node has ${setting(mine)}: set the same <rfs encrypt> on both nodes`, where);
    }
    const auth = parseJson(await reader.next(), FrameType.AUTH, where);
    if (!sameMac(hexField(auth, 'proof', 32, where), proof(opts.key, 'hakit-mirror-c', mine, opts.module, nc, ns))) {
      throw new HakitError('HAKIT_E_MIRROR_AUTH', 'sender does not know the cluster key (or the handshake was altered)', where);
    }
    const sessionKey = proof(opts.key, 'hakit-mirror-k', mine, opts.module, nc, ns);
    decoder.authenticate(new FrameCipher(sessionKey, 0, mine));
    reader.done();
    const c = new Channel(socket, decoder, new FrameCipher(sessionKey, 1, mine), where);
    // Not covered by the proofs: forging it can only make this node keep or drop a
    // connection a man in the middle could cut anyway.
    const k = hello.keepalive_ms;
    if (typeof k === 'number' && Number.isFinite(k) && k > 0 && k <= MAX_KEEPALIVE_MS) c.peerKeepalive_ms = k;
    return c;
  } catch (e) {
    reader.done();
    if (refused) {
      // Let the CHALLENGE reach the sender before the FIN; the sender closes at once. The
      // socket outlives the reader's listeners: a reset must not become an uncaught error.
      socket.on('error', () => undefined);
      socket.end();
      setTimeout(() => socket.destroy(), FINISH_LINGER_MS).unref();
    } else {
      socket.destroy();
    }
    throw e;
  }
}
