// Answers bigger than one frame are cut into frames under the limit and join back exactly
// (a 32 GiB file's signature used to be one 4 MiB + 12 byte frame, refused by the peer).
import { joinSignature, manifestChunks, signatureChunks, RESPONSE_CHUNK_BYTES } from '../../../core/mirror/response-chunks';
import { MAX_PAYLOAD_BYTES } from '../../../core/mirror/stream/frame';
import { type ManifestEntry } from '../../../core/mirror/pure/tree-diff';

test('the signature of a 32 GiB file is sent in frames under the limit and joins back', () => {
  const block = 64 * 1024;
  const size = 32 * 1024 ** 3 + 1;
  const hashes = Array.from({ length: Math.ceil(size / block) }, (_, i) => BigInt(i) * 0x9e3779b97f4a7c15n % (1n << 64n));
  const sig = { block_size_bytes: block, size_bytes: size, hashes };
  const parts = signatureChunks(sig);
  expect(12 + hashes.length * 8).toBeGreaterThan(MAX_PAYLOAD_BYTES);
  expect(parts.length).toBeGreaterThan(4);
  for (const p of parts) expect(p.length).toBeLessThanOrEqual(RESPONSE_CHUNK_BYTES);
  const back = joinSignature(parts);
  expect(back.size_bytes).toBe(size);
  expect(back.hashes.length).toBe(hashes.length);
  expect(back.hashes[hashes.length - 1]).toBe(hashes[hashes.length - 1]);
});

test('an empty signature is one part; parts that disagree are refused', () => {
  const parts = signatureChunks({ block_size_bytes: 65536, size_bytes: 0, hashes: [] });
  expect(parts).toHaveLength(1);
  expect(joinSignature(parts).hashes).toEqual([]);
  const a = signatureChunks({ block_size_bytes: 65536, size_bytes: 10, hashes: [1n] });
  const b = signatureChunks({ block_size_bytes: 65536, size_bytes: 11, hashes: [1n] });
  expect(() => joinSignature([...a, ...b])).toThrow(RangeError);
});

test('a manifest is split by bytes, not by entry count', () => {
  const long = '/0/' + 'd'.repeat(200) + '/' + 'f'.repeat(3000);
  const entries: ManifestEntry[] = Array.from({ length: 3000 }, (_, i) => ({ path: `${long}${i}`, type: 'l', mode: 0o777, uid: 0, gid: 0, size: 0, mtime_ms: 0, target: 't'.repeat(4000) }));
  const chunks = manifestChunks(entries);
  let n = 0;
  chunks.forEach((c, i) => {
    expect(c.length).toBeLessThanOrEqual(RESPONSE_CHUNK_BYTES);
    const body = JSON.parse(c.toString('utf8')) as { entries: ManifestEntry[]; more: boolean };
    expect(body.more).toBe(i < chunks.length - 1);
    n += body.entries.length;
  });
  expect(n).toBe(3000);
  expect(JSON.parse(manifestChunks([])[0]!.toString('utf8'))).toEqual({ entries: [], more: false });
});
