// A clean stop of PRIM's engine (after stop_prim, before a hand-over) ships what is in flight
// before it closes the link: the application's last writes reach SECOND even when it never
// synced them, as a clean unmount keeps them on a local disk. A swap's new PRIM starts from
// SECOND's copy, and that copy is announced complete.
import fs from 'node:fs';
import path from 'node:path';
import { inSyncPair } from './harness/in-sync-pair';

const pair = inSyncPair({ tag: 'cst', addr: '198.18.77.33', port: 7843, key: 'c7'.repeat(32), module: 'mcst' });
const { d1, d2 } = pair;

test('writes never synced, still queued when the engine stops, are on SECOND once it stopped', async () => {
  const file = path.join(pair.base, 'burst.py');
  fs.writeFileSync(file, `import os
fd = os.open('${d1}/burst.bin', os.O_WRONLY | os.O_CREAT, 0o644)
for i in range(24):
    os.write(fd, bytes([i + 1]) * (1 << 20))
os.close(fd)
print('written')`);
  // SECOND answers nothing for a while: the 24 MiB the script writes (no sync call: each
  // write() returns once queued, within the link's 32 MiB in flight) are still in PRIM's queue
  // and socket when its engine is stopped.
  process.kill(pair.second.pid, 'SIGSTOP');
  let stopped: Promise<unknown> | undefined;
  try {
    expect(pair.appNoSync(`python3 ${file}`).trim()).toBe('written');
    stopped = pair.prim.call('stop', {}, 30_000);
    await new Promise((r) => setTimeout(r, 1_000));
  } finally {
    process.kill(pair.second.pid, 'SIGCONT');
  }
  await stopped;
  const want = fs.readFileSync(path.join(d1, 'burst.bin'));
  const got = fs.readFileSync(path.join(d2, 'burst.bin'));
  expect({ bytes: got.length, same: got.equals(want) }).toEqual({ bytes: want.length, same: true });
});
