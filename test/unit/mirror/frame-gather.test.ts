// The decoder copies a frame only when it spans socket reads, and then only that frame's bytes
// (frame.ts gather): random read boundaries, including 1-byte reads and reads ending inside a
// header, must yield the same frames as one read.
import { randomBytes } from 'node:crypto';
import { encodeFrame, FrameCipher, FrameDecoder, FrameType, type Frame, type FrameProtection } from '../../../core/mirror/stream/frame';

const key = randomBytes(32);

function decoder(mode: FrameProtection): FrameDecoder {
  const d = new FrameDecoder('test');
  d.authenticate(new FrameCipher(key, 0, mode));
  return d;
}

describe.each(['auth', 'encrypt'] as const)('protection %s', (mode) => {
  test('random read boundaries give the frames of a single read', () => {
    let seed = 11;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    for (let round = 0; round < 20; round++) {
      const tx = new FrameCipher(key, 0, mode);
      const payloads = Array.from({ length: 40 }, () => randomBytes(rnd(3) === 0 ? 0 : rnd(20000)));
      const wire = Buffer.concat(payloads.flatMap((p, i) => encodeFrame(FrameType.OP, i + 1, p, tx)));
      const dec = decoder(mode);
      const got: Frame[] = [];
      for (let at = 0; at < wire.length;) {
        const n = rnd(4) === 0 ? 1 + rnd(20) : 1 + rnd(70000);
        got.push(...dec.push(wire.subarray(at, at + n)));
        at += n;
      }
      expect(got.map((f) => f.seq)).toEqual(payloads.map((_, i) => i + 1));
      got.forEach((f, i) => expect(f.payload.equals(payloads[i]!)).toBe(true));
    }
  });

  test('a frame that spans reads does not carry the rest of the next read with it', () => {
    const tx = new FrameCipher(key, 0, mode);
    const a = randomBytes(30000);
    const b = randomBytes(30000);
    const wire = Buffer.concat([...encodeFrame(FrameType.OP, 1, a, tx), ...encodeFrame(FrameType.OP, 2, b, tx)]);
    const dec = decoder(mode);
    expect(dec.push(wire.subarray(0, 20000))).toEqual([]);
    const [first, second] = dec.push(wire.subarray(20000));
    expect(first!.payload.equals(a)).toBe(true);
    expect(second!.payload.equals(b)).toBe(true);
    // The spanning frame was copied alone: its memory is its own size, not both reads'.
    expect(first!.payload.buffer.byteLength).toBeLessThan(a.length + 1024);
  });
});
