// The ALONE journal names whole extents (core/mirror/pure/journal-coverage.ts): most small
// writes append nothing. The contract it must keep: hakitd on PRIM killed (kill -9) while
// ALONE, in the same boot, leaves a journal that is trusted and covers every byte written
// since SECOND left, also writes after a truncate or a rename took extents away; restarted,
// PRIM ships them in journal mode and both copies end equal. And the journal's own disk full
// while ALONE (a 1 MiB tmpfs as PRIM's work directory, the data on another disk): the
// application's writes still succeed, the journal empties itself (a restart then would compare
// every file), and once space is back it is rewritten whole, trusted again; the same when that
// disk is already full as PRIM starts.
import fs from 'node:fs';
import path from 'node:path';
import { inSyncPair } from './harness/in-sync-pair';
import { HarnessNode } from './harness/netns';
import { DirtyJournal } from '../../core/mirror/journal';

const MiB = 1024 * 1024;
let restarted: HarnessNode | undefined;
let onFullDisk: HarnessNode | undefined;
let fullAtStart: HarnessNode | undefined;
const pair = inSyncPair({ tag: 'ajour', addr: '198.18.77.23', port: 7833, key: 'd7'.repeat(32), module: 'majour' }, {
  whenInSync: (p) => { p.app(`dd if=/dev/urandom of=${p.d1}/f.bin bs=1M count=4 status=none && dd if=/dev/urandom of=${p.d1}/g.bin bs=1M count=3 status=none && echo a > ${p.d1}/a.bin`); },
  beforeStop: async () => { await restarted?.close(); await onFullDisk?.close(); await fullAtStart?.close(); },
});
const { base, d1, ns } = pair;
/** The journal a clean stop left at the end of the second test (its tmpfs goes with its node). */
const savedJournal = path.join(base, 'journal-saved.log');

jest.setTimeout(120_000);

/** dd of 4 KiB random blocks into `file` at block numbers `blocks`, not truncating. */
const put = (file: string, blocks: readonly number[]): string => blocks.map((b) => `dd if=/dev/urandom of=${d1}/${file} bs=4096 count=1 seek=${b} conv=notrunc status=none`).join(' && ');

/**
 * SECOND dies and a new PRIM starts ALONE with its work directory on a 1 MiB tmpfs of its own
 * mount view (gone with it), holding `journal`; `fill` fills that disk before the start.
 */
async function aloneOnSmallDisk(dir: string, tmpfs: string, journal: string, fill: boolean): Promise<{ node: HarnessNode; jwork: string; inNode: (script: string) => string; journalNow: () => ReturnType<DirtyJournal['load']> }> {
  pair.second.kill9();
  const jwork = path.join(base, 'n1', dir);
  fs.mkdirSync(jwork);
  const node = await HarnessNode.spawn(ns);
  const inNode = (script: string): string => ns.exec(['sh', '-c', script], node.pid);
  const filler = fill ? ` && (dd if=/dev/zero of=${jwork}/filler bs=64k status=none 2>/dev/null; true)` : '';
  inNode(`mount -t tmpfs -o size=1m ${tmpfs} ${jwork} && cp ${journal} ${jwork}/journal.log${filler}`);
  await node.call('prim', { ...pair.spec('n1', { work_dir: jwork }), peer: pair.peer });
  // The journal as a restart would load it now (a copy: the file is PRIM's).
  const journalNow = (): ReturnType<DirtyJournal['load']> => {
    const copy = path.join(base, `${dir}-journal-copy.log`);
    inNode(`cp ${jwork}/journal.log ${copy}`);
    return new DirtyJournal(copy).load();
  };
  return { node, jwork, inNode, journalNow };
}

test('PRIM killed while ALONE: the journal covers every write since, re-integration ships them', async () => {
  const from = pair.prim.events.length;
  pair.second.kill9();
  pair.appNoSync(`echo x > ${d1}/wake.txt`);
  await pair.prim.waitStatus('prim', 'alone', 10_000, from);
  // Sequential 4 KiB writes (one extent record for all), writes in a second extent, a write
  // extending g.bin, then a truncate that takes its extent away and a write there again, a
  // rename and writes under both names.
  pair.appNoSync([
    put('f.bin', Array.from({ length: 64 }, (_, i) => i)),
    put('f.bin', [300, 301, 700]),
    put('g.bin', [512 + 2]),
    `truncate -s ${MiB} ${d1}/g.bin`,
    put('g.bin', [512 + 4]),
    put('a.bin', [3]),
    `mv ${d1}/a.bin ${d1}/b.bin`,
    put('a.bin', [1]),
    put('b.bin', [5]),
  ].join(' && '));
  pair.prim.kill9();
  await new Promise<void>((r) => (pair.prim.exited ? r() : pair.prim.proc.on('exit', () => r())));

  // The journal the dead hakitd left: trusted (same boot), and every byte written is in it.
  const load = await new DirtyJournal(path.join(base, 'n1', 'work', 'journal.log')).load();
  expect(load.trusted).toBe(true);
  const covered = (p: string, block: number): boolean => load.pending.isDirtyCovered(p, block * 4096, (block + 1) * 4096);
  for (let b = 0; b < 64; b++) expect(covered('/0/f.bin', b)).toBe(true);
  for (const b of [300, 301, 700]) expect(covered('/0/f.bin', b)).toBe(true);
  expect(covered('/0/g.bin', 512 + 4)).toBe(true);
  expect(covered('/0/a.bin', 1)).toBe(true);
  expect(covered('/0/b.bin', 3)).toBe(true);
  expect(covered('/0/b.bin', 5)).toBe(true);
  // Extent records: far fewer than the 72 writes.
  expect(fs.readFileSync(path.join(base, 'n1', 'work', 'journal.log')).length).toBeLessThan(64 * 1024);

  // Restarted (its mount namespace went with it: a new one), with SECOND back: journal mode.
  restarted = await HarnessNode.spawn(ns);
  await restarted.call('prim', { ...pair.spec('n1'), peer: pair.peer });
  const at = restarted.events.length;
  await pair.startSecond();
  const syncing = await restarted.waitStatus('prim', 'syncing', 20_000, at);
  expect((syncing.status as { mode: string }).mode).toBe('journal');
  await restarted.waitStatus('prim', 'in_sync', 60_000, at);
  expect((await restarted.call('verify')).diff).toEqual([]);
});

test("the journal's disk full while ALONE: the application writes on, the journal empties itself, then is mended", async () => {
  // From the first test's end: `restarted` is PRIM, in sync. It stops cleanly (a closed
  // journal, trusted), then SECOND dies: the next PRIM is ALONE from its start.
  await restarted!.close();
  restarted = undefined;
  // Its work directory holds the journal the clean stop left; the disk has room at the start.
  const { node, jwork, inNode, journalNow } = await aloneOnSmallDisk('jwork', 'hm-jfull', path.join(base, 'n1', 'work', 'journal.log'), false);
  onFullDisk = node;
  expect((await node.call('phase')).phase).toBe('alone');

  expect((await journalNow()).trusted).toBe(true);

  inNode(`dd if=/dev/zero of=${jwork}/filler bs=64k status=none 2>/dev/null; true`);
  const from = node.events.length;
  // Writes, creates, a rename and an unlink on the data disk (which has room): all succeed.
  // 40 new files (records of their create and first write each): more than the room left in
  // the journal's last page, so its disk must refuse a record.
  inNode([
    put('f.bin', [900, 901, 950]),
    `for i in $(seq 1 40); do echo $i > ${d1}/s$i.txt || exit 1; done`,
    `mv ${d1}/b.bin ${d1}/c.bin`,
    `rm ${d1}/wake.txt`,
    `sync ${d1}`,
  ].join(' && '));
  const problem = await node.waitEvent((e) => e.event === 'problem' && String(e.message).includes('journal emptied'), 5_000, from);
  expect(problem.code).toBe('HAKIT_E_MIRROR_JOURNAL');
  expect(await journalNow()).toMatchObject({ trusted: false, reason: 'journal emptied (a record could not be written)' });
  // What `state -v`, the API and /metrics read (journal_emptied_ms) while it lasts.
  expect((await node.call('phase')).journal_problem).toBe('HAKIT_E_MIRROR_JOURNAL');

  // Space again: within a few seconds the journal holds everything pending, trusted again.
  inNode(`rm ${jwork}/filler`);
  let mended = await journalNow();
  for (let i = 0; i < 40 && !mended.trusted; i++) {
    await new Promise((r) => setTimeout(r, 250));
    mended = await journalNow();
  }
  expect(mended.trusted).toBe(true);
  expect((await node.call('phase')).journal_problem).toBeNull();
  for (const b of [900, 901, 950]) expect(mended.pending.isDirtyCovered('/0/f.bin', b * 4096, (b + 1) * 4096)).toBe(true);
  const created = mended.pending.snapshot().ops.filter((op) => op.kind === 'create').map((op) => op.path);
  for (let i = 1; i <= 40; i++) expect(created).toContain(`/0/s${i}.txt`);

  // SECOND back: the journal's changes are shipped and both copies are equal.
  const at = node.events.length;
  await pair.startSecond();
  await node.waitStatus('prim', 'in_sync', 60_000, at);
  expect((await node.call('verify')).diff).toEqual([]);
  // A clean stop; its journal (closed, trusted) outlives this node's tmpfs for the next test.
  await node.call('stop');
  inNode(`cp ${jwork}/journal.log ${savedJournal}`);
});

test("the journal's disk already full as PRIM starts: the start goes on ALONE, the journal is emptied and said, then written", async () => {
  await onFullDisk!.close();
  onFullDisk = undefined;
  // The work directory holds the clean stop's journal (trusted), and is full before the start.
  const { node, jwork, inNode, journalNow } = await aloneOnSmallDisk('jwork-full', 'hm-jfull2', savedJournal, true);
  fullAtStart = node;
  const ph = await node.call('phase');
  expect(ph.phase).toBe('alone');
  expect(ph.journal_problem).toBe('HAKIT_E_MIRROR_JOURNAL');
  // The application writes on.
  inNode(`${put('f.bin', [7])} && echo late > ${d1}/late.txt && sync ${d1}`);
  expect(fs.readFileSync(path.join(d1, 'late.txt'), 'utf8')).toBe('late\n');

  // Space again: the journal is written within a few seconds and trusted, holding the writes.
  inNode(`rm ${jwork}/filler`);
  let problem: unknown = ph.journal_problem;
  for (let i = 0; i < 40 && problem !== null; i++) {
    await new Promise((r) => setTimeout(r, 250));
    problem = (await node.call('phase')).journal_problem;
  }
  expect(problem).toBeNull();
  const load = await journalNow();
  expect(load).toMatchObject({ trusted: true, reason: 'daemon crash while ALONE, same boot' });
  expect(load.pending.isDirtyCovered('/0/f.bin', 7 * 4096, 8 * 4096)).toBe(true);
  expect(load.pending.snapshot().ops.filter((op) => op.kind === 'create').map((op) => op.path)).toContain('/0/late.txt');

  // SECOND back: a journal pass (no full comparison), both copies equal.
  const at = node.events.length;
  await pair.startSecond();
  const syncing = await node.waitStatus('prim', 'syncing', 30_000, at);
  expect((syncing.status as { mode: string }).mode).toBe('journal');
  await node.waitStatus('prim', 'in_sync', 60_000, at);
  expect((await node.call('verify')).diff).toEqual([]);
});
