// Heartbeat wire format v1 (big-endian):
//   "HKHB" | version u8 | lan u8 | idlen u8 | node id (utf8) | incarnation u64 | seq u64 |
//   payload length u32 | payload (JSON utf8) | HMAC-SHA256(key, everything before) (32 bytes)
// The LAN index is inside the MAC so a packet recorded on one LAN cannot be replayed on
// another (each LAN has its own sequence counter and replay window: a peer must be heard on
// every LAN independently). Decoding never throws: every bad packet is a counted drop.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { HakitError } from '../../errors/catalogue';
import {
  MAC_BYTES,
  MAX_LAN_INDEX,
  MAX_NODE_ID_BYTES,
  MAX_PACKET_BYTES,
  MAX_TRACKED_SENDERS,
  MIN_KEY_BYTES,
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

export type DecodeResult<P> = { readonly ok: true; readonly heartbeat: Heartbeat<P> } | { readonly ok: false; readonly reason: DropReason };

/** Turns decoded JSON into the payload type; returns undefined when the shape is wrong. */
export type PayloadParser<P> = (json: unknown) => P | undefined;

const HEADER_FIXED_BYTES = WIRE_MAGIC.length + 3; // magic, version, lan, idlen
const TRAILER_FIXED_BYTES = 8 + 8 + 4; // incarnation, seq, payload length

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

  constructor(
    private readonly key: Buffer,
    readonly node_id: string,
    readonly incarnation: number,
  ) {
    checkKey(key);
    this.node_id_bytes = Buffer.from(node_id, 'utf8');
    if (this.node_id_bytes.length === 0 || this.node_id_bytes.length > MAX_NODE_ID_BYTES) {
      throw new HakitError('HAKIT_E_USAGE', `node id "${node_id}" must have 1..${MAX_NODE_ID_BYTES} bytes`, 'heartbeat codec');
    }
    if (!Number.isSafeInteger(incarnation) || incarnation < 0) {
      throw new HakitError('HAKIT_E_USAGE', `incarnation ${incarnation} is not a non-negative safe integer`, 'heartbeat codec');
    }
  }

  encode(lan: number, payload: unknown): Buffer {
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
  const body_bytes = buf.readUInt32BE(off + 16);
  off += TRAILER_FIXED_BYTES;
  if (buf.length < off + body_bytes + MAC_BYTES) return 'truncated';
  if (buf.length !== off + body_bytes + MAC_BYTES) return 'malformed';
  if (incarnation > BigInt(Number.MAX_SAFE_INTEGER) || seq > BigInt(Number.MAX_SAFE_INTEGER)) return 'malformed';
  return { node_id, lan, incarnation: Number(incarnation), seq: Number(seq), body: buf.subarray(off, off + body_bytes) };
}

function emptyCounters(): DropCounters {
  return Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as DropCounters;
}

/** Reads peers' heartbeats: authenticates, rejects replays, counts every drop by reason. */
export class HeartbeatDecoder<P> {
  private readonly windows = new Map<string, ReplayEntry>();
  private readonly drops: DropCounters = emptyCounters();
  private accepted_count = 0;

  constructor(
    private readonly key: Buffer,
    private readonly own_node_id: string,
    private readonly parsePayload: PayloadParser<P>,
  ) {
    checkKey(key);
  }

  /** `lan` is the LAN whose socket received the bytes. */
  decode(buf: Buffer, lan: number): DecodeResult<P> {
    try {
      return this.decodeUnsafe(buf, lan);
    } catch {
      // A parser bug must not take the receive loop down: count it as a bad payload.
      return this.drop('bad_payload');
    }
  }

  private decodeUnsafe(buf: Buffer, lan: number): DecodeResult<P> {
    const raw = parseLayout(buf);
    if (typeof raw === 'string') return this.drop(raw);
    const tag_at = buf.length - MAC_BYTES;
    const expected = mac(this.key, buf.subarray(0, tag_at));
    if (!timingSafeEqual(expected, buf.subarray(tag_at))) return this.drop('bad_mac');
    if (raw.lan !== lan) return this.drop('wrong_lan');
    if (raw.node_id === this.own_node_id) return this.drop('own_packet');
    const window_key = `${raw.node_id}\u0000${lan}`;
    const previous = this.windows.get(window_key);
    if (previous === undefined && this.windows.size >= MAX_TRACKED_SENDERS) return this.drop('too_many_senders');
    const check = checkReplay(previous, raw.incarnation, raw.seq);
    if (check.verdict !== 'fresh') return this.drop(check.verdict);
    if (check.entry) this.windows.set(window_key, check.entry);
    let json: unknown;
    try {
      json = JSON.parse(raw.body.toString('utf8'));
    } catch {
      return this.drop('bad_payload');
    }
    const payload = this.parsePayload(json);
    if (payload === undefined) return this.drop('bad_payload');
    this.accepted_count++;
    return { ok: true, heartbeat: { node_id: raw.node_id, lan, incarnation: raw.incarnation, seq: raw.seq, payload } };
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
