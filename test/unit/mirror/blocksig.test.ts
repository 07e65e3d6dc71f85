import { randomBytes } from 'node:crypto';
import { BlockSigner, differingRanges, signBytes } from '../../../core/mirror/blocksig/signature';
import { loadHasher } from '../../../core/mirror/hash';

test('chunked signing equals one-shot signing', async () => {
  const { h64 } = await loadHasher();
  const data = randomBytes(300000);
  const s = new BlockSigner(h64, 4096);
  for (let i = 0; i < data.length; i += 1000) s.update(data.subarray(i, i + 1000));
  expect(s.finish()).toEqual(signBytes(h64, data, 4096));
});

test('differing ranges cover exactly the changed blocks, and size changes', async () => {
  const { h64 } = await loadHasher();
  const a = randomBytes(10 * 4096);
  const b = Buffer.from(a);
  b[5 * 4096 + 3]! ^= 1;
  b[6 * 4096]! ^= 1;
  expect(differingRanges(signBytes(h64, b, 4096), signBytes(h64, a, 4096))).toEqual([{ start: 5 * 4096, end: 7 * 4096 }]);
  const longer = Buffer.concat([a, Buffer.from('xyz')]);
  expect(differingRanges(signBytes(h64, longer, 4096), signBytes(h64, a, 4096))).toEqual([{ start: 10 * 4096, end: 10 * 4096 + 3 }]);
  const shorter = a.subarray(0, 4096 * 3 + 10);
  expect(differingRanges(signBytes(h64, shorter, 4096), signBytes(h64, a, 4096))).toEqual([{ start: 3 * 4096, end: 3 * 4096 + 10 }]);
});
