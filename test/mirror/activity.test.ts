// The activity record (docs/mirror.md, "Activity record"; issue 16 item 5): a PRIM killed
// (power-cut in the harness: kill -9, its mount namespace gone) with a write SECOND never
// acknowledged; SECOND takes over (its copy was complete) and changes a little; the old PRIM
// comes back as SECOND. The new PRIM reconciles names by listing and compares content only
// for the files the old PRIM's record calls hot (and what it changed itself): mode
// 'activity', the unacknowledged write is undone on the returning node, both copies equal,
// and the big files nobody touched are not read.
import fs from 'node:fs';
import path from 'node:path';
import { inSyncPair } from './harness/in-sync-pair';
import { HarnessNode } from './harness/netns';
import { loadActivity } from '../../core/mirror/activity-record';
import { COOL_IDLE_MS } from '../../core/mirror/pure/activity';

const FILES = 24;
const FILE_MIB = 4;
let newPrim: HarnessNode | undefined;
let returning: HarnessNode | undefined;
const pair = inSyncPair({ tag: 'act', addr: '198.18.77.21', port: 7831, key: 'c4'.repeat(32), module: 'mact' }, {
  whenInSync: (p) => { p.app(`for i in $(seq 1 ${FILES}); do dd if=/dev/urandom of=${p.d1}/f$i.bin bs=1M count=${FILE_MIB} status=none; done`); },
  beforeStop: async () => {
    await newPrim?.close();
    await returning?.close();
  },
  start_timeout_ms: 120_000,
});
const { d1, d2, ns } = pair;

jest.setTimeout(120_000);

test('a returning former PRIM is re-integrated from its activity record: only hot files compared, the unacknowledged write undone', async () => {
  // Everything so far is on SECOND (pair.app syncs). Now a write SECOND never acknowledges:
  // SECOND stopped, the write returns (queued; its file recorded hot first), PRIM dies.
  // Two cooling ticks (COOL_IDLE_MS each): the idle files are synced and leave the record.
  await new Promise((r) => setTimeout(r, 2 * COOL_IDLE_MS + 2000));
  process.kill(pair.second.pid, 'SIGSTOP');
  pair.appNoSync(`dd if=/dev/zero of=${d1}/f3.bin bs=4096 count=1 seek=5 conv=notrunc status=none`);
  await new Promise((r) => setTimeout(r, 300));
  expect(fs.readFileSync(path.join(d1, 'f3.bin')).subarray(5 * 4096, 6 * 4096).every((b) => b === 0)).toBe(true);
  pair.prim.kill9();
  await new Promise<void>((r) => (pair.prim.exited ? r() : pair.prim.proc.on('exit', () => r())));
  process.kill(pair.second.pid, 'SIGCONT');
  // The dead PRIM's record: only the file with the unacknowledged write is hot.
  expect(await loadActivity(path.join(pair.base, 'n1', 'work'))).toMatchObject({ hot: ['/0/f3.bin'], all: false });

  // SECOND takes over: its engine stops cleanly, a PRIM engine starts on its directory. (The
  // bytes already in its socket when PRIM died are applied: TCP delivered them.)
  await pair.second.call('stop');
  const survivors = fs.readFileSync(path.join(d2, 'f3.bin'));
  // What the dead PRIM wrote that never left it (its disk only): scribbled on its real
  // directory (the harness's FUSE mount lived in its own mount namespace, gone with it).
  const fd = fs.openSync(path.join(d1, 'f3.bin'), 'r+');
  fs.writeSync(fd, Buffer.alloc(4096, 0xaa), 0, 4096, 9 * 4096);
  fs.closeSync(fd);
  newPrim = await HarnessNode.spawn(ns);
  await newPrim.call('prim', { ...pair.spec('n2'), peer: pair.peer });
  ns.exec(['sh', '-c', `echo written-by-new-prim > ${d2}/new.txt && dd if=/dev/urandom of=${d2}/f9.bin bs=4096 count=2 seek=3 conv=notrunc status=none`], newPrim.pid);

  // The old PRIM comes back as SECOND of the new PRIM.
  const from = newPrim.events.length;
  const t0 = Date.now();
  returning = await HarnessNode.spawn(ns);
  await returning.call('second', { ...pair.spec('n1'), listen: pair.peer });
  await newPrim.waitStatus('prim', 'in_sync', 60_000, from);
  const in_sync_ms = Date.now() - t0;
  const syncing = newPrim.events.slice(from).filter((e) => (e.status as { state?: string } | undefined)?.state === 'syncing');
  expect((syncing[0]?.status as { mode?: string }).mode).toBe('activity');
  const last = syncing[syncing.length - 1]?.status as { shipped_bytes: number };

  // Equal copies; what only the dead PRIM had is gone from the returning node.
  expect((await newPrim.call('verify')).diff).toEqual([]);
  expect(fs.readFileSync(path.join(d1, 'f3.bin')).equals(survivors)).toBe(true);
  expect(fs.readFileSync(path.join(d1, 'new.txt'), 'utf8')).toBe('written-by-new-prim\n');
  // Shipped: f3's differing block and f9's two blocks (64 KiB signature blocks), the new file;
  // not the untouched files.
  expect(last.shipped_bytes).toBeLessThan(1024 * 1024);
  const applied = Number((await returning.call('applied')).bytes_applied);
  process.stdout.write(`${JSON.stringify({ bench: 'mirror', figure: 'reint_activity_in_sync_ms', value: in_sync_ms, unit: 'ms', data_mib: FILES * FILE_MIB, shipped_bytes: last.shipped_bytes, applied_bytes: applied })}\n`);
});
