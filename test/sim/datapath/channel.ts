// A fake replication connection: frames in order like TCP, with a latency from the seeded
// PRNG, cuts (silent: frames vanish and nobody is told), stalls (the reader stops reading),
// resets (both ends hear the close) and garbage injected on the wire. Frames are encoded,
// authenticated and decoded by the real frame code (core/mirror/stream/frame.ts): a garbage
// or forged frame is refused by FrameDecoder as it is on a real socket, and the receiving
// end closes the connection with the decoder's code.
import { HakitError } from '../../../core/errors/catalogue';
import { FrameCipher, FrameDecoder, encodeFrame, type Frame, type FrameTypeCode } from '../../../core/mirror/stream/frame';
import type { Prng } from '../prng';

export type End = 'prim' | 'second';

export interface ConnHandlers {
  /** Frames arriving at `end` (in order). */
  frame(conn: Conn, end: End, f: Frame): void;
  /** `end` learns the connection is closed (err: why, from its point of view). */
  closed(conn: Conn, end: End, err: HakitError): void;
}

export interface Scheduler {
  readonly now: number;
  readonly rng: Prng;
  at(t: number, what: string, fn: () => void): void;
}

/** One key for every simulated session: the handshake (channel.ts) is not simulated here. */
const SESSION_KEY = fixedKey(11);
/** Another key: frames sealed with it are what an unauthenticated sender produces. */
const FORGER_KEY = fixedKey(97);

function fixedKey(salt: number): Buffer {
  const b = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) b[i] = (i * 73 + salt) & 0xff;
  return b;
}

class Direction {
  lastAt = 0;
  stalledUntil = 0;
  readonly seal: FrameCipher;
  readonly decoder: FrameDecoder;
  constructor(dir: 0 | 1, where: string) {
    this.seal = new FrameCipher(SESSION_KEY, dir, 'auth');
    this.decoder = new FrameDecoder(where);
    this.decoder.authenticate(new FrameCipher(SESSION_KEY, dir, 'auth'));
  }
}

export class Conn {
  /** Closed for each end once it knows (or closed it itself). */
  private readonly closedAt = { prim: false, second: false };
  /** Cut: nothing passes any more, and nobody is told. */
  cut = false;
  private readonly dirs: { prim: Direction; second: Direction };
  bytesSent = 0;

  /** `id`: numbered by the world (a replay prints the same ids). */
  constructor(readonly id: number, private readonly s: Scheduler, private readonly h: ConnHandlers, readonly latency: { min_ms: number; max_ms: number }) {
    // dirs[to]: the direction that delivers to `to`.
    this.dirs = { second: new Direction(0, `sim conn ${this.id} -> second`), prim: new Direction(1, `sim conn ${this.id} -> prim`) };
  }

  isClosed(end: End): boolean { return this.closedAt[end] || this.cut; }

  private deliveryTime(to: End): number {
    const d = this.dirs[to];
    const spike = this.s.rng.chance(0.02) ? this.s.rng.int(5, 60) : 0;
    const t = Math.max(d.lastAt, d.stalledUntil, this.s.now + this.latency.min_ms + this.s.rng.next() * (this.latency.max_ms - this.latency.min_ms) + spike);
    d.lastAt = t;
    return t;
  }

  send(from: End, type: FrameTypeCode, seq: number, payload: Buffer | readonly Buffer[], flags = 0): void {
    if (this.isClosed(from)) return;
    const to: End = from === 'prim' ? 'second' : 'prim';
    const bytes = Buffer.concat(encodeFrame(type, seq, payload, this.dirs[to].seal, flags));
    this.bytesSent += bytes.length;
    this.deliverBytes(to, bytes);
  }

  /** Bytes nobody authenticated (a forged or corrupted frame) arrive at `to`. */
  injectGarbage(to: End, kind: 'random' | 'forged'): void {
    if (this.isClosed(to)) return;
    let bytes: Buffer;
    if (kind === 'random') {
      bytes = Buffer.alloc(this.s.rng.int(1, 64));
      for (let i = 0; i < bytes.length; i++) bytes[i] = this.s.rng.int(0, 255);
    } else {
      // A well-formed OP frame under another key: its tag cannot verify.
      const other = new FrameCipher(FORGER_KEY, to === 'second' ? 0 : 1, 'auth');
      bytes = Buffer.concat(encodeFrame(11 as FrameTypeCode, 1, Buffer.from([1, 0, 0]), other));
    }
    this.deliverBytes(to, bytes);
  }

  private deliverBytes(to: End, bytes: Buffer): void {
    const t = this.deliveryTime(to);
    this.s.at(t, `conn ${this.id} bytes -> ${to}`, () => {
      if (this.isClosed(to)) return;
      let frames: Frame[];
      try {
        frames = this.dirs[to].decoder.push(bytes);
      } catch (e) {
        this.close(to, e as HakitError);
        return;
      }
      for (const f of frames) {
        if (this.isClosed(to)) return;
        this.h.frame(this, to, f);
      }
    });
  }

  /** `end` closes the connection; the other end hears it one latency later (unless cut). */
  close(end: End, err: HakitError): void {
    if (this.closedAt[end]) return;
    this.closedAt[end] = true;
    this.h.closed(this, end, err);
    const other: End = end === 'prim' ? 'second' : 'prim';
    if (this.cut) return;
    const t = this.deliveryTime(other);
    this.s.at(t, `conn ${this.id} close -> ${other}`, () => {
      if (this.closedAt[other] || this.cut) return;
      this.closedAt[other] = true;
      this.h.closed(this, other, new HakitError('HAKIT_E_MIRROR_PEER_LOST', `peer closed: ${err.code}`, `sim conn ${this.id}`));
    });
  }

  /** The network drops everything from now on, silently (each end finds out by its timeouts). */
  cutSilently(): void { this.cut = true; }

  /** The reader at `to` stops reading until `until` (frames queue up, in order). */
  stall(to: End, until: number): void {
    const d = this.dirs[to];
    d.stalledUntil = Math.max(d.stalledUntil, until);
  }

  /** A connection whose ends are both gone (a process died): frames in flight vanish. */
  destroy(): void {
    this.closedAt.prim = true;
    this.closedAt.second = true;
  }
}
