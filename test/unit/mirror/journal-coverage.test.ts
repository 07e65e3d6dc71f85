import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { JOURNAL_EXTENT_BYTES, JournalCoverage, MAX_COVERED_FILES } from '../../../core/mirror/pure/journal-coverage';
import { PendingSet } from '../../../core/mirror/pure/pending';
import { type MirrorOp } from '../../../core/mirror/pure/ops';
import { DirtyJournal, decodeRecords, type JournalEvent } from '../../../core/mirror/journal';

const MiB = JOURNAL_EXTENT_BYTES;

describe('JournalCoverage (pure)', () => {
  it('names whole extents, then covers writes inside them', () => {
    const c = new JournalCoverage();
    expect(c.recordFor('/f', 4096, 8192)).toEqual({ start: 0, end: MiB });
    // Not covered until the record is written.
    expect(c.recordFor('/f', 8192, 12288)).toEqual({ start: 0, end: MiB });
    c.written('/f', { start: 0, end: MiB });
    expect(c.recordFor('/f', 8192, 12288)).toBeUndefined();
    expect(c.recordFor('/f', MiB - 1, MiB + 1)).toEqual({ start: 0, end: 2 * MiB });
    expect(c.recordFor('/g', 0, 1)).toEqual({ start: 0, end: MiB });
    expect(c.recordFor('/f', 5, 5)).toBeUndefined(); // nothing written
  });

  it('forgets what a truncate, unlink, rmdir, remove or rename takes away from the replay', () => {
    const c = new JournalCoverage();
    const cover = (p: string): void => c.written(p, { start: 0, end: 2 * MiB });
    cover('/f');
    c.noteOp({ kind: 'truncate', path: '/f', size: 4096 });
    expect(c.recordFor('/f', 0, 4096)).toBeUndefined();
    expect(c.recordFor('/f', 4096, 8192)).toEqual({ start: 0, end: MiB });
    cover('/f');
    c.noteOp({ kind: 'unlink', path: '/f' });
    expect(c.recordFor('/f', 0, 1)).toBeDefined();
    cover('/d/a');
    c.noteOp({ kind: 'rmdir', path: '/d' });
    expect(c.recordFor('/d/a', 0, 1)).toBeDefined();
    cover('/d/a');
    c.noteOp({ kind: 'remove', path: '/d' });
    expect(c.recordFor('/d/a', 0, 1)).toBeDefined();
    cover('/a');
    cover('/b');
    c.noteOp({ kind: 'rename', from: '/a', to: '/b' });
    expect(c.recordFor('/a', 0, 1)).toBeDefined(); // a new /a has no record
    expect(c.recordFor('/b', 0, 1)).toBeUndefined(); // the replay moves /a's records to /b
    c.noteOp({ kind: 'chmod', path: '/b', mode: 0o600 });
    c.noteOp({ kind: 'link', from: '/b', to: '/c' });
    expect(c.recordFor('/b', 0, 1)).toBeUndefined();
    c.clear();
    expect(c.recordFor('/b', 0, 1)).toBeDefined();
  });

  it('stays bounded: past MAX_COVERED_FILES files it starts again', () => {
    const c = new JournalCoverage();
    for (let i = 0; i < MAX_COVERED_FILES; i++) c.written(`/f${i}`, { start: 0, end: MiB });
    expect(c.fileCount).toBe(MAX_COVERED_FILES);
    c.written('/one-more', { start: 0, end: MiB });
    expect(c.fileCount).toBe(1);
    expect(c.recordFor('/f0', 0, 1)).toBeDefined();
  });

  // The safety property: whatever the order of writes and ops, every write made with no
  // record (covered) lies inside what a replay of the journal (a rewrite image plus the
  // records appended since) says is dirty, as journal.ts load() would rebuild it.
  it('a write it lets through unrecorded is always inside the replayed journal (property)', () => {
    const paths = ['/a', '/b', '/d/x', '/d/y'];
    const G = 64 * 1024; // small extents so that runs cross them
    const opArb: fc.Arbitrary<MirrorOp | { kind: 'rewrite' }> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('write' as const), path: fc.constantFrom(...paths), offset: fc.nat(4 * G), len: fc.integer({ min: 0, max: G }) }).map((w) => ({ kind: 'write' as const, path: w.path, offset: w.offset, data: new Uint8Array(w.len) })) },
      { weight: 1, arbitrary: fc.record({ path: fc.constantFrom(...paths), size: fc.nat(4 * G) }).map((t) => ({ kind: 'truncate' as const, path: t.path, size: t.size })) },
      { weight: 1, arbitrary: fc.constantFrom(...paths, '/d').map((p) => ({ kind: 'remove' as const, path: p })) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...paths, '/d'), fc.constantFrom(...paths, '/e')).map(([from, to]) => ({ kind: 'rename' as const, from, to })) },
      { weight: 1, arbitrary: fc.constant({ kind: 'rewrite' as const }) },
    );
    fc.assert(fc.property(fc.array(opArb, { maxLength: 80 }), (steps) => {
      const c = new JournalCoverage(G);
      const pending = new PendingSet(); // exact, as the sender keeps it
      let journal: JournalEvent[] = [];
      for (const s of steps) {
        if (s.kind === 'rewrite') {
          const snap = pending.snapshot();
          journal = snap.dirty.flatMap((d) => d.ranges.map((r) => ({ t: 'dirty' as const, path: d.path, start: r.start, end: r.end })));
          c.clear();
          continue;
        }
        if (s.kind !== 'write') {
          c.noteOp(s);
          journal.push({ t: 'op', op: s });
          pending.recordUnshipped(s);
          continue;
        }
        const end = s.offset + s.data.length;
        const r = c.recordFor(s.path, s.offset, end);
        if (r) {
          journal.push({ t: 'dirty', path: s.path, start: r.start, end: r.end });
          c.written(s.path, r);
        }
        pending.recordUnshipped(s);
        const replay = new PendingSet();
        for (const e of journal) {
          if (e.t === 'dirty') replay.markDirty(e.path, e.start, e.end);
          else if (e.t === 'op') replay.recordUnshipped(e.op);
        }
        if (end > s.offset) expect(replay.isDirtyCovered(s.path, s.offset, end)).toBe(true);
      }
    }), { numRuns: 500 });
  });
});

describe('DirtyJournal.appendDirty', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-hm-jcov-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const records = (file: string): JournalEvent[] => decodeRecords(fs.readFileSync(file)).events;
  /** A loaded journal `name` in `dir`, rewritten for an ALONE PRIM with an empty pending set. */
  const aloneJournal = async (name: string): Promise<{ file: string; j: DirtyJournal; p: PendingSet }> => {
    const file = path.join(dir, name);
    const j = new DirtyJournal(file);
    await j.load();
    const p = new PendingSet();
    await j.rewrite('copy-1', p, 'alone');
    return { file, j, p };
  };

  it('appends one extent record for many small writes; ops and rewrites make it journal again', async () => {
    const { file, j, p } = await aloneJournal('j.log');
    const before = records(file).length;
    for (let i = 0; i < 256; i++) {
      const w = j.appendDirty('/f', i * 4096, (i + 1) * 4096);
      if (w) await w;
      p.markDirty('/f', i * 4096, (i + 1) * 4096);
    }
    expect(records(file).slice(before)).toEqual([{ t: 'dirty', path: '/f', start: 0, end: MiB }]);
    // A truncate record takes the extent away from a replay: the next write is journaled.
    await j.append([{ t: 'op', op: { kind: 'truncate', path: '/f', size: 0 } }]);
    p.recordUnshipped({ kind: 'truncate', path: '/f', size: 0 });
    expect(j.appendDirty('/f', 0, 4096)).toBeDefined();
    expect(records(file).slice(-1)).toEqual([{ t: 'dirty', path: '/f', start: 0, end: MiB }]);
    p.markDirty('/f', 0, 4096);
    // A rewrite holds `pending`, not the extents: journaled again after it.
    await j.rewrite('copy-1', p, 'alone');
    const w = j.appendDirty('/f', 8192, 12288);
    expect(w).toBeDefined();
    await w;
    p.markDirty('/f', 8192, 12288);
    // A daemon crash now (same boot): the trusted journal covers every write made.
    const crashed = await new DirtyJournal(file).load();
    expect(crashed.trusted).toBe(true);
    for (const [s, e] of [[0, 4096], [8192, 12288]] as const) expect(crashed.pending.isDirtyCovered('/f', s, e)).toBe(true);
    await j.close('copy-1', p, 'alone');
  });

  it('a record queued behind other journal work is waited for, and covers only once written', async () => {
    const { j, p } = await aloneJournal('q.log');
    const sync = j.sync(); // queued work: the next record goes through the queue
    const first = j.appendDirty('/q', 0, 4096);
    expect(first).toBeDefined();
    // Not written yet: a second writer of the same extent must append (and wait) too.
    const second = j.appendDirty('/q', 4096, 8192);
    expect(second).toBeDefined();
    await Promise.all([sync, first, second]);
    expect(j.appendDirty('/q', 8192, 12288)).toBeUndefined();
    await j.close('copy-1', p, 'alone');
  });
});
