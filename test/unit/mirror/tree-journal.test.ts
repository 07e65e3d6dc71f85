import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { planTree, diffTrees, type ManifestEntry } from '../../../core/mirror/pure/tree-diff';
import { compileExcludes, NO_EXCLUDES } from '../../../core/mirror/pure/exclude';
import { DirtyJournal, decodeRecords, encodeRecord } from '../../../core/mirror/journal';
import { PendingSet } from '../../../core/mirror/pure/pending';

const f = (p: string, extra: Partial<ManifestEntry> = {}): ManifestEntry => ({ path: p, type: 'f', mode: 0o644, uid: 0, gid: 0, size: 1, mtime_ms: 0, ...extra });
const d = (p: string): ManifestEntry => ({ path: p, type: 'd', mode: 0o755, uid: 0, gid: 0, size: 0, mtime_ms: 0 });

test('planTree: extra entries removed (topmost only), missing ones created parents first', () => {
  const local = [d('/a'), f('/a/x'), f('/b', { mode: 0o600 }), { ...f('/l'), type: 'l' as const, target: 't' }];
  const remote = [d('/z'), f('/z/1'), f('/b'), { ...f('/a'), type: 'f' as const }];
  const plan = planTree(local, remote, NO_EXCLUDES);
  expect(plan.ops).toEqual([
    { kind: 'remove', path: '/a' }, { kind: 'remove', path: '/z' },
    { kind: 'mkdir', path: '/a', mode: 0o755 }, { kind: 'chown', path: '/a', uid: 0, gid: 0 },
    { kind: 'create', path: '/a/x', mode: 0o644 }, { kind: 'chown', path: '/a/x', uid: 0, gid: 0 },
    { kind: 'chmod', path: '/b', mode: 0o600 },
    { kind: 'symlink', target: 't', path: '/l' },
  ]);
  expect(plan.compare).toEqual(['/a/x', '/b']);
});

test('excluded entries are neither created, removed nor compared', () => {
  const rules = compileExcludes(['\\.tmp$']);
  const plan = planTree([f('/x.tmp')], [f('/y.tmp')], rules);
  expect(plan).toEqual({ ops: [], compare: [] });
  expect(diffTrees([f('/x.tmp', { hash: '1' })], [], rules)).toEqual([]);
  expect(diffTrees([f('/a', { hash: '1' })], [f('/a', { hash: '2' })], NO_EXCLUDES)).toEqual([{ path: '/a', reason: 'content' }]);
});

describe('journal', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-hm-journal-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a torn tail stops decoding there', () => {
    const a = encodeRecord({ t: 'dirty', path: '/a', start: 0, end: 1 });
    const b = encodeRecord({ t: 'dirty', path: '/b', start: 0, end: 1 });
    expect(decodeRecords(Buffer.concat([a, b.subarray(0, b.length - 2)]))).toEqual({ events: [{ t: 'dirty', path: '/a', start: 0, end: 1 }], torn: true });
    const bad = Buffer.from(b);
    bad[bad.length - 1]! ^= 1;
    expect(decodeRecords(Buffer.concat([a, bad])).torn).toBe(true);
  });

  test('clean close is trusted and restores the pending set; a missing journal is not', async () => {
    const file = path.join(dir, 'j1.log');
    const j = new DirtyJournal(file);
    expect((await j.load()).trusted).toBe(false);
    const p = new PendingSet();
    await j.rewrite('copy-1', p, 'alone');
    await j.append([{ t: 'dirty', path: '/x', start: 0, end: 10 }, { t: 'intent', id: 1 }, { t: 'op', op: { kind: 'mkdir', path: '/d', mode: 0o755 }, id: 1 }]);
    p.markDirty('/x', 0, 10);
    p.recordUnshipped({ kind: 'mkdir', path: '/d', mode: 0o755 });
    // Crash while ALONE in the same boot: still trusted.
    const crashed = await new DirtyJournal(file).load();
    expect(crashed.trusted).toBe(true);
    expect(crashed.pending.snapshot()).toEqual(p.snapshot());
    await j.close('copy-1', p, 'alone');
    const again = await new DirtyJournal(file).load();
    expect(again).toMatchObject({ trusted: true, copy_id: 'copy-1' });
    expect(again.pending.dirtyBytes()).toBe(4096);
  });

  test('an intent without outcome, or a crash while in sync, is not trusted', async () => {
    const file = path.join(dir, 'j2.log');
    const j = new DirtyJournal(file);
    await j.load();
    await j.rewrite('c', new PendingSet(), 'alone');
    await j.append([{ t: 'intent', id: 9 }]);
    expect((await new DirtyJournal(file).load()).trusted).toBe(false);
    await j.rewrite('c', new PendingSet(), 'in_sync');
    expect((await new DirtyJournal(file).load()).trusted).toBe(false);
  });
});
