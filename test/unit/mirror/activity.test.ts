// The activity record's decisions (core/mirror/pure/activity.ts) and the re-integration
// progress view (core/mirror/pure/progress.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { activityCompare, chooseReintegration, coolingPlan, isCovered, MAX_HOT_PATHS, SYNC_SOON_WRITES, syncLikelySoon, type HotFile } from '../../../core/mirror/pure/activity';
import { ActivityRecord, loadActivity, removeActivity } from '../../../core/mirror/activity-record';
import { formatProgress, replicationProgress, withReplication } from '../../../core/mirror/pure/progress';
import type { ManifestEntry } from '../../../core/mirror/pure/tree-diff';
import { CleanFiles, MAX_DIRTY_PATHS } from '../../../core/mirror/pure/clean-files';

const f = (p: string, size: number): ManifestEntry => ({ path: p, type: 'f', mode: 0o644, uid: 0, gid: 0, size, mtime_ms: 0 });

describe('activity record decisions', () => {
  it('covers a path by itself, by a directory above it, or by "/"', () => {
    const hot = new Set(['/a/b', '/c']);
    expect(isCovered(hot, '/a/b')).toBe(true);
    expect(isCovered(hot, '/c/d/e')).toBe(true);
    expect(isCovered(hot, '/a')).toBe(false);
    expect(isCovered(hot, '/a/bc')).toBe(false);
    expect(isCovered(new Set(['/']), '/x/y')).toBe(true);
  });

  it('chooses journal when SECOND holds the tracked copy, activity for a former PRIM of the copy taken over, else full', () => {
    const act = { base_copy: 'C2', hot: ['/x'], all: false };
    expect(chooseReintegration({ need_full: false, journal_matches: true, takeover_of: undefined, activity: undefined })).toBe('journal');
    expect(chooseReintegration({ need_full: false, journal_matches: false, takeover_of: 'C2', activity: act })).toBe('activity');
    // The record must describe the copy this PRIM started from.
    expect(chooseReintegration({ need_full: false, journal_matches: false, takeover_of: 'C9', activity: act })).toBe('full');
    // A PRIM whose own journal is not trusted cannot say what it changed.
    expect(chooseReintegration({ need_full: true, journal_matches: false, takeover_of: 'C2', activity: act })).toBe('full');
    expect(chooseReintegration({ need_full: false, journal_matches: false, takeover_of: 'C2', activity: { ...act, all: true } })).toBe('full');
    expect(chooseReintegration({ need_full: false, journal_matches: false, takeover_of: undefined, activity: act })).toBe('full');
  });

  it('compares only files missing on SECOND, of another size, hot, or left from an earlier pass', () => {
    const local = [f('/same', 10), f('/hot', 10), f('/grown', 20), f('/new', 5), f('/left', 3), f('/d/in-hot-dir', 1)];
    const remote = [f('/same', 10), f('/hot', 10), f('/grown', 10), f('/left', 3), f('/d/in-hot-dir', 1)];
    const got = activityCompare(local.map((e) => e.path), local, remote, new Set(['/hot', '/d']), new Set(['/left']));
    expect(got).toEqual(['/hot', '/grown', '/new', '/left', '/d/in-hot-dir']);
  });

  it('compares a hard-linked file (under its first name) when another of its names is hot or left', () => {
    const local = [f('/a', 10), f('/b', 10), f('/c', 10), f('/e', 10)];
    const remote = [f('/a', 10), f('/b', 10), f('/c', 10), f('/e', 10)];
    const otherNames = new Map([['/a', ['/z/hot-name']], ['/c', ['/left-name']], ['/e', ['/cold']]]);
    const got = activityCompare(['/a', '/c', '/e'], local, remote, new Set(['/z']), new Set(['/left-name']), otherNames);
    expect(got).toEqual(['/a', '/c']);
  });

  it('cools only files idle for a whole tick; those a sync covered at once, the others after a sync', () => {
    const files = new Map<string, HotFile>([
      ['/busy', { write_gen: 5, synced_gen: 5, seen_gen: 4 }],
      ['/synced', { write_gen: 3, synced_gen: 3, seen_gen: 3 }],
      ['/unsynced', { write_gen: 3, synced_gen: 1, seen_gen: 3 }],
    ]);
    expect(coolingPlan(files)).toEqual({ cool: ['/synced'], sync_first: ['/unsynced'] });
  });
});

describe('activity record file', () => {
  let dir = '';
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-activity-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('records nothing before a session opens it; then hot paths survive a reload, cooled ones do not', async () => {
    const r = new ActivityRecord(dir);
    await r.markHot('/before');
    expect(await loadActivity(dir)).toBeUndefined();
    await r.open('C1');
    await Promise.all([r.markHot('/a'), r.markHot('/b'), r.markHot('/a')]);
    expect(await loadActivity(dir)).toEqual({ base_copy: 'C1', hot: ['/a', '/b'], all: false });
    await r.cool(['/a']);
    await r.markHot('/c');
    await r.close();
    expect(await loadActivity(dir)).toEqual({ base_copy: 'C1', hot: ['/b', '/c'], all: false });
    const again = new ActivityRecord(dir);
    await again.load();
    expect(again.covers('/b')).toBe(true);
    await removeActivity(dir);
    expect(await loadActivity(dir)).toBeUndefined();
  });

  it('a torn tail (power cut mid-append) keeps the records before it; "all" covers everything', async () => {
    const r = new ActivityRecord(dir);
    await r.open('C1');
    await r.markHot('/a');
    await r.close();
    fs.appendFileSync(path.join(dir, 'activity.log'), Buffer.from([0, 0, 0, 40, 1, 2]));
    expect(await loadActivity(dir)).toEqual({ base_copy: 'C1', hot: ['/a'], all: false });
    const r2 = new ActivityRecord(dir);
    await r2.load();
    await r2.open('C1');
    await r2.markAll();
    await r2.close();
    expect((await loadActivity(dir))?.all).toBe(true);
    expect(MAX_HOT_PATHS).toBeGreaterThan(1000);
  });
});

describe('re-integration progress view', () => {
  it('shows pending, shipped, rate and ETA during a pass; 0 pending when in sync', () => {
    const p = replicationProgress({ engine: 'prim', last: { state: 'syncing', mode: 'journal', shipped_bytes: 1 << 20, pending_bytes: 300 << 20, pending_files: 1, rate_bytes_per_s: 64 << 20, eta_s: 5 } });
    expect(p).toMatchObject({ phase: 'reintegrating', pending_bytes: 300 << 20, shipped_bytes: 1 << 20, eta_s: 5 });
    expect(formatProgress(p)).toBe('  replication: re-integrating (journal): pending 300 MiB in 1 files, shipped 1.0 MiB  rate 64 MiB/s  eta 5 s');
    expect(replicationProgress({ engine: 'prim', last: { state: 'in_sync' } })).toMatchObject({ phase: 'in_sync', pending_bytes: 0, eta_s: 0 });
    expect(formatProgress(replicationProgress({ engine: 'prim', last: { state: 'alone', reason: 'x' } }))).toMatch(/ALONE/);
    // Sync calls held for the ALONE fence are said on a line of their own (PRIM only).
    const held = replicationProgress({ engine: 'prim', last: { state: 'alone', reason: 'x' }, fence_wait_ms: 12_400 });
    expect(held.fence_wait_ms).toBe(12_400);
    expect(formatProgress(held)).toBe('  replication: ALONE (x), changes journaled for the SECOND\n  sync calls: held 12 s for the ALONE fence (the peer may still believe its copy complete; docs/mirror.md)');
    expect(replicationProgress({ engine: 'prim', last: { state: 'alone', reason: 'x' }, fence_wait_ms: null })).not.toHaveProperty('fence_wait_ms');
    // Why it is ALONE: the engine's reason, or the lost link's message; nothing when unknown.
    expect(replicationProgress({ engine: 'prim', last: { state: 'alone', reason: 'cannot connect: mirror web -> 198.18.0.2:7911: connect failed: ECONNREFUSED' } })).toMatchObject({ phase: 'alone', alone_reason: 'cannot connect: mirror web -> 198.18.0.2:7911: connect failed: ECONNREFUSED' });
    // The link lost, within its resume window: said as such (its ops wait for the resume).
    const lost = replicationProgress({ engine: 'prim', last: { state: 'lost', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'SECOND silent for 5000 ms' } });
    expect(lost).toMatchObject({ phase: 'alone', resuming: true, alone_reason: 'SECOND silent for 5000 ms' });
    expect(formatProgress(lost)).toBe('  replication: link to the SECOND lost (SECOND silent for 5000 ms), trying to resume');
    expect(replicationProgress({ engine: 'prim', last: { state: 'alone', reason: 'x' } })).not.toHaveProperty('resuming');
    expect(formatProgress(replicationProgress({ engine: 'prim', last: null }))).toBe('  replication: ALONE, changes journaled for the SECOND');
    expect(replicationProgress({ engine: 'prim', last: { state: 'in_sync' } })).not.toHaveProperty('alone_reason');
    // So is a journal emptied by its full disk (PRIM only), after the fence's line.
    const emptied = replicationProgress({ engine: 'prim', last: { state: 'in_sync' }, fence_wait_ms: 2_000, journal_emptied_ms: 61_600 });
    expect(emptied.journal_emptied_ms).toBe(61_600);
    expect(formatProgress(emptied).split('\n').slice(1)).toEqual([
      '  sync calls: held 2 s for the ALONE fence (the peer may still believe its copy complete; docs/mirror.md)',
      '  journal: emptied 62 s ago, its disk refused a record (HAKIT_E_MIRROR_JOURNAL): a crash of this node now costs a full comparison; rewritten once the disk takes it (docs/mirror.md)',
    ]);
    expect(replicationProgress({ engine: 'prim', last: { state: 'in_sync' }, journal_emptied_ms: null })).not.toHaveProperty('journal_emptied_ms');
    expect(replicationProgress({ engine: 'second', last: null, copy_complete: true, journal_emptied_ms: 5 })).not.toHaveProperty('journal_emptied_ms');
    expect(replicationProgress({ engine: 'second', last: null, copy_complete: false, bytes_applied: 10 })).toMatchObject({ phase: 'receiving', bytes_applied: 10 });
    // A SECOND whose copy is incomplete and whose link is down receives nothing: said so.
    const waiting = replicationProgress({ engine: 'second', last: { state: 'lost', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'x' }, copy_complete: false, bytes_applied: 2048 });
    expect(waiting).toMatchObject({ phase: 'receiving', waiting_for_prim: true });
    expect(formatProgress(waiting)).toBe('  replication: copy incomplete, waiting for the PRIM to connect (applied 2.0 KiB since start)');
    const receiving = replicationProgress({ engine: 'second', last: { state: 'second_complete', complete: false }, copy_complete: false, bytes_applied: 2048 });
    expect(receiving).not.toHaveProperty('waiting_for_prim');
    expect(formatProgress(receiving)).toMatch(/receiving re-integration/);
    expect(replicationProgress({ engine: 'second', last: null, copy_complete: true })).not.toHaveProperty('waiting_for_prim');
    expect(formatProgress(replicationProgress({ engine: 'prim', last: { state: 'syncing', pending_bytes: 0, rate_bytes_per_s: 0, eta_s: null } }))).toMatch(/eta \?/);
  });

  it('adds `replication` to the mirror modules of a collector view only', () => {
    const view = { node: 'n1', modules: [{ module: 'm' }, { module: 'f' }] };
    const p = replicationProgress({ engine: 'prim', last: { state: 'in_sync' } });
    expect(withReplication(view, new Map([['m', p]])).modules).toEqual([{ module: 'm', replication: p }, { module: 'f' }]);
  });
});

describe('clean files (the capture skips the local flush of an unchanged file)', () => {
  it('knows nothing before the starting syncfs; then a touched path is dirty until a sync that began after its last change', () => {
    const c = new CleanFiles();
    expect(c.isClean('/0/a')).toBe(false);
    c.touch('/0/a');
    c.baselineDone();
    expect(c.isClean('/0/b')).toBe(true);
    expect(c.isClean('/0/a')).toBe(false);
    const g = c.startSync('/0/a');
    c.touch('/0/a'); // a write while the sync runs
    c.synced('/0/a', g);
    expect(c.isClean('/0/a')).toBe(false);
    c.synced('/0/a', c.startSync('/0/a'));
    expect(c.isClean('/0/a')).toBe(true);
  });

  it('a rename carries dirtiness to the new names; "/" or too many paths make everything dirty', () => {
    const c = new CleanFiles();
    c.baselineDone();
    c.touch('/0/d/x');
    c.moved('/0/d', '/0/e');
    expect(c.isClean('/0/e/x')).toBe(false);
    expect(c.isClean('/0/e')).toBe(false);
    c.touch('/');
    expect(c.isClean('/0/zzz')).toBe(false);
    const d = new CleanFiles();
    d.baselineDone();
    for (let i = 0; i <= MAX_DIRTY_PATHS; i++) d.touch(`/0/f${i}`);
    expect(d.isClean('/0/never')).toBe(false);
    expect(d.dirtyCount).toBe(1);
  });

  it('counts the bytes written since a sync started; unknown (Infinity) before the baseline, across names, after a failed sync', () => {
    const c = new CleanFiles();
    c.touch('/0/a', 4096);
    expect(c.unsyncedBytes('/0/a')).toBe(Infinity);
    c.baselineDone();
    expect(c.unsyncedBytes('/0/clean')).toBe(0);
    c.touch('/0/a', 8192);
    c.touch('/0/a'); // a chmod adds no content
    expect(c.unsyncedBytes('/0/a')).toBe(4096 + 8192);
    const g = c.startSync('/0/a');
    expect(c.unsyncedBytes('/0/a')).toBe(0);
    c.touch('/0/a', 100); // written while the flush runs: the next flush's
    c.synced('/0/a', g);
    expect(c.unsyncedBytes('/0/a')).toBe(100);
    const h = c.startSync('/0/a');
    c.syncFailed('/0/a');
    c.synced('/0/a', h + 1); // not this sync's generation: still dirty
    expect(c.unsyncedBytes('/0/a')).toBe(Infinity);
    c.synced('/0/a', c.startSync('/0/a'));
    expect(c.unsyncedBytes('/0/a')).toBe(0);
    c.touch('/0/d/x', 10);
    c.moved('/0/d', '/0/e');
    expect(c.unsyncedBytes('/0/e/x')).toBe(Infinity);
    c.touch('/');
    expect(c.unsyncedBytes('/0/other')).toBe(Infinity);
  });
});

test('syncLikelySoon: a file synced before and written at most SYNC_SOON_WRITES times since (a WAL), not a bulk file', () => {
  const f = (write_gen: number, synced_gen: number): HotFile => ({ write_gen, synced_gen, seen_gen: 0 });
  expect(syncLikelySoon(undefined)).toBe(false); // not hot: no history
  expect(syncLikelySoon(f(3, 0))).toBe(false); // never synced (since it became hot)
  expect(syncLikelySoon(f(11, 10))).toBe(true); // the write after a sync
  expect(syncLikelySoon(f(10 + SYNC_SOON_WRITES, 10))).toBe(true);
  expect(syncLikelySoon(f(11 + SYNC_SOON_WRITES, 10))).toBe(false); // a bulk writer's run: SECOND's batched ACKs
});
