// Replication frames: a 16-byte header, a payload and (after the handshake) a 16-byte tag.
//   magic u16 'HM' | type u8 | flags u8 | payload length u32 | seq u64 (as a double-safe int)
// After the handshake every frame carries an AES-GCM tag under the per-session key, with the
// nonce (direction u32 | frame counter u64): each nonce is used once, so replayed, dropped or
// reordered frames fail like forged ones. Two protections, agreed in the handshake:
//   'auth'    (default) the payload travels in clear; the tag is GMAC over header || payload
//             (AES-GCM with everything as additional data and no plaintext). As DRBD, we
//             authenticate the peer and the stream but do not hide the data on the
//             replication LAN: seal + open run 2.1-2.7x faster than with encryption, which
//             adds 0.4-0.8 ms per MiB to every synchronous write (`npm run bench -- frames`).
//   'encrypt' the payload is encrypted with AES-256-GCM, the header being additional data.
// HMAC-SHA256 was rejected earlier: ~200 us per 128 KiB write on this hardware (docs/mirror.md).
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { HakitError } from '../../errors/catalogue';

export const FRAME_MAGIC = 0x484d;
export const HEADER_BYTES = 16;
export const MAC_BYTES = 16;
/** Largest payload accepted: one 128 KiB FUSE write plus its path, with room to spare;
 *  manifest responses are sent in chunks below this. */
export const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;
/** Handshake frames are tiny; anything bigger before authentication is garbage. */
export const MAX_HANDSHAKE_PAYLOAD_BYTES = 1024;

/** Header flag bits. MORE: this response continues in the next RESP frame of the same id.
 *  ACK_NOW (on an OP): the sender waits for this op's ACK (a caller blocked on it), so SECOND
 *  acknowledges it as soon as it is applied instead of folding it into a later ACK
 *  (core/mirror/pure/ack-plan.ts). A receiver that does not know the flag ignores it. */
export const FrameFlag = { MORE: 0x01, ACK_NOW: 0x02 } as const;

export const FrameType = {
  HELLO: 1, CHALLENGE: 2, AUTH: 3,
  WELCOME: 10, OP: 11, ACK: 12, REQ: 13, RESP: 14, STATE: 15, PING: 16, PONG: 17, ERROR: 18,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];
const KNOWN_TYPES = new Set<number>(Object.values(FrameType));
const HANDSHAKE_TYPES = new Set<number>([FrameType.HELLO, FrameType.CHALLENGE, FrameType.AUTH]);

export interface Frame {
  readonly type: FrameTypeCode;
  readonly flags: number;
  readonly seq: number;
  readonly payload: Buffer;
}

/** How frames are protected after the handshake (`<rfs encrypt="on|off">`). */
export type FrameProtection = 'auth' | 'encrypt';
export const FRAME_PROTECTIONS: readonly FrameProtection[] = ['auth', 'encrypt'];
export const DEFAULT_FRAME_PROTECTION: FrameProtection = 'auth';

export function isFrameProtection(v: unknown): v is FrameProtection {
  return v === 'auth' || v === 'encrypt';
}

/**
 * A payload view shorter than this share of its backing memory is copied on receipt: in
 * 'auth' mode the payload is a view into the socket's read buffers, and a small op kept in
 * the apply queue must not pin a whole 64 KiB read (the queue's byte bound counts payloads).
 */
const MIN_VIEW_SHARE = 0.5;

/** Per-direction AES-GCM state of one session; null before the handshake is complete. */
export class FrameCipher {
  private counter = 0;
  constructor(private readonly key: Buffer, private readonly direction: 0 | 1, readonly protection: FrameProtection) {}

  private nextNonce(): Buffer {
    const nonce = Buffer.alloc(12);
    nonce.writeUInt32BE(this.direction, 0);
    nonce.writeDoubleBE(this.counter++, 4);
    return nonce;
  }

  /**
   * Protects one frame (header as additional data); returns the body parts to send and the
   * tag. 'auth' returns the caller's parts themselves: each part is fed to GHASH by its own
   * setAAD call (several calls hash exactly like one call over the concatenation), so a
   * payload given in parts is never joined or copied.
   */
  seal(header: Buffer, parts: readonly Buffer[]): { body: Buffer[]; tag: Buffer } {
    const g = createCipheriv('aes-256-gcm', this.key, this.nextNonce());
    g.setAAD(header);
    const body: Buffer[] = [];
    if (this.protection === 'auth') {
      for (const part of parts) {
        if (part.length === 0) continue;
        g.setAAD(part);
        body.push(part);
      }
      g.final();
    } else {
      for (const part of parts) if (part.length > 0) body.push(g.update(part));
      const last = g.final();
      if (last.length > 0) body.push(last);
    }
    return { body, tag: g.getAuthTag().subarray(0, MAC_BYTES) };
  }

  /** Verifies (and in 'encrypt' mode decrypts); undefined when the tag does not verify. */
  open(header: Buffer, body: Buffer, tag: Buffer): Buffer | undefined {
    const d = createDecipheriv('aes-256-gcm', this.key, this.nextNonce());
    d.setAAD(header);
    d.setAuthTag(tag);
    let payload: Buffer;
    if (this.protection === 'auth') {
      if (body.length > 0) d.setAAD(body);
      payload = body;
    } else {
      payload = body.length > 0 ? d.update(body) : Buffer.alloc(0);
    }
    try {
      d.final();
    } catch {
      return undefined;
    }
    if (this.protection === 'auth' && payload.length < payload.buffer.byteLength * MIN_VIEW_SHARE) return Buffer.from(payload);
    return payload;
  }
}

/** Encodes one frame; a payload given in parts is protected part by part (never joined). */
export function encodeFrame(type: FrameTypeCode, seq: number, payload: Buffer | readonly Buffer[], cipher: FrameCipher | null, flags = 0): Buffer[] {
  const parts = Array.isArray(payload) ? (payload as readonly Buffer[]) : [payload as Buffer];
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt16BE(FRAME_MAGIC, 0);
  header.writeUInt8(type, 2);
  header.writeUInt8(flags, 3);
  header.writeUInt32BE(parts.reduce((n, p) => n + p.length, 0), 4);
  header.writeBigUInt64BE(BigInt(seq), 8);
  if (!cipher) return [header, ...parts];
  const { body, tag } = cipher.seal(header, parts);
  return [header, ...body, tag];
}

/**
 * Incremental decoder. Throws a coded error on the first bad byte; the caller closes the
 * connection (garbage is never skipped: resynchronising would let an attacker probe).
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private mac: FrameCipher | null = null;

  constructor(private readonly where: string) {}

  authenticate(cipher: FrameCipher): void { this.mac = cipher; }

  push(data: Buffer): Frame[] {
    this.chunks.push(data);
    this.buffered += data.length;
    const out: Frame[] = [];
    for (;;) {
      if (this.buffered < HEADER_BYTES) break;
      const head = this.peek(HEADER_BYTES);
      const len = this.checkHeader(head);
      const total = HEADER_BYTES + len + (this.mac ? MAC_BYTES : 0);
      if (this.buffered < total) break;
      const all = this.take(total);
      const header = all.subarray(0, HEADER_BYTES);
      let payload = all.subarray(HEADER_BYTES, HEADER_BYTES + len);
      if (this.mac) {
        const plain = this.mac.open(header, payload, all.subarray(HEADER_BYTES + len));
        if (!plain) throw new HakitError('HAKIT_E_MIRROR_AUTH', 'frame tag does not verify', this.where);
        payload = plain;
      }
      out.push({ type: header.readUInt8(2) as FrameTypeCode, flags: header.readUInt8(3), seq: Number(header.readBigUInt64BE(8)), payload });
    }
    return out;
  }

  private checkHeader(head: Buffer): number {
    if (head.readUInt16BE(0) !== FRAME_MAGIC) throw new HakitError('HAKIT_E_MIRROR_BAD_FRAME', 'bad frame magic', this.where);
    const type = head.readUInt8(2);
    if (!KNOWN_TYPES.has(type)) throw new HakitError('HAKIT_E_MIRROR_BAD_FRAME', `unknown frame type ${type}`, this.where);
    const authed = this.mac !== null;
    if (authed === HANDSHAKE_TYPES.has(type)) {
      throw new HakitError(authed ? 'HAKIT_E_MIRROR_BAD_FRAME' : 'HAKIT_E_MIRROR_AUTH', `frame type ${type} not allowed ${authed ? 'after' : 'before'} authentication`, this.where);
    }
    const len = head.readUInt32BE(4);
    const max = authed ? MAX_PAYLOAD_BYTES : MAX_HANDSHAKE_PAYLOAD_BYTES;
    if (len > max) throw new HakitError('HAKIT_E_MIRROR_BAD_FRAME', `payload of ${len} bytes exceeds ${max}`, this.where);
    if (head.readBigUInt64BE(8) > BigInt(Number.MAX_SAFE_INTEGER)) throw new HakitError('HAKIT_E_MIRROR_BAD_FRAME', 'sequence number too large', this.where);
    return len;
  }

  /** The first n buffered bytes (n <= buffered); copies only when they span chunks. */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return this.gather(n, false);
  }

  /**
   * Removes and returns the first n buffered bytes (n <= buffered). A frame inside one socket
   * read is a view; one that spans reads is copied once, alone: joining every buffered chunk
   * (as this did) copied the whole next read at each frame boundary, a second copy of nearly
   * every byte of a bulk stream (8 KiB frames in 64 KiB reads).
   */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = this.gather(n, true);
    }
    this.buffered -= n;
    return out;
  }

  /** Copies the first n bytes out of the chunks; `consume`: drops them from the chunks. */
  private gather(n: number, consume: boolean): Buffer {
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    let i = 0;
    while (at < n) {
      const c = this.chunks[i]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (!consume) { i++; continue; }
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
