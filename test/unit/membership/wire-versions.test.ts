// The heartbeat wire across versions (core/membership/wire/codec.ts): version 2 and 3 packets
// read by one decoder, the sender's range learnt only from authentic packets, a version this
// node does not speak authenticated and counted but never used, authentication unchanged.
import { createHmac } from 'node:crypto';
import { HeartbeatDecoder, HeartbeatEncoder, OWN_WIRE_RANGE } from '../../../core/membership/wire/codec';
import { MemoryIncarnationFloors } from '../../../core/membership/transport/floor-file';
import type { WireRange } from '../../../core/membership/wire/pure/negotiate';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const OTHER_KEY = Buffer.from('fedcba9876543210fedcba9876543210');
const C = Buffer.alloc(16, 7);
const any = (j: unknown): unknown => j;

interface Heard {
  node: string;
  incarnation: number;
  range: WireRange;
}

function decoder(o: { versions?: WireRange; floors?: MemoryIncarnationFloors } = {}): { dec: HeartbeatDecoder<unknown>; heard: Heard[] } {
  const heard: Heard[] = [];
  const dec = new HeartbeatDecoder<unknown>(KEY, 'node2', any, { challenge: C, ...o, onPeerRange: (node, incarnation, range) => heard.push({ node, incarnation, range }) });
  return { dec, heard };
}

/** A packet of a future version 9 (unknown layout after the envelope), correctly authenticated. */
function futurePacket(key: Buffer, range: WireRange, node = 'node1', incarnation = 5, lan = 0): Buffer {
  const id = Buffer.from(node);
  const head = Buffer.alloc(4 + 5 + id.length + 8);
  let off = head.write('HKHB', 0);
  off = head.writeUInt8(9, off);
  off = head.writeUInt8(range.min, off);
  off = head.writeUInt8(range.max, off);
  off = head.writeUInt8(lan, off);
  off = head.writeUInt8(id.length, off);
  off += id.copy(head, off);
  head.writeBigUInt64BE(BigInt(incarnation), off);
  const body = Buffer.concat([head, Buffer.from('a layout nobody here knows')]);
  return Buffer.concat([body, createHmac('sha256', key).update(body).digest()]);
}

describe('heartbeat wire versions', () => {
  it('speaks 2..3', () => {
    expect(OWN_WIRE_RANGE).toEqual({ min: 2, max: 3 });
  });

  it('reads version 2 and version 3 packets alike; version 3 tells the sender range, version 2 means 2 only', () => {
    const enc = new HeartbeatEncoder(KEY, 'node1', 5, undefined, { min: 2, max: 3 });
    const { dec, heard } = decoder();
    const v2 = enc.encode(0, { a: 1 }, C, 2);
    const v3 = enc.encode(0, { a: 2 }, C, 3);
    expect(v2[4]).toBe(2);
    expect(v3[4]).toBe(3);
    expect(v3.length).toBe(v2.length + 2);
    expect(dec.decode(v2, 0)).toMatchObject({ ok: true, heartbeat: { payload: { a: 1 }, seq: 1 } });
    expect(dec.decode(v3, 0)).toMatchObject({ ok: true, heartbeat: { payload: { a: 2 }, seq: 2 } });
    expect(heard).toEqual([
      { node: 'node1', incarnation: 5, range: { min: 2, max: 2 } },
      { node: 'node1', incarnation: 5, range: { min: 2, max: 3 } },
    ]);
  });

  it('writes its lowest version unless told otherwise (the witness exchange), and refuses one outside its range', () => {
    expect(new HeartbeatEncoder(KEY, 'n', 1).encode(0, {})[4]).toBe(2);
    expect(new HeartbeatEncoder(KEY, 'n', 1, undefined, { min: 3, max: 3 }).encode(0, {})[4]).toBe(3);
    expect(() => new HeartbeatEncoder(KEY, 'n', 1, undefined, { min: 2, max: 2 }).encode(0, {}, undefined, 3)).toThrow(expect.objectContaining({ code: 'HAKIT_E_USAGE' }));
    expect(() => new HeartbeatEncoder(KEY, 'n', 1, undefined, { min: 2, max: 4 })).toThrow(expect.objectContaining({ code: 'HAKIT_E_USAGE' }));
  });

  it('a decoder limited to 2 counts an authentic version 3 packet as unsupported_version and still learns its range', () => {
    const { dec, heard } = decoder({ versions: { min: 2, max: 2 } });
    const r = dec.decode(new HeartbeatEncoder(KEY, 'node1', 5, undefined, { min: 3, max: 3 }).encode(0, { x: 1 }, C, 3), 0);
    expect(r).toEqual({ ok: false, reason: 'unsupported_version' });
    expect(heard).toEqual([{ node: 'node1', incarnation: 5, range: { min: 3, max: 3 } }]);
    expect(dec.dropCounters().unsupported_version).toBe(1);
    expect(dec.acceptedCount()).toBe(0);
  });

  it('authenticates a packet of an unknown future version by its envelope, never uses it', () => {
    const { dec, heard } = decoder();
    expect(dec.decode(futurePacket(KEY, { min: 4, max: 9 }), 0)).toEqual({ ok: false, reason: 'unsupported_version' });
    expect(heard).toEqual([{ node: 'node1', incarnation: 5, range: { min: 4, max: 9 } }]);
  });

  it('learns nothing from an unauthentic, misplaced or stale packet of any version', () => {
    const floors = new MemoryIncarnationFloors();
    floors.raise('node1', 6);
    const { dec, heard } = decoder({ floors });
    expect(dec.decode(futurePacket(OTHER_KEY, { min: 4, max: 9 }, 'node1', 7), 0)).toEqual({ ok: false, reason: 'bad_mac' });
    expect(dec.decode(futurePacket(KEY, { min: 4, max: 9 }, 'node1', 7, 1), 0)).toEqual({ ok: false, reason: 'wrong_lan' });
    expect(dec.decode(futurePacket(KEY, { min: 4, max: 9 }, 'node1', 5), 0)).toEqual({ ok: false, reason: 'stale_incarnation' });
    expect(dec.decode(futurePacket(KEY, { min: 4, max: 9 }, 'node2', 7), 0)).toEqual({ ok: false, reason: 'own_packet' });
    expect(heard).toEqual([]);
  });

  it('drops a version 3 envelope whose version is outside its own range, and version 1 and 0 as bad_version', () => {
    const { dec } = decoder();
    const p = new HeartbeatEncoder(KEY, 'node1', 5, undefined, { min: 2, max: 3 }).encode(0, {}, C, 3);
    const lying = Buffer.from(p);
    lying[5] = 4; // min 4 > version 3
    expect(dec.decode(lying, 0)).toEqual({ ok: false, reason: 'malformed' });
    for (const v of [0, 1]) {
      const old = Buffer.from(p);
      old[4] = v;
      expect(dec.decode(old, 0)).toEqual({ ok: false, reason: 'bad_version' });
    }
  });

  it('keeps the challenge check in every version: a version 3 packet not echoing ours is unverified', () => {
    const { dec } = decoder();
    const r = dec.decode(new HeartbeatEncoder(KEY, 'node1', 5).encode(0, {}, Buffer.alloc(16, 1), 3), 0);
    expect(r).toMatchObject({ ok: false, reason: 'unverified' });
  });
});
