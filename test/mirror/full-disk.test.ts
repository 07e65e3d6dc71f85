// Full disks. SECOND's copy on an 8 MiB tmpfs (in SECOND's private mount namespace): a write
// that does not fit there ends in a coded state (SECOND reports HAKIT_E_MIRROR_APPLY, PRIM
// goes ALONE with that code), the application's write still succeeds on PRIM and nothing
// acknowledged is lost; once space is freed, `fullsync` (hakit second fullsync) brings SECOND
// back in sync. Then PRIM's own disk full: the local write fails after SECOND applied it,
// the application gets the error, and re-integration makes SECOND equal to PRIM again.
import fs from 'node:fs';
import path from 'node:path';
import { MirrorPair } from './harness/pair';

const pair = new MirrorPair({ tag: 'full', addr: '198.18.77.6', port: 7816, key: 'f6'.repeat(32), module: 'mfull' });
const { base, d1, d2 } = pair;
const app = (script: string): string => pair.app(script);
const inSecond = (argv: string[]): string => pair.inSecond(argv);
const inPrim = (argv: string[]): string => pair.inPrim(argv);

beforeAll(async () => {
  pair.prepare();
  // The tmpfs lives in SECOND's private mount namespace only and dies with it.
  await pair.startSecond((node) => pair.ns.exec(['mount', '-t', 'tmpfs', '-o', 'size=8m', 'hm-full-second', d2], node.pid));
  await pair.startPrim();
}, 60000);

afterAll(() => pair.stop(), 60000);

test('SECOND full: coded state, the application keeps writing, nothing acknowledged is lost', async () => {
  app(`dd if=/dev/urandom of=${d1}/small.bin bs=1M count=2 conv=fsync status=none`);
  const fromP = pair.prim.events.length;
  const fromS = pair.second.events.length;
  // 12 MiB cannot fit in SECOND's 8 MiB: the write still succeeds for the application.
  app(`dd if=/dev/urandom of=${d1}/big.bin bs=1M count=12 conv=fsync status=none && echo after > ${d1}/after.txt`);
  const se = await pair.second.waitStatus('second', 'apply_error', 10000, fromS);
  expect((se.status as { code: string }).code).toBe('HAKIT_E_MIRROR_APPLY');
  const alone = await pair.prim.waitEvent((e) => e.event === 'status' && (e.status as { state?: string; code?: string }).state === 'alone' && (e.status as { code?: string }).code === 'HAKIT_E_MIRROR_APPLY', 10000, fromP);
  expect(alone).toBeDefined();
  expect(fs.statSync(path.join(d1, 'big.bin')).size).toBe(12 << 20);
  // SECOND knows its copy is incomplete (it must not serve on its own).
  expect(JSON.parse(fs.readFileSync(path.join(base, 'n2', 'work', 'receiver.json'), 'utf8')).complete).toBe(false);
}, 60000);

test('space freed on SECOND + fullsync: back in sync, copies equal', async () => {
  inSecond(['mount', '-o', 'remount,size=64m', d2]);
  const from = pair.prim.events.length;
  await pair.prim.call('fullsync');
  await pair.prim.waitStatus('prim', 'in_sync', 30000, from).catch((e: Error) => { throw new Error(`${e.message}\nSECOND: ${JSON.stringify(pair.second.events.slice(-6))}`); });
  expect((await pair.prim.call('verify')).diff).toEqual([]);
  expect(JSON.parse(fs.readFileSync(path.join(base, 'n2', 'work', 'receiver.json'), 'utf8')).complete).toBe(true);
}, 60000);

test("PRIM's own disk full: the write fails to the application and SECOND is corrected", async () => {
  // A 1 MiB tmpfs under PRIM's replicated directory (made through PRIM's real view, so the
  // FUSE mount sees it as a subdirectory): writes beyond it fail locally after shipping.
  app(`mkdir ${d1}/tiny`);
  inPrim(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'hm-full-prim', path.join(base, 'n1', 'work', 'real', '0', 'tiny')]);
  let failed = false;
  try {
    app(`dd if=/dev/urandom of=${d1}/tiny/over.bin bs=256k count=8 status=none`);
  } catch {
    failed = true; // dd reports ENOSPC: the application saw the failure
  }
  expect(failed).toBe(true);
  const from = pair.prim.events.length;
  // The failed range is dirty: a pass ships PRIM's content (and size) of it.
  await pair.prim.waitStatus('prim', 'in_sync', 30000, from).catch(async () => {
    const ph = await pair.prim.call('phase');
    if (ph.phase !== 'in_sync') throw new Error(`not back in sync: ${JSON.stringify(ph)}`);
  });
  expect((await pair.prim.call('verify')).diff).toEqual([]);
}, 60000);
