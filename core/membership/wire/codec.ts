// Heartbeat wire format v2 (big-endian):
//   "HKHB" | version u8 | lan u8 | idlen u8 | node id (utf8) | incarnation u64 | seq u64 |
//   challenge (16 bytes) | echo (16 bytes) | payload length u32 | payload (JSON utf8) |
//   HMAC-SHA256(key, everything before) (32 bytes)
// The LAN index is inside the MAC so a packet recorded on one LAN cannot be replayed on
// another (each LAN has its own sequence counter and replay window: a peer must be heard on
// every LAN independently). Decoding never throws: every bad packet is a counted drop.
//
// Replay protection across restarts (docs/adr/0006-replay-protection.md): the sequence
// window lives in memory, so a receiver that restarts would take any recorded packet for
// fresh. Each encoder therefore carries a random challenge of its own life in every packet,
// and echoes the latest challenge it heard from the addressee; a receiver accepts a packet
// only when it echoes the receiver's current challenge, which no packet recorded before the
// receiver started can do. Incarnation floors (the newest incarnation of each peer ever
// accepted, kept durably by the caller) drop packets of a peer's earlier lives outright.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { HakitError } from '../../errors/catalogue';
import {
  MAC_BYTES,
  MAX_LAN_INDEX,
  MAX_NODE_ID_BYTES,
  MAX_PACKET_BYTES,
  MAX_TRACKED_SENDERS,
  MIN_KEY_BYTES,
  CHALLENGE_BYTES,
  WIRE_MAGIC,
  WIRE_VERSION,
} from './limits';
import { checkReplay, type ReplayEntry } from './pure/replay-window';

export const DROP_REASONS = [
  'too_big',
  'truncated',
  'bad_magic',
  'bad_version',
  'bad_mac',
  'malformed',
  'wrong_lan',
  'own_packet',
  'stale_incarnation',
  'replay',
  'too_old',
  'too_many_senders',
  'bad_payload',
  'wrong_source',
  'unverified',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export type DropCounters = Record<DropReason, number>;

export interface Heartbeat<P> {
  readonly node_id: string;
  readonly lan: number;
  readonly incarnation: number;
  readonly seq: number;
  readonly payload: P;
}

/**
 * A drop as `unverified` carries the parsed packet (authentic, fresh, but possibly recorded
 * before we started): enough to answer with our challenge, never to act on.
 */
export type DecodeResult<P> =
  | { readonly ok: true; readonly heartbeat: Heartbeat<P> }
  | { readonly ok: false; readonly reason: DropReason; readonly unverified?: Heartbeat<P> };

/** Turns decoded JSON into the payload type; returns undefined when the shape is wrong. */
export type PayloadParser<P> = (json: unknown) => P | undefined;

const HEADER_FIXED_BYTES = WIRE_MAGIC.length + 3; // magic, version, lan, idlen
const TRAILER_FIXED_BYTES = 8 + 8 + 2 * CHALLENGE_BYTES + 4; // incarnation, seq, challenge, echo, payload length
const NO_ECHO = Buffer.alloc(CHALLENGE_BYTES);

/** A fresh random challenge for one encoder's life. */
export function newChallenge(): Buffer {
  return randomBytes(CHALLENGE_BYTES);
}

function checkKey(key: Buffer): void {
  if (key.length < MIN_KEY_BYTES) {
    throw new HakitError('HAKIT_E_WIRE_BAD_KEY', `the cluster key has ${key.length} bytes, at least ${MIN_KEY_BYTES} are needed`, 'heartbeat codec');
  }
}

function mac(key: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', key).update(body).digest();
}

function checkLan(lan: number): void {
  if (!Number.isInteger(lan) || lan < 0 || lan > MAX_LAN_INDEX) {
    throw new HakitError('HAKIT_E_USAGE', `LAN index ${lan} is not an integer in 0..${MAX_LAN_INDEX}`, 'heartbeat codec');
  }
}

/** Writes this node's heartbeats; one sequence counter per LAN. */
export class HeartbeatEncoder {
  private readonly next_seq_by_lan = new Map<number, number>();
  private readonly node_id_bytes: Buffer;

  /**
   * `challenge`: this life's random challenge (randomness is an input: tests pass their
   * own); the decoder of the same process must be given the same bytes.
   */
  constructor(
    private readonly key: Buffer,
    readonly node_id: string,
    readonly incarnation: number,
    readonly challenge: Buffer = newChallenge(),
  ) {
    checkKey(key);
    if (challenge.length !== CHALLENGE_BYTES) {
      throw new HakitError('HAKIT_E_USAGE', `a challenge has ${CHALLENGE_BYTES} bytes, not ${challenge.length}`, 'heartbeat codec');
    }
    this.node_id_bytes = Buffer.from(node_id, 'utf8');
    if (this.node_id_bytes.length === 0 || this.node_id_bytes.length > MAX_NODE_ID_BYTES) {
      throw new HakitError('HAKIT_E_USAGE', `node id "${node_id}" must have 1..${MAX_NODE_ID_BYTES} bytes`, 'heartbeat codec');
    }
    if (!Number.isSafeInteger(incarnation) || incarnation < 0) {
      throw new HakitError('HAKIT_E_USAGE', `incarnation ${incarnation} is not a non-negative safe integer`, 'heartbeat codec');
    }
  }

  /** `echo`: the addressee's latest challenge (from HeartbeatDecoder.challengeOf), if heard. */
  encode(lan: number, payload: unknown, echo?: Buffer): Buffer {
    checkLan(lan);
    const body_json = Buffer.from(JSON.stringify(payload) ?? 'null', 'utf8');
    const total_bytes = HEADER_FIXED_BYTES + this.node_id_bytes.length + TRAILER_FIXED_BYTES + body_json.length + MAC_BYTES;
    if (total_bytes > MAX_PACKET_BYTES) {
      throw new HakitError('HAKIT_E_WIRE_PAYLOAD_TOO_BIG', `heartbeat of ${total_bytes} bytes exceeds ${MAX_PACKET_BYTES}`, `node ${this.node_id}`);
    }
    const seq = (this.next_seq_by_lan.get(lan) ?? 0) + 1;
    this.next_seq_by_lan.set(lan, seq);
    const buf = Buffer.alloc(total_bytes);
    let off = WIRE_MAGIC.copy(buf, 0);
    off = buf.writeUInt8(WIRE_VERSION, off);
    off = buf.writeUInt8(lan, off);
    off = buf.writeUInt8(this.node_id_bytes.length, off);
    off += this.node_id_bytes.copy(buf, off);
    off = buf.writeBigUInt64BE(BigInt(this.incarnation), off);
    off = buf.writeBigUInt64BE(BigInt(seq), off);
    off += this.challenge.copy(buf, off);
    off += (echo !== undefined && echo.length === CHALLENGE_BYTES ? echo : NO_ECHO).copy(buf, off);
    off = buf.writeUInt32BE(body_json.length, off);
    off += body_json.copy(buf, off);
    mac(this.key, buf.subarray(0, off)).copy(buf, off);
    return buf;
  }
}

interface RawPacket {
  readonly node_id: string;
  readonly lan: number;
  readonly incarnation: number;
  readonly seq: number;
  readonly challenge: Buffer;
  readonly echo: Buffer;
  readonly body: Buffer;
}

/** Layout checks only (no MAC): returns the fields or the reason the bytes are not a packet. */
function parseLayout(buf: Buffer): RawPacket | DropReason {
  if (buf.length > MAX_PACKET_BYTES) return 'too_big';
  if (buf.length < HEADER_FIXED_BYTES) return 'truncated';
  if (!buf.subarray(0, WIRE_MAGIC.length).equals(WIRE_MAGIC)) return 'bad_magic';
  let off = WIRE_MAGIC.length;
  if (buf.readUInt8(off++) !== WIRE_VERSION) return 'bad_version';
  const lan = buf.readUInt8(off++);
  const id_bytes = buf.readUInt8(off++);
  if (id_bytes === 0 || id_bytes > MAX_NODE_ID_BYTES) return 'malformed';
  if (buf.length < off + id_bytes + TRAILER_FIXED_BYTES + MAC_BYTES) return 'truncated';
  const node_id = buf.toString('utf8', off, off + id_bytes);
  off += id_bytes;
  const incarnation = buf.readBigUInt64BE(off);
  const seq = buf.readBigUInt64BE(off + 8);
  const challenge = buf.subarray(off + 16, off + 16 + CHALLENGE_BYTES);
  const echo = buf.subarray(off + 16 + CHALLENGE_BYTES, off + 16 + 2 * CHALLENGE_BYTES);
  const body_bytes = buf.readUInt32BE(off + 16 + 2 * CHALLENGE_BYTES);
  off += TRAILER_FIXED_BYTES;
  if (buf.length < off + body_bytes + MAC_BYTES) return 'truncated';
  if (buf.length !== off + body_bytes + MAC_BYTES) return 'malformed';
  if (incarnation > BigInt(Number.MAX_SAFE_INTEGER) || seq > BigInt(Number.MAX_SAFE_INTEGER)) return 'malformed';
  return { node_id, lan, incarnation: Number(incarnation), seq: Number(seq), challenge, echo, body: buf.subarray(off, off + body_bytes) };
}

function emptyCounters(): DropCounters {
  return Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as DropCounters;
}

/** Durable per-peer incarnation floors (core/membership/transport/floor-file.ts; a fake in tests). */
export interface IncarnationFloors {
  /** The newest incarnation of `node_id` ever accepted (0 when none). */
  floor(node_id: string): number;
  /** Records that `incarnation` of `node_id` was accepted (no-op unless it is newer). */
  raise(node_id: string, incarnation: number): void;
}

export interface DecoderOptions {
  /**
   * This process's challenge (the encoder's): a packet is accepted only when it echoes it.
   * Without one, a fresh random challenge is made (nothing can echo it until the peer hears
   * it: pass the encoder's).
   */
  readonly challenge?: Buffer;
  /** Drops packets of incarnations below the floor and raises the floor on acceptance. */
  readonly floors?: IncarnationFloors;
  /** Binds a sender to its configured addresses: false drops the packet as `wrong_source`. */
  readonly sourceAllowed?: (node_id: string, lan: number, address: string) => boolean;
  /** Called when a peer's challenge changes (it restarted, or we did): answer it soon. */
  readonly onNewChallenge?: (node_id: string) => void;
}

interface PeerChallenge {
  readonly incarnation: number;
  readonly challenge: Buffer;
}

/** Reads peers' heartbeats: authenticates, rejects replays, counts every drop by reason. */
export class HeartbeatDecoder<P> {
  private readonly windows = new Map<string, ReplayEntry>();
  private readonly challenges = new Map<string, PeerChallenge>();
  private readonly drops: DropCounters = emptyCounters();
  private readonly own_challenge: Buffer;
  private accepted_count = 0;

  constructor(
    private readonly key: Buffer,
    private readonly own_node_id: string,
    private readonly parsePayload: PayloadParser<P>,
    private readonly o: DecoderOptions = {},
  ) {
    checkKey(key);
    this.own_challenge = o.challenge ?? newChallenge();
  }

  /** The latest challenge heard from `node_id` (to echo in packets to it). */
  challengeOf(node_id: string): Buffer | undefined {
    return this.challenges.get(node_id)?.challenge;
  }

  /**
   * `lan` is the LAN whose socket received the bytes; `from_address` the datagram's source
   * address (checked against the sender's configured addresses when the options say how).
   */
  decode(buf: Buffer, lan: number, from_address?: string): DecodeResult<P> {
    try {
      return this.decodeUnsafe(buf, lan, from_address);
    } catch {
      // A parser bug must not take the receive loop down: count it as a bad payload.
      return this.drop('bad_payload');
    }
  }

  private decodeUnsafe(buf: Buffer, lan: number, from_address: string | undefined): DecodeResult<P> {
    const raw = parseLayout(buf);
    if (typeof raw === 'string') return this.drop(raw);
    const tag_at = buf.length - MAC_BYTES;
    const expected = mac(this.key, buf.subarray(0, tag_at));
    if (!timingSafeEqual(expected, buf.subarray(tag_at))) return this.drop('bad_mac');
    if (raw.lan !== lan) return this.drop('wrong_lan');
    if (raw.node_id === this.own_node_id) return this.drop('own_packet');
    if (this.o.sourceAllowed && (from_address === undefined || !this.o.sourceAllowed(raw.node_id, lan, from_address))) return this.drop('wrong_source');
    if (this.o.floors && raw.incarnation < this.o.floors.floor(raw.node_id)) return this.drop('stale_incarnation');
    const window_key = `${raw.node_id}\u0000${lan}`;
    const previous = this.windows.get(window_key);
    if (previous === undefined && this.windows.size >= MAX_TRACKED_SENDERS) return this.drop('too_many_senders');
    const check = checkReplay(previous, raw.incarnation, raw.seq);
    if (check.verdict !== 'fresh') return this.drop(check.verdict);
    if (check.entry) this.windows.set(window_key, check.entry);
    // The freshest packet of a sender tells its current challenge, verified or not: the
    // sender may not have heard ours yet (it, or we, just started).
    this.learnChallenge(raw.node_id, raw.incarnation, raw.challenge);
    let json: unknown;
    try {
      json = JSON.parse(raw.body.toString('utf8'));
    } catch {
      return this.drop('bad_payload');
    }
    const payload = this.parsePayload(json);
    if (payload === undefined) return this.drop('bad_payload');
    const heartbeat: Heartbeat<P> = { node_id: raw.node_id, lan, incarnation: raw.incarnation, seq: raw.seq, payload };
    if (!timingSafeEqual(raw.echo, this.own_challenge)) {
      this.drops.unverified++;
      return { ok: false, reason: 'unverified', unverified: heartbeat };
    }
    this.o.floors?.raise(raw.node_id, raw.incarnation);
    this.accepted_count++;
    return { ok: true, heartbeat };
  }

  private learnChallenge(node_id: string, incarnation: number, challenge: Buffer): void {
    const known = this.challenges.get(node_id);
    if (known !== undefined && (incarnation < known.incarnation || known.challenge.equals(challenge))) return;
    if (known === undefined && this.challenges.size >= MAX_TRACKED_SENDERS) return;
    this.challenges.set(node_id, { incarnation, challenge: Buffer.from(challenge) });
    this.o.onNewChallenge?.(node_id);
  }

  private drop(reason: DropReason): DecodeResult<P> {
    this.drops[reason]++;
    return { ok: false, reason };
  }

  /** A copy of the drop counters since this decoder was made. */
  dropCounters(): DropCounters {
    return { ...this.drops };
  }

  acceptedCount(): number {
    return this.accepted_count;
  }
}
