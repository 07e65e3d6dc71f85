import { MAX_RUN_BYTES, MAX_RUN_OPS, writeRunLength, type WriteSlot } from '../../../core/mirror/pure/write-run';

const w = (path: string, offset: number, length: number, epoch = 1): WriteSlot => ({ path, offset, length, epoch });
const of = (items: ReadonlyArray<WriteSlot | undefined>) => (i: number): WriteSlot | undefined => items[i];

describe('write runs (SECOND applies back-to-back writes of one file in one pwritev)', () => {
  test('consecutive writes to one file join; the first gap, other file, non-write or session ends the run', () => {
    expect(writeRunLength(of([w('/0/a', 0, 8192), w('/0/a', 8192, 8192), w('/0/a', 16384, 100)]))).toBe(3);
    expect(writeRunLength(of([w('/0/a', 0, 8192), w('/0/a', 8193, 8192)]))).toBe(1); // gap
    expect(writeRunLength(of([w('/0/a', 0, 8192), w('/0/a', 4096, 8192)]))).toBe(1); // overlap: order matters, kept apart
    expect(writeRunLength(of([w('/0/a', 0, 8192), w('/0/b', 8192, 8192)]))).toBe(1);
    expect(writeRunLength(of([w('/0/a', 0, 8192), undefined, w('/0/a', 8192, 8192)]))).toBe(1);
    expect(writeRunLength(of([w('/0/a', 0, 8192), w('/0/a', 8192, 8192, 2)]))).toBe(1);
    expect(writeRunLength(of([w('/0/a', 0, 8192)]))).toBe(1);
  });

  test('bounded in ops and bytes', () => {
    const many = Array.from({ length: 1000 }, (_, i) => w('/0/a', i * 512, 512));
    expect(writeRunLength(of(many))).toBe(MAX_RUN_OPS);
    const big = Array.from({ length: 10 }, (_, i) => w('/0/a', i * 300 * 1024, 300 * 1024));
    expect(writeRunLength(of(big))).toBe(Math.floor(MAX_RUN_BYTES / (300 * 1024)));
    // A single write over the byte bound still forms a run of one.
    expect(writeRunLength(of([w('/0/a', 0, 2 * MAX_RUN_BYTES), w('/0/a', 2 * MAX_RUN_BYTES, 1)]))).toBe(1);
  });

  test('the head must be a write', () => {
    expect(() => writeRunLength(of([undefined]))).toThrow(RangeError);
  });
});
