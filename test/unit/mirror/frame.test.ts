import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { encodeFrame, FrameDecoder, FrameFlag, FrameType, FrameCipher, HEADER_BYTES, MAC_BYTES, MAX_PAYLOAD_BYTES, type FrameProtection } from '../../../core/mirror/stream/frame';
import { Channel } from '../../../core/mirror/stream/channel';

const key = randomBytes(32);
const MODES: readonly FrameProtection[] = ['auth', 'encrypt'];
const AUTH_FAILS = expect.objectContaining({ code: 'HAKIT_E_MIRROR_AUTH' });

function pair(protection: FrameProtection) {
  const dec = new FrameDecoder('test');
  dec.authenticate(new FrameCipher(key, 0, protection));
  return { tx: new FrameCipher(key, 0, protection), dec };
}

describe.each(MODES)('protection %s', (mode) => {
  test('frames survive arbitrary chunking, payloads whole or in parts', () => {
    const { tx, dec } = pair(mode);
    const big = randomBytes(200000);
    const wire = Buffer.concat([
      ...encodeFrame(FrameType.OP, 1, big, tx),
      ...encodeFrame(FrameType.ACK, 2, Buffer.alloc(0), tx),
      ...encodeFrame(FrameType.OP, 3, [big.subarray(0, 7), Buffer.alloc(0), big.subarray(7, 70001)], tx),
    ]);
    const got = [];
    for (let i = 0; i < wire.length; i += 777) got.push(...dec.push(wire.subarray(i, i + 777)));
    expect(got.map((f) => [f.type, f.seq, f.payload.length])).toEqual([[FrameType.OP, 1, 200000], [FrameType.ACK, 2, 0], [FrameType.OP, 3, 70001]]);
    expect(got[0]!.payload.equals(big)).toBe(true);
    expect(got[2]!.payload.equals(big.subarray(0, 70001))).toBe(true);
  });

  test('a flipped bit in the header, the payload or the tag fails verification', () => {
    const payload = randomBytes(1000);
    const len = HEADER_BYTES + payload.length + MAC_BYTES;
    // type, flags, length, seq; payload first/middle/last; tag first/last.
    const positions = [2, 3, 7, 15, HEADER_BYTES, HEADER_BYTES + 500, HEADER_BYTES + 999, len - MAC_BYTES, len - 1];
    for (const at of positions) {
      for (const bit of [0x01, 0x80]) {
        const { tx, dec } = pair(mode);
        const w = Buffer.concat(encodeFrame(FrameType.OP, 1, payload, tx));
        expect(w.length).toBe(len);
        w[at]! ^= bit;
        let err: unknown;
        let delivered: unknown[] = [];
        try { delivered = dec.push(w); } catch (e) { err = e; }
        expect(delivered).toEqual([]);
        // A flipped type or length bit may already fail the header checks (BAD_FRAME) or
        // make the frame look longer (incomplete: nothing delivered, the stall timeout ends it).
        if (at >= HEADER_BYTES || at === 3 || at === 15) expect(err).toEqual(AUTH_FAILS);
        else if (err !== undefined) expect(['HAKIT_E_MIRROR_AUTH', 'HAKIT_E_MIRROR_BAD_FRAME']).toContain((err as { code: string }).code);
      }
    }
  });

  test('a replayed, dropped or reordered frame fails verification', () => {
    const replay = pair(mode);
    const f1 = Buffer.concat(encodeFrame(FrameType.OP, 1, Buffer.from('abc'), replay.tx));
    replay.dec.push(f1);
    expect(() => replay.dec.push(f1)).toThrow(AUTH_FAILS);

    const drop = pair(mode);
    encodeFrame(FrameType.OP, 1, Buffer.from('lost'), drop.tx);
    expect(() => drop.dec.push(Buffer.concat(encodeFrame(FrameType.OP, 2, Buffer.from('x'), drop.tx)))).toThrow(AUTH_FAILS);

    const reorder = pair(mode);
    const a = Buffer.concat(encodeFrame(FrameType.OP, 1, Buffer.from('first'), reorder.tx));
    const b = Buffer.concat(encodeFrame(FrameType.OP, 2, Buffer.from('second'), reorder.tx));
    expect(a.length).toBeGreaterThan(0);
    expect(() => reorder.dec.push(b)).toThrow(AUTH_FAILS);

    // The other direction's frames (same key, other nonce prefix) do not verify either.
    const dec = new FrameDecoder('test');
    dec.authenticate(new FrameCipher(key, 1, mode));
    expect(() => dec.push(Buffer.concat(encodeFrame(FrameType.OP, 1, Buffer.from('x'), new FrameCipher(key, 0, mode))))).toThrow(AUTH_FAILS);
  });

  test('flags travel authenticated', () => {
    const { tx, dec } = pair(mode);
    const body = Buffer.from('a response in two frames');
    const [f] = dec.push(Buffer.concat(encodeFrame(FrameType.RESP, 7, body, tx, FrameFlag.MORE)));
    expect(f!.flags & FrameFlag.MORE).toBe(FrameFlag.MORE);
    expect(f!.payload.equals(body)).toBe(true);

    const flipped = pair(mode);
    const w = Buffer.concat(encodeFrame(FrameType.RESP, 7, body, flipped.tx, FrameFlag.MORE));
    w[3]! ^= FrameFlag.MORE; // a peer on the path clears MORE
    expect(() => flipped.dec.push(w)).toThrow(AUTH_FAILS);
  });

  test('a payload in parts is never joined, and is protected like the whole payload', () => {
    const parts = [randomBytes(100), randomBytes(65536), Buffer.alloc(0), randomBytes(3)];
    const sealed = new FrameCipher(key, 0, mode).seal(Buffer.alloc(HEADER_BYTES, 1), parts);
    const nonEmpty = parts.filter((p) => p.length > 0);
    // One body buffer per non-empty part, of the same length: no part was joined to another.
    expect(sealed.body.map((b) => b.length)).toEqual(nonEmpty.map((p) => p.length));
    if (mode === 'auth') expect(sealed.body.every((b, i) => b === nonEmpty[i])).toBe(true);
    // The same bytes given whole produce the same wire bytes (same key, same counter).
    const whole = new FrameCipher(key, 0, mode).seal(Buffer.alloc(HEADER_BYTES, 1), [Buffer.concat(parts)]);
    expect(whole.tag.equals(sealed.tag)).toBe(true);
    expect(Buffer.concat(whole.body).equals(Buffer.concat(sealed.body))).toBe(true);
  });
});

test('auth sends the payload in clear, encrypt does not; neither opens the other', () => {
  const secret = Buffer.from('the content of a replicated file: 0123456789');
  const clear = Buffer.concat(encodeFrame(FrameType.OP, 1, secret, new FrameCipher(key, 0, 'auth')));
  const hidden = Buffer.concat(encodeFrame(FrameType.OP, 1, secret, new FrameCipher(key, 0, 'encrypt')));
  expect(clear.includes(secret)).toBe(true);
  expect(hidden.includes(secret.subarray(0, 16))).toBe(false);
  expect(clear.length).toBe(hidden.length);
  // Same key and nonce: a frame of one protection never verifies under the other.
  expect(() => pair('encrypt').dec.push(clear)).toThrow(AUTH_FAILS);
  expect(() => pair('auth').dec.push(hidden)).toThrow(AUTH_FAILS);
});

test('auth: a small payload is copied out of the read buffer, a large one is not', () => {
  const { tx, dec } = pair('auth');
  const big = randomBytes(1 << 20);
  const wire = Buffer.concat([...encodeFrame(FrameType.OP, 1, Buffer.from('tiny op'), tx), ...encodeFrame(FrameType.OP, 2, big, tx)]);
  const [small, large] = dec.push(wire);
  expect(small!.payload.toString()).toBe('tiny op');
  expect(small!.payload.buffer).not.toBe(wire.buffer); // must not pin the 1 MiB read
  expect(large!.payload.equals(big)).toBe(true);
  expect(large!.payload.buffer).toBe(wire.buffer); // no copy of the bulk data
});

test('garbage, oversize and pre-auth frames are refused', () => {
  expect(() => new FrameDecoder('t').push(Buffer.alloc(16, 0xff))).toThrow(expect.objectContaining({ code: 'HAKIT_E_MIRROR_BAD_FRAME' }));
  const big = Buffer.concat(encodeFrame(FrameType.HELLO, 0, Buffer.alloc(0), null));
  big.writeUInt32BE(10 * 1024 * 1024, 4);
  expect(() => new FrameDecoder('t').push(big)).toThrow(expect.objectContaining({ code: 'HAKIT_E_MIRROR_BAD_FRAME' }));
  expect(() => new FrameDecoder('t').push(Buffer.concat(encodeFrame(FrameType.OP, 1, Buffer.alloc(1), null)))).toThrow(AUTH_FAILS);
  for (const mode of MODES) {
    const over = Buffer.concat(encodeFrame(FrameType.OP, 1, Buffer.alloc(0), new FrameCipher(key, 0, mode)));
    over.writeUInt32BE(MAX_PAYLOAD_BYTES + 1, 4);
    expect(() => pair(mode).dec.push(over)).toThrow(expect.objectContaining({ code: 'HAKIT_E_MIRROR_BAD_FRAME' }));
  }
});

test('Channel.send refuses a payload over the frame limit and sends nothing', () => {
  const socket = new net.Socket();
  const written: unknown[] = [];
  socket.write = ((b: unknown) => { written.push(b); return true; }) as typeof socket.write;
  const ch = new Channel(socket, new FrameDecoder('t'), new FrameCipher(key, 0, 'auth'), 't');
  expect(() => ch.send(FrameType.RESP, 1, Buffer.alloc(MAX_PAYLOAD_BYTES + 1))).toThrow(expect.objectContaining({ code: 'HAKIT_E_MIRROR_BAD_FRAME' }));
  expect(() => ch.send(FrameType.OP, 1, [Buffer.alloc(MAX_PAYLOAD_BYTES), Buffer.alloc(1)])).toThrow(expect.objectContaining({ code: 'HAKIT_E_MIRROR_BAD_FRAME' }));
  expect(written).toEqual([]);
  ch.send(FrameType.RESP, 1, Buffer.alloc(16));
  expect(written.length).toBeGreaterThan(0);
  ch.close();
});
