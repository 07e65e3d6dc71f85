// Heartbeat wire format (big-endian). Version 3:
//   "HKHB" | version u8 | min u8 | max u8 | lan u8 | idlen u8 | node id (utf8) | incarnation u64 |
//   seq u64 | challenge (16 bytes) | echo (16 bytes) | payload length u32 | payload (JSON utf8) |
//   HMAC-SHA256(key, everything before) (32 bytes)
// Version 2 is the same without `min` and `max` (a version-2 sender speaks 2 only).
// The envelope (magic, version, min, max, lan, idlen, node id, incarnation) and the MAC over
// everything before the last 32 bytes stay the same in every version from 3 on, so that a
// node can authenticate a packet of a version it cannot read and learn which versions its
// sender speaks: version negotiation for rolling upgrades (wire/pure/negotiate.ts,
// docs/architecture.md "Upgrades"). Such a packet is counted (`unsupported_version`) and never
// used. Versions below 2 have no readable envelope (`bad_version`).
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
// Every version this code speaks carries all of these guards.
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
  WIRE_VERSION_MAX,
  WIRE_VERSION_MIN,
} from './limits';
import { isWireRange, rangeText, type WireRange } from './pure/negotiate';
import { checkReplay, type ReplayEntry } from './pure/replay-window';

/** The versions this code reads and writes. */
export const OWN_WIRE_RANGE: WireRange = { min: WIRE_VERSION_MIN, max: WIRE_VERSION_MAX };
/** The first version whose envelope carries the sender's range. */
const RANGED_VERSION = 3;

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
  'unsupported_version',
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

/** magic, version, lan, idlen (version 2); version 3 adds min and max after the version. */
const HEADER_FIXED_BYTES = WIRE_MAGIC.length + 3;
const rangeBytes = (version: number): number => (version >= RANGED_VERSION ? 2 : 0);
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
    /** The versions this node speaks, announced in every packet of version 3 or later. */
    readonly range: WireRange = OWN_WIRE_RANGE,
  ) {
    checkKey(key);
    if (!isWireRange(range) || range.min < OWN_WIRE_RANGE.min || range.max > OWN_WIRE_RANGE.max) {
      throw new HakitError('HAKIT_E_USAGE', `wire versions ${rangeText(range)} are not within the ${rangeText(OWN_WIRE_RANGE)} this code speaks`, 'heartbeat codec');
    }
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

  /**
   * `echo`: the addressee's latest challenge (from HeartbeatDecoder.challengeOf), if heard.
   * `version`: the one negotiated with the addressee (wire/pure/negotiate.ts); default the
   * lowest of this encoder's range, which every peer with a version in common reads.
   */
  encode(lan: number, payload: unknown, echo?: Buffer, version: number = this.range.min): Buffer {
    checkLan(lan);
    if (!Number.isInteger(version) || version < this.range.min || version > this.range.max) {
      throw new HakitError('HAKIT_E_USAGE', `wire version ${version} is not within ${rangeText(this.range)}`, 'heartbeat codec');
    }
    const body_json = Buffer.from(JSON.stringify(payload) ?? 'null', 'utf8');
    const total_bytes = HEADER_FIXED_BYTES + rangeBytes(version) + this.node_id_bytes.length + TRAILER_FIXED_BYTES + body_json.length + MAC_BYTES;
    if (total_bytes > MAX_PACKET_BYTES) {
      throw new HakitError('HAKIT_E_WIRE_PAYLOAD_TOO_BIG', `heartbeat of ${total_bytes} bytes exceeds ${MAX_PACKET_BYTES}`, `node ${this.node_id}`);
    }
    const seq = (this.next_seq_by_lan.get(lan) ?? 0) + 1;
    this.next_seq_by_lan.set(lan, seq);
    const buf = Buffer.alloc(total_bytes);
    let off = WIRE_MAGIC.copy(buf, 0);
    off = buf.writeUInt8(version, off);
    if (version >= RANGED_VERSION) {
      off = buf.writeUInt8(this.range.min, off);
      off = buf.writeUInt8(this.range.max, off);
    }
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

/** The part of a packet every version from 3 on shares (and version 2 has, in its own places). */
interface Envelope {
  readonly version: number;
  /** The versions the sender speaks (a version-2 packet: 2 only). */
  readonly range: WireRange;
  readonly lan: number;
  readonly node_id: string;
  readonly incarnation: number;
  /** Where the version-specific part starts (after the incarnation). */
  readonly body_at: number;
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

/** Envelope checks only (no MAC): returns the fields or the reason the bytes are not a packet. */
function parseEnvelope(buf: Buffer): Envelope | DropReason {
  if (buf.length > MAX_PACKET_BYTES) return 'too_big';
  if (buf.length < HEADER_FIXED_BYTES) return 'truncated';
  if (!buf.subarray(0, WIRE_MAGIC.length).equals(WIRE_MAGIC)) return 'bad_magic';
  let off = WIRE_MAGIC.length;
  const version = buf.readUInt8(off++);
  if (version < WIRE_VERSION_MIN) return 'bad_version';
  let range: WireRange = { min: version, max: version };
  if (version >= RANGED_VERSION) {
    if (buf.length < off + 2 + 2) return 'truncated';
    range = { min: buf.readUInt8(off), max: buf.readUInt8(off + 1) };
    off += 2;
    // A sender writes only versions it speaks.
    if (!isWireRange(range) || version < range.min || version > range.max) return 'malformed';
  }
  const lan = buf.readUInt8(off++);
  const id_bytes = buf.readUInt8(off++);
  if (id_bytes === 0 || id_bytes > MAX_NODE_ID_BYTES) return 'malformed';
  if (buf.length < off + id_bytes + 8 + MAC_BYTES) return 'truncated';
  const node_id = buf.toString('utf8', off, off + id_bytes);
  off += id_bytes;
  const incarnation = buf.readBigUInt64BE(off);
  if (incarnation > BigInt(Number.MAX_SAFE_INTEGER)) return 'malformed';
  return { version, range, lan, node_id, incarnation: Number(incarnation), body_at: off + 8 };
}

/** The rest of a packet of version 2 or 3 (the same after the envelope). */
function parseBody(buf: Buffer, env: Envelope): RawPacket | DropReason {
  let off = env.body_at;
  if (buf.length < off + TRAILER_FIXED_BYTES - 8 + MAC_BYTES) return 'truncated';
  const seq = buf.readBigUInt64BE(off);
  const challenge = buf.subarray(off + 8, off + 8 + CHALLENGE_BYTES);
  const echo = buf.subarray(off + 8 + CHALLENGE_BYTES, off + 8 + 2 * CHALLENGE_BYTES);
  const body_bytes = buf.readUInt32BE(off + 8 + 2 * CHALLENGE_BYTES);
  off += TRAILER_FIXED_BYTES - 8;
  if (buf.length < off + body_bytes + MAC_BYTES) return 'truncated';
  if (buf.length !== off + body_bytes + MAC_BYTES) return 'malformed';
  if (seq > BigInt(Number.MAX_SAFE_INTEGER)) return 'malformed';
  return { node_id: env.node_id, lan: env.lan, incarnation: env.incarnation, seq: Number(seq), challenge, echo, body: buf.subarray(off, off + body_bytes) };
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
  /** The versions this node reads (default all this code speaks); others are `unsupported_version`. */
  readonly versions?: WireRange;
  /**
   * Called with the version range of every authentic packet from an allowed source and a
   * current life of its sender, readable or not (wire/pure/negotiate.ts decides what to send).
   */
  readonly onPeerRange?: (node_id: string, incarnation: number, range: WireRange) => void;
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

  private readable(version: number): boolean {
    const v = this.o.versions ?? OWN_WIRE_RANGE;
    return version >= Math.max(v.min, OWN_WIRE_RANGE.min) && version <= Math.min(v.max, OWN_WIRE_RANGE.max);
  }

  private decodeUnsafe(buf: Buffer, lan: number, from_address: string | undefined): DecodeResult<P> {
    const env = parseEnvelope(buf);
    if (typeof env === 'string') return this.drop(env);
    const readable = this.readable(env.version);
    const raw = readable ? parseBody(buf, env) : undefined;
    if (typeof raw === 'string') return this.drop(raw);
    // The same authentication for every version, readable or not.
    const tag_at = buf.length - MAC_BYTES;
    const expected = mac(this.key, buf.subarray(0, tag_at));
    if (!timingSafeEqual(expected, buf.subarray(tag_at))) return this.drop('bad_mac');
    if (env.lan !== lan) return this.drop('wrong_lan');
    if (env.node_id === this.own_node_id) return this.drop('own_packet');
    if (this.o.sourceAllowed && (from_address === undefined || !this.o.sourceAllowed(env.node_id, lan, from_address))) return this.drop('wrong_source');
    if (this.o.floors && env.incarnation < this.o.floors.floor(env.node_id)) return this.drop('stale_incarnation');
    this.o.onPeerRange?.(env.node_id, env.incarnation, env.range);
    if (raw === undefined) return this.drop('unsupported_version');
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
