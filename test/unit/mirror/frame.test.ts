import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { encodeFrame, FrameDecoder, FrameFlag, FrameType, FrameCipher, MAX_PAYLOAD_BYTES } from '../../../core/mirror/stream/frame';
import { Channel } from '../../../core/mirror/stream/channel';

const key = randomBytes(32);

function pair() {
  const dec = new FrameDecoder('test');
  dec.authenticate(new FrameCipher(key, 0));
  return { tx: new FrameCipher(key, 0), dec };
}

test('frames survive arbitrary chunking', () => {
  const { tx, dec } = pair();
  const wire = Buffer.concat([
    ...encodeFrame(FrameType.OP, 1, randomBytes(200000), tx),
    ...encodeFrame(FrameType.ACK, 2, Buffer.alloc(0), tx),
  ]);
  const got = [];
  for (let i = 0; i < wire.length; i += 777) got.push(...dec.push(wire.subarray(i, i + 777)));
  expect(got.map((f) => [f.type, f.seq, f.payload.length])).toEqual([[FrameType.OP, 1, 200000], [FrameType.ACK, 2, 0]]);
});

test('a flipped bit, a replayed frame or a dropped frame fails the MAC', () => {
  const flip = pair();
  const w = Buffer.concat(encodeFrame(FrameType.OP, 1, Buffer.from('abc'), flip.tx));
  w[17]! ^= 1;
  expect(() => flip.dec.push(w)).toThrow(expect.objectContaining({ code: 'HAKIT_E_MIRROR_AUTH' }));

  const replay = pair();
  const f1 = Buffer.concat(encodeFrame(FrameType.OP, 1, Buffer.from('abc'), replay.tx));
  replay.dec.push(f1);
  expect(() => replay.dec.push(f1)).toThrow(expect.objectContaining({ code: 'HAKIT_E_MIRROR_AUTH' }));

  const drop = pair();
  encodeFrame(FrameType.OP, 1, Buffer.from('lost'), drop.tx);
  expect(() => drop.dec.push(Buffer.concat(encodeFrame(FrameType.OP, 2, Buffer.from('x'), drop.tx)))).toThrow(expect.objectContaining({ code: 'HAKIT_E_MIRROR_AUTH' }));
});

test('garbage, oversize and pre-auth frames are refused', () => {
  expect(() => new FrameDecoder('t').push(Buffer.alloc(16, 0xff))).toThrow(expect.objectContaining({ code: 'HAKIT_E_MIRROR_BAD_FRAME' }));
  const big = Buffer.concat(encodeFrame(FrameType.HELLO, 0, Buffer.alloc(0), null));
  big.writeUInt32BE(10 * 1024 * 1024, 4);
  expect(() => new FrameDecoder('t').push(big)).toThrow(expect.objectContaining({ code: 'HAKIT_E_MIRROR_BAD_FRAME' }));
  expect(() => new FrameDecoder('t').push(Buffer.concat(encodeFrame(FrameType.OP, 1, Buffer.alloc(1), null)))).toThrow(expect.objectContaining({ code: 'HAKIT_E_MIRROR_AUTH' }));
});

test('after the handshake the payload is encrypted, and flags travel authenticated', () => {
  const { tx, dec } = pair();
  const secret = Buffer.from('the content of a replicated file: 0123456789');
  const wire = Buffer.concat(encodeFrame(FrameType.RESP, 7, secret, tx, FrameFlag.MORE));
  expect(wire.includes(secret.subarray(0, 16))).toBe(false);
  const [f] = dec.push(wire);
  expect(f!.payload.equals(secret)).toBe(true);
  expect(f!.flags & FrameFlag.MORE).toBe(FrameFlag.MORE);

  const flipped = pair();
  const w = Buffer.concat(encodeFrame(FrameType.RESP, 7, secret, flipped.tx, FrameFlag.MORE));
  w[3]! ^= FrameFlag.MORE; // a peer on the path clears MORE
  expect(() => flipped.dec.push(w)).toThrow(expect.objectContaining({ code: 'HAKIT_E_MIRROR_AUTH' }));
});

test('Channel.send refuses a payload over the frame limit and sends nothing', () => {
  const socket = new net.Socket();
  const written: unknown[] = [];
  socket.write = ((b: unknown) => { written.push(b); return true; }) as typeof socket.write;
  const ch = new Channel(socket, new FrameDecoder('t'), new FrameCipher(key, 0), 't');
  expect(() => ch.send(FrameType.RESP, 1, Buffer.alloc(MAX_PAYLOAD_BYTES + 1))).toThrow(expect.objectContaining({ code: 'HAKIT_E_MIRROR_BAD_FRAME' }));
  expect(() => ch.send(FrameType.OP, 1, [Buffer.alloc(MAX_PAYLOAD_BYTES), Buffer.alloc(1)])).toThrow(expect.objectContaining({ code: 'HAKIT_E_MIRROR_BAD_FRAME' }));
  expect(written).toEqual([]);
  ch.send(FrameType.RESP, 1, Buffer.alloc(16));
  expect(written.length).toBeGreaterThan(0);
  ch.close();
});
