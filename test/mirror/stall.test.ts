// A SECOND that stops answering (SIGSTOP: the socket stays open, nothing is acknowledged):
// PRIM's pending write returns after the ack timeout with PRIM ALONE; when SECOND wakes up,
// re-integration brings it back in sync and the copies are equal.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HarnessNode, TestNetns } from './harness/netns';

const ADDR = '198.18.77.4';
const PORT = 7814;
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-hm-stall-'));
const ns = new TestNetns('stall', ADDR);
let prim: HarnessNode | undefined;
let second: HarnessNode | undefined;
const d1 = path.join(base, 'n1', 'data');
const spec = (n: string) => ({ module: 'mstall', dirs: [path.join(base, n, 'data')], work_dir: path.join(base, n, 'work'), key: 'd4'.repeat(32), async: 'none' });

beforeAll(async () => {
  fs.mkdirSync(d1, { recursive: true });
  fs.mkdirSync(path.join(base, 'n2', 'data'), { recursive: true });
  ns.up();
  second = await HarnessNode.spawn(ns);
  await second.call('second', { ...spec('n2'), listen: { host: ADDR, port: PORT } });
  prim = await HarnessNode.spawn(ns);
  await prim.call('prim', { ...spec('n1'), peer: { host: ADDR, port: PORT } });
  await prim.waitStatus('prim', 'in_sync', 20000);
}, 60000);

afterAll(async () => {
  if (second && !second.exited) process.kill(second.pid, 'SIGCONT');
  await prim?.close();
  await second?.close();
  ns.down();
  fs.rmSync(base, { recursive: true, force: true });
}, 60000);

test('a stalled SECOND costs one ack timeout, then PRIM is ALONE and writes flow', async () => {
  const from = prim!.events.length;
  process.kill(second!.pid, 'SIGSTOP');
  const t0 = Date.now();
  ns.exec(['sh', '-c', `echo during-stall > ${d1}/s.txt`], prim!.pid);
  const waited_ms = Date.now() - t0;
  expect(waited_ms).toBeLessThan(9000);
  await prim!.waitStatus('prim', 'alone', 5000, from);
  const t1 = Date.now();
  ns.exec(['sh', '-c', `for i in $(seq 1 50); do echo $i >> ${d1}/s.txt; done`], prim!.pid);
  expect(Date.now() - t1).toBeLessThan(3000);
  process.stdout.write(`${JSON.stringify({ bench: 'mirror', figure: 'stall_write_blocked_ms', value: waited_ms, unit: 'ms' })}\n`);
}, 30000);

test('SECOND wakes up: re-integration, then equal copies', async () => {
  const from = prim!.events.length;
  process.kill(second!.pid, 'SIGCONT');
  await prim!.waitStatus('prim', 'in_sync', 20000, from);
  expect((await prim!.call('verify')).diff).toEqual([]);
  expect(fs.readFileSync(path.join(base, 'n2', 'data', 's.txt'), 'utf8').split('\n').length).toBe(52);
}, 30000);
