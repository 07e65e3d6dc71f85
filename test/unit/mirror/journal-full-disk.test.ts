// The journal on a full disk (core/mirror/journal.ts, header): a record it cannot write whole
// empties the file, so that no load trusts it, and the call that wanted the record goes on;
// nothing more is appended until a rewrite succeeds. The disk's answers are faked through the
// journal's RecordWriter port (ENOSPC, a short write); a failed rewrite is a real one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DirtyJournal, decodeRecords, type RecordWriter } from '../../../core/mirror/journal';
import { PendingSet } from '../../../core/mirror/pure/pending';
import type { HakitError } from '../../../core/errors/catalogue';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-hm-jfull-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A disk that takes writes until `full()` says otherwise, then answers as `answer` says. */
function fakeDisk(answer: 'ENOSPC' | 'short'): { writer: RecordWriter; fill: (on: boolean) => void; calls: () => number } {
  let full = false;
  let calls = 0;
  const writer: RecordWriter = (fd, buf) => {
    calls++;
    if (!full) return fs.writeSync(fd, buf);
    if (answer === 'ENOSPC') throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return fs.writeSync(fd, buf.subarray(0, buf.length >> 1)); // what fit: a torn record
  };
  return { writer, fill: (on) => { full = on; }, calls: () => calls };
}

async function aloneJournal(name: string, writer: RecordWriter): Promise<{ file: string; j: DirtyJournal; p: PendingSet; broken: HakitError[] }> {
  const file = path.join(dir, name);
  const j = new DirtyJournal(file, writer);
  const broken: HakitError[] = [];
  j.onBroken = (e) => broken.push(e);
  await j.load();
  const p = new PendingSet();
  await j.rewrite('copy-1', p, 'alone');
  return { file, j, p, broken };
}

describe.each(['ENOSPC', 'short'] as const)('a record the disk refuses (%s)', (answer) => {
  it('empties the file, reports once, lets the call go on; a rewrite makes it trusted again', async () => {
    const disk = fakeDisk(answer);
    const { file, j, p, broken } = await aloneJournal(`j-${answer}.log`, disk.writer);
    await j.appendDirty('/a', 0, 4096);
    p.markDirty('/a', 0, 4096);
    expect((await new DirtyJournal(file).load()).trusted).toBe(true);

    disk.fill(true);
    // The caller (a write about to be performed while ALONE) is not failed by the journal.
    await expect(j.appendDirty('/b', 0, 4096) ?? Promise.resolve()).resolves.toBeUndefined();
    p.markDirty('/b', 0, 4096);
    await expect(j.append([{ t: 'op', op: { kind: 'unlink', path: '/c' } }])).resolves.toBeUndefined();
    p.recordUnshipped({ kind: 'unlink', path: '/c' });
    expect(j.broken).toBe(true);
    expect(fs.statSync(file).size).toBe(0);
    expect(broken.map((e) => e.code)).toEqual(['HAKIT_E_MIRROR_JOURNAL']);
    expect(broken[0]!.message).toContain(file);
    // A daemon crash now (same boot): the journal says nothing, so every file is compared.
    const crashed = await new DirtyJournal(file).load();
    expect(crashed).toMatchObject({ trusted: false, reason: 'journal emptied (a record could not be written)' });

    // Space again: appends still write nothing until a rewrite holds everything pending.
    disk.fill(false);
    const before = disk.calls();
    await j.append([{ t: 'dirty', path: '/d', start: 0, end: 4096 }]);
    p.markDirty('/d', 0, 4096);
    expect(disk.calls()).toBe(before);
    expect(fs.statSync(file).size).toBe(0);
    await j.rewrite('copy-1', p, 'alone');
    expect(j.broken).toBe(false);
    const mended = await new DirtyJournal(file).load();
    expect(mended.trusted).toBe(true);
    for (const f of ['/a', '/b', '/d']) expect(mended.pending.isDirtyCovered(f, 0, 4096)).toBe(true);
    expect(mended.pending.snapshot().ops).toEqual([{ kind: 'unlink', path: '/c' }]);
    // And appends are written again.
    await j.append([{ t: 'dirty', path: '/e', start: 0, end: 4096 }]);
    expect(decodeRecords(fs.readFileSync(file)).events.slice(-1)).toEqual([{ t: 'dirty', path: '/e', start: 0, end: 4096 }]);
    await j.close('copy-1', p, 'alone');
  });
});

it('a rewrite that fails leaves no trusted journal behind, and no temporary file', async () => {
  const { file, j, p, broken } = await aloneJournal('rw.log', (fd, buf) => fs.writeSync(fd, buf));
  await j.appendDirty('/a', 0, 4096);
  p.markDirty('/a', 0, 4096);
  // The temporary file cannot be made (a directory holds its name): the rewrite fails.
  fs.mkdirSync(`${file}.tmp`);
  await expect(j.rewrite('copy-1', p, 'syncing')).rejects.toMatchObject({ code: 'EISDIR' });
  expect(j.broken).toBe(true);
  expect(broken).toHaveLength(1);
  // The file left from before says phase ALONE: trusted, it would lack what the caller goes on
  // to do without journaling it (a pass's live ops). It is emptied.
  expect((await new DirtyJournal(file).load()).trusted).toBe(false);
  fs.rmdirSync(`${file}.tmp`);
  await j.rewrite('copy-1', p, 'alone');
  expect(j.broken).toBe(false);
  expect((await new DirtyJournal(file).load()).trusted).toBe(true);
  await j.close('copy-1', p, 'alone');
  expect(fs.existsSync(`${file}.tmp`)).toBe(false);
});
