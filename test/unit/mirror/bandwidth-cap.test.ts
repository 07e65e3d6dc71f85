// Re-integration's bandwidth cap (core/mirror/pure/bandwidth-cap.ts): time is an input.
import { CAP_MAX_WAIT_MS, EMPTY_CAP_BUCKET, capChunkBytes, capTake, type CapBucket } from '../../../core/mirror/pure/bandwidth-cap';

const CAP = 1_000_000; // bytes/s: the burst is 100 000 bytes

test('a full bucket lets a burst through at once, then chunks go at the cap', () => {
  let b: CapBucket = EMPTY_CAP_BUCKET;
  let now = 10_000;
  const first = capTake(b, 100_000, now, CAP);
  expect(first.wait_ms).toBe(0);
  b = first.bucket;
  // Empty now: 50 000 bytes need 50 ms of refill.
  const wait = capTake(b, 50_000, now, CAP);
  expect(wait.wait_ms).toBe(50);
  b = wait.bucket;
  now += 50;
  expect(capTake(b, 50_000, now, CAP).wait_ms).toBe(0);
});

test('over a simulated second, what is taken stays within the cap plus one burst', () => {
  let b: CapBucket = EMPTY_CAP_BUCKET;
  let now = 5_000;
  let taken = 0;
  const end = now + 1000;
  while (now < end) {
    const d = capTake(b, 64 * 1024, now, CAP);
    b = d.bucket;
    if (d.wait_ms === 0) taken += 64 * 1024;
    else now += d.wait_ms;
  }
  expect(taken).toBeLessThanOrEqual(CAP + CAP * 0.1 + 64 * 1024);
  expect(taken).toBeGreaterThan(CAP * 0.9);
});

test('a chunk bigger than the burst waits for a full bucket only; force takes at once; waits are bounded', () => {
  const d = capTake({ tokens: 0, at_ms: 0 }, 10_000_000, 0, CAP);
  expect(d.wait_ms).toBe(CAP_MAX_WAIT_MS);
  expect(capTake({ tokens: 100_000, at_ms: 0 }, 10_000_000, 0, CAP).wait_ms).toBe(0);
  expect(capTake({ tokens: 0, at_ms: 0 }, 10_000_000, 0, CAP, true)).toEqual({ bucket: { tokens: -10_000_000, at_ms: 0 }, wait_ms: 0 });
});

test('chunk size: one burst under a cap, 64 KiB at least; the configured size without one', () => {
  expect(capChunkBytes(1 << 20, undefined)).toBe(1 << 20);
  expect(capChunkBytes(1 << 20, CAP)).toBe(100_000);
  expect(capChunkBytes(1 << 20, 10_000)).toBe(64 * 1024);
  expect(capChunkBytes(1 << 20, 100_000_000)).toBe(1 << 20);
});
