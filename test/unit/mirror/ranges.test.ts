import fc from 'fast-check';
import { RangeSet } from '../../../core/mirror/pure/ranges';

test('ranges are rounded out to 4 KiB and merged', () => {
  const s = new RangeSet();
  s.add(10, 20);
  s.add(5000, 5001);
  expect(s.list()).toEqual([{ start: 0, end: 8192 }]);
  s.add(100000, 100001);
  expect(s.list()).toEqual([{ start: 0, end: 8192 }, { start: 98304, end: 102400 }]);
  expect(s.overlaps(8192, 9000)).toBe(false);
  expect(s.overlaps(8191, 9000)).toBe(true);
});

test('clipTo drops bytes beyond a truncate', () => {
  const s = RangeSet.of([{ start: 0, end: 4096 }, { start: 8192, end: 16384 }]);
  s.clipTo(10000);
  expect(s.list()).toEqual([{ start: 0, end: 4096 }, { start: 8192, end: 10000 }]);
  s.clipTo(0);
  expect(s.isEmpty).toBe(true);
});

test('takeFront hands out everything exactly once (property)', () => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(1 << 22), fc.nat(1 << 16)), { maxLength: 50 }), fc.integer({ min: 1, max: 1 << 20 }), (adds, budget) => {
    const s = new RangeSet();
    const covered = new Set<number>();
    for (const [start, len] of adds) {
      s.add(start, start + len);
      if (len > 0) for (let g = Math.floor(start / 4096); g < Math.ceil((start + len) / 4096); g++) covered.add(g);
    }
    const total = s.totalBytes();
    expect(total).toBe(covered.size * 4096);
    let got = 0;
    for (let i = 0; i < 10000 && !s.isEmpty; i++) for (const r of s.takeFront(budget)) got += r.end - r.start;
    expect(s.isEmpty).toBe(true);
    expect(got).toBe(total);
  }), { numRuns: 200 });
});

test('covers: only a range wholly inside the set; a write reaching past a dirty range is not covered (it must be journaled)', () => {
  const s = new RangeSet();
  s.add(0, 4096);
  expect(s.covers(100, 200)).toBe(true);
  expect(s.overlaps(4000, 5000)).toBe(true);
  expect(s.covers(4000, 5000)).toBe(false);
  s.add(8192, 12288);
  expect(s.covers(0, 12288)).toBe(false);
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(1 << 16), fc.nat(1 << 13)), { maxLength: 20 }), fc.nat(1 << 16), fc.nat(1 << 13), (adds, start, len) => {
    const r = new RangeSet();
    for (const [a, l] of adds) r.add(a, a + l);
    const before = r.totalBytes();
    const covered = len > 0 && r.covers(start, start + len);
    r.add(start, start + len);
    // Covered means adding it changes nothing.
    if (covered) expect(r.totalBytes()).toBe(before);
  }), { numRuns: 300 });
});
