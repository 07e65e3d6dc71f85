import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FuseRequestTiming, FUSE_TIMING_ENV } from '../../../core/mirror/fuse/request-timing';
import { Op } from '../../../core/mirror/fuse/pure/protocol';

describe('FUSE request timing (opt-in diagnostics)', () => {
  test('off unless the environment names a file', () => {
    expect(FuseRequestTiming.fromEnv({})).toBeUndefined();
    const t = FuseRequestTiming.fromEnv({ [FUSE_TIMING_ENV]: path.join(os.tmpdir(), 'unused.jsonl') });
    expect(t).toBeInstanceOf(FuseRequestTiming);
    t!.stop();
  });

  test('figures per opcode name, the costliest first, then one line per interval', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-fuse-timing-'));
    const file = path.join(dir, 't.jsonl');
    const t = new FuseRequestTiming(file);
    try {
      for (let i = 0; i < 10; i++) t.record(Op.GETATTR, 0.05);
      t.record(Op.FSYNC, 0.8);
      t.record(Op.FSYNC, 1.2);
      t.record(999, 0.01);
      const s = t.summary();
      expect(Object.keys(s.requests)).toEqual(['FSYNC', 'GETATTR', 'OP_999']);
      expect(s.requests.GETATTR).toMatchObject({ n: 10, p50_us: 50 });
      expect(s.requests.FSYNC).toMatchObject({ n: 2, p50_us: 1200, total_ms: 2 });
      t.dump();
      t.dump(); // nothing new: no line
      t.record(Op.WRITE, 0.1);
      t.stop();
      const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { requests: Record<string, { n: number }> });
      expect(lines).toHaveLength(2);
      expect(lines[0]!.requests.FSYNC!.n).toBe(2);
      expect(Object.keys(lines[1]!.requests)).toEqual(['WRITE']);
    } finally {
      t.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
