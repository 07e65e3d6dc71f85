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

describe('planTree: hard links', () => {
  const names = (ops: readonly object[]): string[] => ops.map((o) => JSON.stringify(o));
  it('SECOND without the file: the first name is created and compared, the others linked to it', () => {
    const plan = planTree([f('/b', { link: '1:7' }), f('/a', { link: '1:7' }), f('/c')], [], NO_EXCLUDES);
    expect(plan.ops).toEqual([
      { kind: 'create', path: '/a', mode: 0o644 }, { kind: 'chown', path: '/a', uid: 0, gid: 0 },
      { kind: 'link', from: '/a', to: '/b' },
      { kind: 'create', path: '/c', mode: 0o644 }, { kind: 'chown', path: '/c', uid: 0, gid: 0 },
    ]);
    expect(plan.compare).toEqual(['/a', '/c']); // /b is /a's file
  });

  it('SECOND linked alike (its own inode numbers): nothing to do but compare the head', () => {
    const plan = planTree([f('/a', { link: '1:7' }), f('/b', { link: '1:7' })], [f('/a', { link: '9:3' }), f('/b', { link: '9:3' })], NO_EXCLUDES);
    expect(plan).toEqual({ ops: [], compare: ['/a'], otherNames: new Map([['/a', ['/b']]]) });
  });

  it('SECOND with separate copies (an older full comparison): the other names are removed and linked', () => {
    const plan = planTree([f('/a', { link: '1:7' }), f('/b', { link: '1:7' })], [f('/a'), f('/b')], NO_EXCLUDES);
    expect(names(plan.ops)).toEqual(names([{ kind: 'remove', path: '/b' }, { kind: 'link', from: '/a', to: '/b' }]));
    expect(plan.compare).toEqual(['/a']);
  });

  it('a name linked on SECOND to a file it is not linked to on PRIM gets its own copy, and so does that file', () => {
    const plan = planTree([f('/a'), f('/b')], [f('/a', { link: '9:3' }), f('/b', { link: '9:3' })], NO_EXCLUDES);
    expect(plan.ops).toEqual([
      { kind: 'remove', path: '/a' }, { kind: 'remove', path: '/b' },
      { kind: 'create', path: '/a', mode: 0o644 }, { kind: 'chown', path: '/a', uid: 0, gid: 0 },
      { kind: 'create', path: '/b', mode: 0o644 }, { kind: 'chown', path: '/b', uid: 0, gid: 0 },
    ]);
    expect(plan.compare).toEqual(['/a', '/b']);
  });

  it('a group split differently on SECOND: names outside the head\'s file there are linked again', () => {
    // PRIM: a, b, c one file. SECOND: a and b one file, c its own: keep a and b, link c.
    const local = [f('/a', { link: 'x' }), f('/b', { link: 'x' }), f('/c', { link: 'x' })];
    expect(names(planTree(local, [f('/a', { link: 'y' }), f('/b', { link: 'y' }), f('/c')], NO_EXCLUDES).ops)).toEqual(names([{ kind: 'remove', path: '/c' }, { kind: 'link', from: '/a', to: '/c' }]));
    // SECOND: b and c one file, a its own: a (the head) is kept, b and c are linked to it.
    const plan = planTree(local, [f('/a'), f('/b', { link: 'y' }), f('/c', { link: 'y' })], NO_EXCLUDES);
    expect(names(plan.ops)).toEqual(names([{ kind: 'remove', path: '/b' }, { kind: 'remove', path: '/c' }, { kind: 'link', from: '/a', to: '/b' }, { kind: 'link', from: '/a', to: '/c' }]));
    expect(plan.compare).toEqual(['/a']);
  });

  it('a name of another type on SECOND, or a head missing there: the file is made again and linked', () => {
    const plan = planTree([f('/a', { link: 'x' }), f('/b', { link: 'x' })], [d('/a'), f('/a/z'), f('/b')], NO_EXCLUDES);
    expect(plan.ops).toEqual([
      { kind: 'remove', path: '/a' }, { kind: 'remove', path: '/b' },
      { kind: 'create', path: '/a', mode: 0o644 }, { kind: 'chown', path: '/a', uid: 0, gid: 0 },
      { kind: 'link', from: '/a', to: '/b' },
    ]);
  });

  it('rfsverify names a file whose names are linked on one copy and not alike on the other', () => {
    const linked = [f('/a', { hash: '1', link: 'x' }), f('/b', { hash: '1', link: 'x' }), f('/c', { hash: '1' })];
    expect(diffTrees(linked, [f('/a', { hash: '1', link: 'y' }), f('/b', { hash: '1', link: 'y' }), f('/c', { hash: '1' })], NO_EXCLUDES)).toEqual([]);
    expect(diffTrees(linked, [f('/a', { hash: '1' }), f('/b', { hash: '1' }), f('/c', { hash: '1' })], NO_EXCLUDES)).toEqual([{ path: '/a', reason: 'link' }, { path: '/b', reason: 'link' }]);
    expect(diffTrees(linked, [f('/a', { hash: '1', link: 'y' }), f('/b', { hash: '1', link: 'y' }), f('/c', { hash: '1', link: 'y' })], NO_EXCLUDES)).toEqual([{ path: '/a', reason: 'link' }, { path: '/b', reason: 'link' }, { path: '/c', reason: 'link' }]);
  });

  it('a malformed identity from the peer is ignored, and an excluded name is no member of a group', () => {
    const bad = { ...f('/b'), link: 5 } as unknown as ManifestEntry;
    expect(names(planTree([f('/a', { link: 'x' }), f('/b', { link: 'x' })], [f('/a', { link: 5 as unknown as string }), bad], NO_EXCLUDES).ops)).toEqual(names([{ kind: 'remove', path: '/b' }, { kind: 'link', from: '/a', to: '/b' }]));
    const rules = compileExcludes(['\\.tmp$']);
    expect(planTree([f('/a.tmp', { link: 'x' }), f('/b', { link: 'x' })], [f('/b')], rules)).toEqual({ ops: [], compare: ['/b'], otherNames: new Map() });
  });
});

test('excluded entries are neither created, removed nor compared', () => {
  const rules = compileExcludes(['\\.tmp$']);
  const plan = planTree([f('/x.tmp')], [f('/y.tmp')], rules);
  expect(plan).toEqual({ ops: [], compare: [], otherNames: new Map() });
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

test('PendingSet.carry: what is pending for a name about to go is pending for another name of the file too', () => {
  const p = new PendingSet();
  p.markDirty('/a', 0, 10);
  p.markDirty('/a', 8192, 8200);
  p.markCompare('/a');
  expect(p.carry('/a', '/b')).toEqual([{ start: 0, end: 4096 }, { start: 8192, end: 12288 }]);
  p.noteLiveOp({ kind: 'unlink', path: '/a' });
  expect(p.hasDirty('/a')).toBe(false);
  expect(p.isDirtyCovered('/b', 0, 10)).toBe(true);
  expect(p.isDirtyCovered('/b', 8192, 8200)).toBe(true);
  expect(p.needsCompare('/b')).toBe(true);
  expect(p.carry('/none', '/c')).toEqual([]);
  expect(p.hasDirty('/c')).toBe(false);
});
