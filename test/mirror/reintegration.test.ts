// SECOND killed mid-stream: PRIM goes ALONE and records dirty regions; SECOND restarts;
// re-integration ships only the changed bytes (journal) while the application keeps
// writing; both copies end equal. Then a forced full comparison (block hashes).
import fs from 'node:fs';
import path from 'node:path';
import { MirrorPair } from './harness/pair';

const FILE_BYTES = 16 * 1024 * 1024;
const CHANGES = 64;
const CHANGE_BYTES = 4096;
const pair = new MirrorPair({ tag: 'reint', addr: '198.18.77.2', port: 7812, key: 'b2'.repeat(32), module: 'mreint' });
const { base, d1, d2, ns } = pair;
const app = (script: string): string => pair.app(script);

beforeAll(async () => {
  pair.prepare();
  await pair.startSecond();
  await pair.startPrim();
  app(`dd if=/dev/urandom of=${d1}/big.bin bs=1M count=${FILE_BYTES >> 20} status=none && echo keep > ${d1}/keep.txt && echo del > ${d1}/del.txt`);
}, 60000);

afterAll(() => pair.stop(), 60000);

test('SECOND killed: PRIM goes ALONE, writes continue and are recorded', async () => {
  const from = pair.prim.events.length;
  pair.second.kill9();
  // The next write notices (connection reset) and completes ALONE.
  app(`echo after-kill > ${d1}/k.txt`);
  await pair.prim.waitStatus('prim', 'alone', 10000, from);
  // Change CHANGES scattered 4 KiB blocks of big.bin, plus namespace changes.
  const cmds: string[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const block = (i * 61) % (FILE_BYTES / CHANGE_BYTES);
    cmds.push(`dd if=/dev/urandom of=${d1}/big.bin bs=${CHANGE_BYTES} seek=${block} count=1 conv=notrunc status=none`);
  }
  cmds.push(`mv ${d1}/keep.txt ${d1}/kept.txt`, `rm ${d1}/del.txt`, `mkdir ${d1}/newdir`, `echo new > ${d1}/newdir/n.txt`);
  app(cmds.join(' && '));
  const ph = await pair.prim.call('phase');
  expect(ph.phase).toBe('alone');
  expect(Number(ph.pending_bytes)).toBeLessThanOrEqual(CHANGES * CHANGE_BYTES + 3 * 4096);
}, 60000);

test('SECOND returns: re-integration ships only the changed bytes, under a live writer', async () => {
  const before = Number((await pair.prim.call('phase')).shipped_bytes);
  const from = pair.prim.events.length;
  await pair.startSecond();
  // A live writer during re-integration: appends to one file and rewrites one region.
  const writer = ns.exec(['sh', '-c', `for i in $(seq 1 40); do echo line-$i >> ${d1}/live.log; dd if=/dev/urandom of=${d1}/big.bin bs=4096 seek=7 count=1 conv=notrunc status=none; done; echo done`], pair.prim.pid);
  expect(writer.trim()).toBe('done');
  const t0 = Date.now();
  await pair.prim.waitStatus('prim', 'in_sync', 30000, from);
  const seconds = (Date.now() - t0) / 1000;
  const shipped = Number((await pair.prim.call('phase')).shipped_bytes) - before;
  const changed = CHANGES * CHANGE_BYTES;
  const syncing = pair.prim.events.slice(from).find((e) => (e.status as { state?: string } | undefined)?.state === 'syncing');
  expect((syncing?.status as { mode?: string }).mode).toBe('journal');
  // Visible from the first progress event: what is pending (every dirty range is known from
  // the journal), what was shipped, the rate and the ETA fields.
  const first = syncing?.status as { pending_bytes: number; shipped_bytes: number; rate_bytes_per_s: number; eta_s: number | null };
  expect(first.pending_bytes).toBeGreaterThanOrEqual(changed);
  expect(typeof first.shipped_bytes).toBe('number');
  expect(typeof first.rate_bytes_per_s).toBe('number');
  expect('eta_s' in first).toBe(true);
  // Distinct regions changed: the 64 blocks, plus the writer's block 7 and log (4 KiB
  // granules each) and three small files; the writer's repeats of block 7 may ship live.
  const distinct = changed + 3 * 4096;
  const ratio = shipped / changed;
  process.stdout.write(`${JSON.stringify({ bench: 'mirror', figure: 'reint_journal_shipped_vs_changed', value: +ratio.toFixed(3), unit: 'x', shipped, changed, seconds })}\n`);
  expect(shipped).toBeLessThanOrEqual(1.1 * distinct + 40 * 4096);
  const r = await pair.prim.call('verify');
  expect(r.diff).toEqual([]);
  expect(fs.readFileSync(path.join(d2, 'kept.txt'), 'utf8')).toBe('keep\n');
  expect(fs.existsSync(path.join(d2, 'del.txt'))).toBe(false);
  expect(fs.readFileSync(path.join(d2, 'k.txt'), 'utf8')).toBe('after-kill\n');
}, 60000);

test('fullsync: block-hash comparison of every file finds nothing to ship when equal', async () => {
  const before = Number((await pair.prim.call('phase')).shipped_bytes);
  const from = pair.prim.events.length;
  await pair.prim.call('fullsync');
  await pair.prim.waitStatus('prim', 'in_sync', 30000, from);
  const syncing = pair.prim.events.slice(from).find((e) => (e.status as { state?: string } | undefined)?.state === 'syncing');
  expect((syncing?.status as { mode?: string }).mode).toBe('full');
  expect(Number((await pair.prim.call('phase')).shipped_bytes) - before).toBe(0);
  expect((await pair.prim.call('verify')).diff).toEqual([]);
}, 60000);

test('a file replaced directly in the real directory is found by verify and repaired by fullsync', async () => {
  // Behind the mirror's back: not through the FUSE mount (the test process does not see it).
  fs.writeFileSync(path.join(d1, 'kept.txt'), 'replaced under the bind mount\n');
  const diff = (await pair.prim.call('verify')).diff as Array<{ path: string }>;
  expect(diff.map((d) => d.path)).toContain('/0/kept.txt');
  const from = pair.prim.events.length;
  await pair.prim.call('fullsync');
  await pair.prim.waitStatus('prim', 'in_sync', 30000, from);
  expect((await pair.prim.call('verify')).diff).toEqual([]);
  expect(fs.readFileSync(path.join(d2, 'kept.txt'), 'utf8')).toBe('replaced under the bind mount\n');
}, 60000);

test('fullsync keeps hard links: SECOND holds one file under both names, and a write through one name shows under the other', async () => {
  // Made behind the mirror's back (as a restore from backup would), so that only a full
  // comparison can bring them to SECOND.
  fs.writeFileSync(path.join(d1, 'hl-a.txt'), 'one\n');
  fs.linkSync(path.join(d1, 'hl-a.txt'), path.join(d1, 'hl-b.txt'));
  let from = pair.prim.events.length;
  await pair.prim.call('fullsync');
  await pair.prim.waitStatus('prim', 'in_sync', 30000, from);
  const a = fs.statSync(path.join(d2, 'hl-a.txt'));
  expect(fs.statSync(path.join(d2, 'hl-b.txt')).ino).toBe(a.ino); // before: two separate copies
  expect(a.nlink).toBe(2);
  // Through the mount, synced: SECOND holds it under both names once the sync returns.
  app(`printf 'two\\n' >> ${d1}/hl-b.txt && sync ${d1}/hl-b.txt`);
  expect(fs.readFileSync(path.join(d2, 'hl-a.txt'), 'utf8')).toBe('one\ntwo\n');
  // A second comparison finds both names linked already: nothing to ship, nothing relinked.
  const before = Number((await pair.prim.call('phase')).shipped_bytes);
  from = pair.prim.events.length;
  await pair.prim.call('fullsync');
  await pair.prim.waitStatus('prim', 'in_sync', 30000, from);
  expect(Number((await pair.prim.call('phase')).shipped_bytes) - before).toBe(0);
  expect(fs.statSync(path.join(d2, 'hl-b.txt')).ino).toBe(a.ino);
  expect((await pair.prim.call('verify')).diff).toEqual([]);
}, 60000);

test('ALONE, a write through one name of a linked file, then that name removed: the journal pass brings the write to the other name', async () => {
  let from = pair.prim.events.length;
  pair.second.kill9();
  app(`echo x > ${d1}/wake2.txt`);
  await pair.prim.waitStatus('prim', 'alone', 10000, from);
  // Also two linked files made through the mount: written through the first name and through
  // the second, each then removed.
  app(`printf 'three\\n' >> ${d1}/hl-a.txt && sync ${d1}/hl-a.txt && rm ${d1}/hl-a.txt`);
  // And one whose first name is renamed over. Before: the write, pending under the name
  // removed, was dropped with it, and SECOND's other name stayed empty.
  app(`for x in c e g; do echo 1 > ${d1}/hl-$x; ln ${d1}/hl-$x ${d1}/hl-$x-2; cat ${d1}/hl-$x-2 > /dev/null; done`);
  app(`echo 2 >> ${d1}/hl-c && sync ${d1}/hl-c && rm ${d1}/hl-c && echo 2 >> ${d1}/hl-e-2 && sync ${d1}/hl-e-2 && rm ${d1}/hl-e-2`);
  app(`echo 2 >> ${d1}/hl-g && sync ${d1}/hl-g && echo z > ${d1}/hl-z && mv ${d1}/hl-z ${d1}/hl-g`);
  from = pair.prim.events.length;
  await pair.startSecond();
  await pair.prim.waitStatus('prim', 'in_sync', 30000, from);
  const syncing = pair.prim.events.slice(from).find((e) => (e.status as { state?: string } | undefined)?.state === 'syncing');
  expect((syncing?.status as { mode?: string }).mode).toBe('journal');
  expect(fs.existsSync(path.join(d2, 'hl-a.txt'))).toBe(false);
  expect(fs.readFileSync(path.join(d2, 'hl-b.txt'), 'utf8')).toBe('one\ntwo\nthree\n');
  expect(fs.readFileSync(path.join(d2, 'hl-c-2'), 'utf8')).toBe('1\n2\n');
  expect(fs.readFileSync(path.join(d2, 'hl-e'), 'utf8')).toBe('1\n2\n');
  expect(fs.readFileSync(path.join(d2, 'hl-g-2'), 'utf8')).toBe('1\n2\n');
  expect(fs.readFileSync(path.join(d2, 'hl-g'), 'utf8')).toBe('z\n');
  expect((await pair.prim.call('verify')).diff).toEqual([]);
}, 60000);

test('module stopped mid-re-integration: the next start resumes from the journal and completes', async () => {
  const BIG_MIB = 24;
  let from = pair.prim.events.length;
  pair.second.kill9();
  app(`echo x > ${d1}/wake.txt`);
  await pair.prim.waitStatus('prim', 'alone', 10000, from);
  app(`dd if=/dev/urandom of=${d1}/resume.bin bs=1M count=${BIG_MIB} status=none`);
  // Restart the module with a bandwidth cap so that the pass is still running when we stop it.
  await pair.prim.call('stop');
  from = pair.prim.events.length;
  await pair.prim.call('prim', { ...pair.spec('n1'), bandwidth_bytes_per_s: 8 << 20, peer: pair.peer });
  await pair.startSecond();
  const sync1 = await pair.prim.waitStatus('prim', 'syncing', 10000, from);
  expect((sync1.status as { mode: string }).mode).toBe('journal');
  await new Promise((r) => setTimeout(r, 1000));
  await pair.prim.call('stop'); // mid-pass
  expect(fs.existsSync(path.join(base, 'n1', 'work', 'journal.log'))).toBe(true);
  from = pair.prim.events.length;
  await pair.prim.call('prim', { ...pair.spec('n1'), peer: pair.peer });
  const sync2 = await pair.prim.waitStatus('prim', 'syncing', 10000, from);
  // Still trusted: the clean stop wrote what was left; only that is shipped.
  expect((sync2.status as { mode: string }).mode).toBe('journal');
  expect((sync2.status as { pending_bytes: number }).pending_bytes).toBeLessThan(BIG_MIB << 20);
  await pair.prim.waitStatus('prim', 'in_sync', 30000, from);
  expect((await pair.prim.call('verify')).diff).toEqual([]);
}, 90000);

test('the bandwidth cap applies to re-integration only: live writes are not slowed', async () => {
  const CAP = 1 << 20; // 1 MiB/s
  const LIVE_MIB = 8;
  await pair.prim.call('stop');
  const from = pair.prim.events.length;
  await pair.prim.call('prim', { ...pair.spec('n1'), bandwidth_bytes_per_s: CAP, peer: pair.peer });
  await pair.prim.waitStatus('prim', 'in_sync', 30000, from);
  const t0 = Date.now();
  app(`dd if=/dev/urandom of=${d1}/live.bin bs=1M count=${LIVE_MIB} conv=fsync status=none`);
  const took_ms = Date.now() - t0;
  // Capped, these 8 MiB would take ≥ 8 s; live, they take what the mirror takes (< 1 s here).
  expect(took_ms).toBeLessThan(((LIVE_MIB << 20) / CAP) * 1000 / 2);
  expect(fs.readFileSync(path.join(d2, 'live.bin')).equals(fs.readFileSync(path.join(d1, 'live.bin')))).toBe(true);
}, 60000);

test('a full comparison counts the bytes still to compare as pending, with rate and ETA', async () => {
  const from = pair.prim.events.length;
  await pair.prim.call('fullsync');
  await pair.prim.waitStatus('prim', 'in_sync', 30000, from);
  const progress = pair.prim.events.slice(from)
    .filter((e) => e.event === 'status' && (e.status as { state?: string }).state === 'syncing')
    .map((e) => e.status as { mode: string; pending_bytes: number; rate_bytes_per_s: number; eta_s: number | null });
  expect(progress.length).toBeGreaterThan(0);
  expect(progress.every((p) => p.mode === 'full')).toBe(true);
  // Once both trees are listed, every file to compare counts (big.bin alone is 16 MiB).
  expect(Math.max(...progress.map((p) => p.pending_bytes))).toBeGreaterThanOrEqual(FILE_BYTES);
}, 60000);
