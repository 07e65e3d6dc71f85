// Full disks. SECOND's copy on an 8 MiB tmpfs (in SECOND's private mount namespace): a write
// that does not fit there ends in a coded state (SECOND reports HAKIT_E_MIRROR_APPLY, PRIM
// goes ALONE with that code), the application's write still succeeds on PRIM and nothing
// acknowledged is lost; once space is freed, `fullsync` (hakit second fullsync) brings SECOND
// back in sync. Then PRIM's own disk full: the local write fails after SECOND applied it,
// the application gets the error, and re-integration makes SECOND equal to PRIM again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HarnessNode, TestNetns } from './harness/netns';

const ADDR = '198.18.77.6';
const PORT = 7816;
const KEY = 'f6'.repeat(32);
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-hm-full-'));
const ns = new TestNetns('full', ADDR);
let prim: HarnessNode | undefined;
let second: HarnessNode | undefined;
const d1 = path.join(base, 'n1', 'data');
const d2 = path.join(base, 'n2', 'data');

function spec(node: 'n1' | 'n2'): Record<string, unknown> {
  return { module: 'mfull', dirs: [path.join(base, node, 'data')], work_dir: path.join(base, node, 'work'), key: KEY, async: 'none' };
}
function app(script: string): string { return ns.exec(['sh', '-c', script], prim!.pid); }
function inSecond(argv: string[]): string { return ns.exec(argv, second!.pid); }
function inPrim(argv: string[]): string { return ns.exec(argv, prim!.pid); }

beforeAll(async () => {
  fs.mkdirSync(d1, { recursive: true });
  fs.mkdirSync(d2, { recursive: true });
  ns.up();
  second = await HarnessNode.spawn(ns);
  // The tmpfs lives in SECOND's private mount namespace only and dies with it.
  inSecond(['mount', '-t', 'tmpfs', '-o', 'size=8m', 'hm-full-second', d2]);
  await second.call('second', { ...spec('n2'), listen: { host: ADDR, port: PORT } });
  prim = await HarnessNode.spawn(ns);
  await prim.call('prim', { ...spec('n1'), peer: { host: ADDR, port: PORT } });
  await prim.waitStatus('prim', 'in_sync', 20000);
}, 60000);

afterAll(async () => {
  await prim?.close();
  await second?.close();
  ns.down();
  fs.rmSync(base, { recursive: true, force: true });
}, 60000);

test('SECOND full: coded state, the application keeps writing, nothing acknowledged is lost', async () => {
  app(`dd if=/dev/urandom of=${d1}/small.bin bs=1M count=2 conv=fsync status=none`);
  const fromP = prim!.events.length;
  const fromS = second!.events.length;
  // 12 MiB cannot fit in SECOND's 8 MiB: the write still succeeds for the application.
  app(`dd if=/dev/urandom of=${d1}/big.bin bs=1M count=12 conv=fsync status=none && echo after > ${d1}/after.txt`);
  const se = await second!.waitStatus('second', 'apply_error', 10000, fromS);
  expect((se.status as { code: string }).code).toBe('HAKIT_E_MIRROR_APPLY');
  const alone = await prim!.waitEvent((e) => e.event === 'status' && (e.status as { state?: string; code?: string }).state === 'alone' && (e.status as { code?: string }).code === 'HAKIT_E_MIRROR_APPLY', 10000, fromP);
  expect(alone).toBeDefined();
  expect(fs.statSync(path.join(d1, 'big.bin')).size).toBe(12 << 20);
  // SECOND knows its copy is incomplete (it must not serve on its own).
  expect(JSON.parse(fs.readFileSync(path.join(base, 'n2', 'work', 'receiver.json'), 'utf8')).complete).toBe(false);
}, 60000);

test('space freed on SECOND + fullsync: back in sync, copies equal', async () => {
  inSecond(['mount', '-o', 'remount,size=64m', d2]);
  const from = prim!.events.length;
  await prim!.call('fullsync');
  await prim!.waitStatus('prim', 'in_sync', 30000, from).catch((e: Error) => { throw new Error(`${e.message}\nSECOND: ${JSON.stringify(second!.events.slice(-6))}`); });
  expect((await prim!.call('verify')).diff).toEqual([]);
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
  const from = prim!.events.length;
  // The failed range is dirty: a pass ships PRIM's content (and size) of it.
  await prim!.waitStatus('prim', 'in_sync', 30000, from).catch(async () => {
    const ph = await prim!.call('phase');
    if (ph.phase !== 'in_sync') throw new Error(`not back in sync: ${JSON.stringify(ph)}`);
  });
  expect((await prim!.call('verify')).diff).toEqual([]);
}, 60000);
