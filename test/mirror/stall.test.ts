// A SECOND that stops answering (SIGSTOP: the socket stays open, nothing is acknowledged):
// PRIM's pending write returns after the ack timeout with PRIM ALONE; when SECOND wakes up,
// re-integration brings it back in sync and the copies are equal.
import fs from 'node:fs';
import path from 'node:path';
import { inSyncPair } from './harness/in-sync-pair';

const pair = inSyncPair({ tag: 'stall', addr: '198.18.77.4', port: 7814, key: 'd4'.repeat(32), module: 'mstall' });
const { base, d1, ns } = pair;

test('a stalled SECOND costs one ack timeout, then PRIM is ALONE and writes flow', async () => {
  const from = pair.prim.events.length;
  process.kill(pair.second.pid, 'SIGSTOP');
  const t0 = Date.now();
  // The write is queued; its fsync is what waits for SECOND (the durability contract).
  ns.exec(['sh', '-c', `echo during-stall > ${d1}/s.txt && sync ${d1}/s.txt`], pair.prim.pid);
  const waited_ms = Date.now() - t0;
  expect(waited_ms).toBeLessThan(9000);
  await pair.prim.waitStatus('prim', 'alone', 5000, from);
  const t1 = Date.now();
  ns.exec(['sh', '-c', `for i in $(seq 1 50); do echo $i >> ${d1}/s.txt; done`], pair.prim.pid);
  expect(Date.now() - t1).toBeLessThan(3000);
  process.stdout.write(`${JSON.stringify({ bench: 'mirror', figure: 'stall_write_blocked_ms', value: waited_ms, unit: 'ms' })}\n`);
}, 30000);

test('SECOND wakes up: re-integration, then equal copies', async () => {
  const from = pair.prim.events.length;
  process.kill(pair.second.pid, 'SIGCONT');
  await pair.prim.waitStatus('prim', 'in_sync', 20000, from);
  expect((await pair.prim.call('verify')).diff).toEqual([]);
  expect(fs.readFileSync(path.join(base, 'n2', 'data', 's.txt'), 'utf8').split('\n').length).toBe(52);
}, 30000);
