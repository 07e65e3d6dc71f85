import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SILENT_LOG } from '../../../core/log/sink';
import { DropLog } from '../../../core/membership/transport/drop-log';
import { FileIncarnationFloors, MemoryIncarnationFloors } from '../../../core/membership/transport/floor-file';
import { HeartbeatDecoder, HeartbeatEncoder, DROP_REASONS } from '../../../core/membership/wire/codec';
import { MAX_PACKET_BYTES } from '../../../core/membership/wire/limits';
import { parseHeartbeatPayload } from '../../../core/membership/wire/payload';
import { REPLAY_WINDOW, checkReplay } from '../../../core/membership/wire/pure/replay-window';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const OTHER_KEY = Buffer.from('fedcba9876543210fedcba9876543210');
const anyPayload = (json: unknown): unknown => json;
/** The receivers' challenge; the test encoders echo it (as a peer does once it heard us). */
const C = Buffer.alloc(16, 7);
/** An encoder whose packets echo C (they pass the receivers' challenge check). */
function echoing(key: Buffer, node: string, incarnation: number): { encode(lan: number, payload: unknown): Buffer } {
  const e = new HeartbeatEncoder(key, node, incarnation);
  return { encode: (lan, payload) => e.encode(lan, payload, C) };
}
const modulesPayload = (json: unknown): { modules: unknown[] } | undefined =>
  typeof json === 'object' && json !== null && Array.isArray((json as { modules?: unknown }).modules) ? (json as { modules: unknown[] }) : undefined;

describe('heartbeat codec', () => {
  it('round-trips a payload with node id, lan, incarnation and increasing seq', () => {
    const enc = echoing(KEY, 'node1', 1700);
    const dec = new HeartbeatDecoder(KEY, 'node2', anyPayload, { challenge: C });
    const a = dec.decode(enc.encode(0, { modules: [{ name: 'm', state: 'PRIM' }] }), 0);
    const b = dec.decode(enc.encode(0, { x: 1 }), 0);
    expect(a).toEqual({ ok: true, heartbeat: { node_id: 'node1', lan: 0, incarnation: 1700, seq: 1, payload: { modules: [{ name: 'm', state: 'PRIM' }] } } });
    expect(b.ok && b.heartbeat.seq).toBe(2);
  });

  it('drops a wrong key, a replay, a packet replayed on another LAN, and its own packets', () => {
    const enc = echoing(KEY, 'node1', 5);
    const dec = new HeartbeatDecoder(KEY, 'node2', anyPayload, { challenge: C });
    const evil = echoing(OTHER_KEY, 'node1', 5);
    expect(dec.decode(evil.encode(0, {}), 0)).toEqual({ ok: false, reason: 'bad_mac' });
    const p = enc.encode(0, {});
    expect(dec.decode(p, 0).ok).toBe(true);
    expect(dec.decode(p, 0)).toEqual({ ok: false, reason: 'replay' });
    expect(dec.decode(p, 1)).toEqual({ ok: false, reason: 'wrong_lan' });
    const self = new HeartbeatDecoder(KEY, 'node1', anyPayload, { challenge: C });
    expect(self.decode(enc.encode(0, {}), 0)).toEqual({ ok: false, reason: 'own_packet' });
    expect(dec.dropCounters()).toMatchObject({ bad_mac: 1, replay: 1, wrong_lan: 1 });
  });

  it('keeps one sequence and one window per LAN so a peer is heard on every LAN', () => {
    const enc = echoing(KEY, 'node1', 5);
    const dec = new HeartbeatDecoder(KEY, 'node2', anyPayload, { challenge: C });
    for (let i = 0; i < 3; i++) {
      expect(dec.decode(enc.encode(0, { i }), 0).ok).toBe(true);
      expect(dec.decode(enc.encode(1, { i }), 1).ok).toBe(true);
    }
  });

  it('accepts reordering inside the window, drops too old and stale incarnations', () => {
    const enc = echoing(KEY, 'node1', 10);
    const dec = new HeartbeatDecoder(KEY, 'node2', anyPayload, { challenge: C });
    const packets = Array.from({ length: REPLAY_WINDOW + 5 }, (_, i) => enc.encode(0, { i }));
    expect(dec.decode(packets[REPLAY_WINDOW + 4]!, 0).ok).toBe(true);
    expect(dec.decode(packets[10]!, 0).ok).toBe(true); // age 58 < 64
    expect(dec.decode(packets[0]!, 0)).toEqual({ ok: false, reason: 'too_old' });
    const reborn = echoing(KEY, 'node1', 11);
    expect(dec.decode(reborn.encode(0, {}), 0).ok).toBe(true); // new incarnation restarts seq at 1
    expect(dec.decode(packets[REPLAY_WINDOW + 3]!, 0)).toEqual({ ok: false, reason: 'stale_incarnation' });
  });

  it('drops truncated, garbage, oversized and badly shaped payloads', () => {
    const enc = echoing(KEY, 'node1', 1);
    const dec = new HeartbeatDecoder(KEY, 'node2', modulesPayload, { challenge: C });
    const good = enc.encode(0, { modules: [] });
    expect(dec.decode(good.subarray(0, good.length - 1), 0).ok).toBe(false);
    expect(dec.decode(Buffer.from('hello world'), 0)).toEqual({ ok: false, reason: 'bad_magic' });
    expect(dec.decode(Buffer.alloc(MAX_PACKET_BYTES + 1), 0)).toEqual({ ok: false, reason: 'too_big' });
    expect(dec.decode(enc.encode(0, { nope: 1 }), 0)).toEqual({ ok: false, reason: 'bad_payload' });
    expect(() => enc.encode(0, { big: 'x'.repeat(MAX_PACKET_BYTES) })).toThrow(expect.objectContaining({ code: 'HAKIT_E_WIRE_PAYLOAD_TOO_BIG' }));
    expect(() => new HeartbeatEncoder(Buffer.from('short'), 'n', 1)).toThrow(expect.objectContaining({ code: 'HAKIT_E_WIRE_BAD_KEY' }));
  });

  it('fuzz: random bytes never throw and never decode', () => {
    const dec = new HeartbeatDecoder(KEY, 'node2', anyPayload, { challenge: C });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 0, max: 3 }), (bytes, lan) => {
        const r = dec.decode(Buffer.from(bytes), lan);
        return !r.ok && DROP_REASONS.includes(r.reason);
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: any single-byte corruption or truncation of a valid packet is dropped', () => {
    const enc = echoing(KEY, 'node1', 3);
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(), (payload, at, flip, truncate) => {
        const dec = new HeartbeatDecoder(KEY, 'node2', anyPayload, { challenge: C });
        const buf = Buffer.from(enc.encode(0, payload));
        const i = at % buf.length;
        const bad = truncate ? buf.subarray(0, i) : (buf[i] = buf[i]! ^ flip, buf);
        return dec.decode(bad, 0).ok === false;
      }),
      { numRuns: 1000 },
    );
  });

  it('fuzz: any delivery order with duplicates accepts each packet exactly once (within the window)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 120 }), (order) => {
        const enc = echoing(KEY, 'node1', 1);
        const packets = Array.from({ length: 41 }, (_, i) => enc.encode(0, { i }));
        const dec = new HeartbeatDecoder(KEY, 'node2', anyPayload, { challenge: C });
        const accepted = new Set<number>();
        for (const i of order) {
          const r = dec.decode(packets[i]!, 0);
          if (r.ok) {
            if (accepted.has(r.heartbeat.seq)) return false;
            accepted.add(r.heartbeat.seq);
          }
        }
        return accepted.size === new Set(order).size; // 41 < window: nothing is too old
      }),
      { numRuns: 500 },
    );
  });
});

describe('replay window', () => {
  it('forgets everything older than the window after a big jump', () => {
    const a = checkReplay(undefined, 1, 1);
    const b = checkReplay(a.entry, 1, 1 + REPLAY_WINDOW * 3);
    expect(b.verdict).toBe('fresh');
    expect(checkReplay(b.entry, 1, 2).verdict).toBe('too_old');
    expect(checkReplay(b.entry, 1, 2 + REPLAY_WINDOW * 3).verdict).toBe('fresh');
  });
});

describe('heartbeat payload shape', () => {
  const ann = {
    module: 'web', mode: 'mirror', state: 'PRIM', status: 'Ready', serving: true, epoch: 3, copyComplete: true,
    lastRole: 'PRIM', tookOver: false, handover: false, wantsPrim: false, started: true,
  };
  it('accepts module announcements and refuses wrong shapes', () => {
    expect(parseHeartbeatPayload({ version: 1, modules: [ann] })).toEqual({ version: 1, modules: [ann] });
    expect(parseHeartbeatPayload({ version: 1, modules: [{ ...ann, state: 'BOSS' }] })).toBeUndefined();
    expect(parseHeartbeatPayload({ version: -1, modules: [] })).toBeUndefined();
    expect(parseHeartbeatPayload({ modules: [] })).toBeUndefined();
    expect(parseHeartbeatPayload({ version: 1, modules: [{ ...ann, serving: 'yes' }] })).toBeUndefined();
    // replicating and peerUnreplicatedSeen are optional (older peers lack them) but booleans when present.
    expect(parseHeartbeatPayload({ version: 1, modules: [{ ...ann, replicating: true, peerUnreplicatedSeen: false }] })).toEqual({ version: 1, modules: [{ ...ann, replicating: true, peerUnreplicatedSeen: false }] });
    expect(parseHeartbeatPayload({ version: 1, modules: [{ ...ann, replicating: 1 }] })).toBeUndefined();
    // The session counts likewise: absent, or counts.
    // The silence the sender asks to be waited for: absent (older senders), or 1..60 000 ms.
    expect(parseHeartbeatPayload({ version: 1, modules: [], lost_after_ms: 2500 })).toEqual({ version: 1, modules: [], lost_after_ms: 2500 });
    for (const bad of [0, -1, 1.5, '2500', 60_001]) expect(parseHeartbeatPayload({ version: 1, modules: [], lost_after_ms: bad })).toBeUndefined();
    const counted = { ...ann, sessions: 3, peerUnreplicatedSeen: true, peerUnreplicatedSession: 2 };
    expect(parseHeartbeatPayload({ version: 1, modules: [counted] })).toEqual({ version: 1, modules: [counted] });
    for (const bad of [-1, 1.5, '3', null]) {
      expect(parseHeartbeatPayload({ version: 1, modules: [{ ...ann, sessions: bad }] })).toBeUndefined();
      expect(parseHeartbeatPayload({ version: 1, modules: [{ ...ann, peerUnreplicatedSession: bad }] })).toBeUndefined();
    }
  });
  it('fuzz: never throws on any JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), (j) => (parseHeartbeatPayload(j), true)), { numRuns: 1000 });
  });
});

describe('replay protection across restarts (issue 15)', () => {
  it('accepts a peer only once it echoes our challenge, and answers a new challenge', () => {
    const a = new HeartbeatEncoder(KEY, 'node1', 10);
    const mine = Buffer.alloc(16, 9);
    const learned: string[] = [];
    const dec = new HeartbeatDecoder(KEY, 'node2', anyPayload, { challenge: mine, onNewChallenge: (n) => learned.push(n) });
    const first = dec.decode(a.encode(0, { x: 1 }), 0);
    expect(first).toMatchObject({ ok: false, reason: 'unverified', unverified: { node_id: 'node1', payload: { x: 1 } } });
    expect(learned).toEqual(['node1']);
    expect(dec.challengeOf('node1')).toEqual(a.challenge);
    expect(dec.decode(a.encode(0, { x: 2 }, mine), 0).ok).toBe(true);
    // A recorded packet replayed to a restarted receiver (new challenge) is never accepted.
    const recorded = a.encode(0, { x: 3 }, mine);
    const reborn = new HeartbeatDecoder(KEY, 'node2', anyPayload, { challenge: Buffer.alloc(16, 1) });
    expect(reborn.decode(recorded, 0)).toMatchObject({ ok: false, reason: 'unverified' });
  });

  it('drops incarnations below the floor and raises the floor on acceptance only', () => {
    const floors = new MemoryIncarnationFloors();
    floors.raise('node1', 20);
    const dec = new HeartbeatDecoder(KEY, 'node2', anyPayload, { challenge: C, floors });
    expect(dec.decode(echoing(KEY, 'node1', 19).encode(0, {}), 0)).toEqual({ ok: false, reason: 'stale_incarnation' });
    expect(dec.decode(new HeartbeatEncoder(KEY, 'node1', 25).encode(0, {}), 0).ok).toBe(false); // unverified: no raise
    expect(floors.floor('node1')).toBe(20);
    expect(dec.decode(echoing(KEY, 'node1', 26).encode(0, {}), 0).ok).toBe(true);
    expect(floors.floor('node1')).toBe(26);
  });

  it('binds a sender to its configured addresses', () => {
    const dec = new HeartbeatDecoder(KEY, 'node2', anyPayload, { challenge: C, sourceAllowed: (n, lan, addr) => n === 'node1' && lan === 0 && addr === '198.18.0.1' });
    const enc = echoing(KEY, 'node1', 1);
    expect(dec.decode(enc.encode(0, {}), 0, '198.18.0.99')).toEqual({ ok: false, reason: 'wrong_source' });
    expect(dec.decode(enc.encode(0, {}), 0)).toEqual({ ok: false, reason: 'wrong_source' });
    expect(dec.decode(enc.encode(0, {}), 0, '198.18.0.1').ok).toBe(true);
  });

  it('keeps floors in a file across restarts', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-floors-'));
    try {
      const file = path.join(dir, 'peer-floors.json');
      new FileIncarnationFloors(file, SILENT_LOG).raise('node1', 1234);
      const again = new FileIncarnationFloors(file, SILENT_LOG);
      expect(again.floor('node1')).toBe(1234);
      expect(again.floor('node3')).toBe(0);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('drop log', () => {
  it('logs a flood followed by silence at the next tick past the interval', () => {
    const lines: unknown[] = [];
    const log = { ...SILENT_LOG, warn: (o: unknown) => lines.push(o) } as typeof SILENT_LOG;
    const d = new DropLog(log, 10_000);
    for (let i = 0; i < 100; i++) d.record('bad_mac', 0, '198.18.0.9:1', 20_000 + i); // first line at the first drop
    expect(lines).toHaveLength(1);
    d.tick(25_000);
    expect(lines).toHaveLength(1);
    d.tick(30_001);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ code: 'HAKIT_E_WIRE_DROPPED', drops: { 'bad_mac lan=0 from=198.18.0.9:1': 99 } });
    d.tick(50_000);
    expect(lines).toHaveLength(2); // nothing pending: no line
  });
});
