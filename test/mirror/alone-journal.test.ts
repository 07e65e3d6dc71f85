// The ALONE journal names whole extents (core/mirror/pure/journal-coverage.ts): most small
// writes append nothing. The contract it must keep: hakitd on PRIM killed (kill -9) while
// ALONE, in the same boot, leaves a journal that is trusted and covers every byte written
// since SECOND left, also writes after a truncate or a rename took extents away; restarted,
// PRIM ships them in journal mode and both copies end equal.
import fs from 'node:fs';
import path from 'node:path';
import { inSyncPair } from './harness/in-sync-pair';
import { HarnessNode } from './harness/netns';
import { DirtyJournal } from '../../core/mirror/journal';

const MiB = 1024 * 1024;
let restarted: HarnessNode | undefined;
const pair = inSyncPair({ tag: 'ajour', addr: '198.18.77.23', port: 7833, key: 'd7'.repeat(32), module: 'majour' }, {
  whenInSync: (p) => { p.app(`dd if=/dev/urandom of=${p.d1}/f.bin bs=1M count=4 status=none && dd if=/dev/urandom of=${p.d1}/g.bin bs=1M count=3 status=none && echo a > ${p.d1}/a.bin`); },
  beforeStop: async () => { await restarted?.close(); },
});
const { base, d1, ns } = pair;

jest.setTimeout(120_000);

/** dd of 4 KiB random blocks into `file` at block numbers `blocks`, not truncating. */
const put = (file: string, blocks: readonly number[]): string => blocks.map((b) => `dd if=/dev/urandom of=${d1}/${file} bs=4096 count=1 seek=${b} conv=notrunc status=none`).join(' && ');

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
