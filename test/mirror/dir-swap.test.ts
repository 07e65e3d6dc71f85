// A deploy's directory swap through the mirror with sync_secondary: a directory written since
// the last fsync, removed and its name made a symlink (rm -rf d && ln -s e d), then a sync.
// SECOND once failed that fsync (its dirty directory was no longer one: ENOTDIR), which put
// PRIM ALONE and cost a full comparison every time.
import { inSyncPair } from './harness/in-sync-pair';

const pair = inSyncPair({ tag: 'dsw', addr: '198.18.77.45', port: 7845, key: 'd7'.repeat(32), module: 'mdsw', spec: { sync_secondary: true } });

test('rm -rf d && ln -s e d, then a sync: SECOND applies it and PRIM stays in sync', async () => {
  const { d1 } = pair;
  const fromP = pair.prim.events.length;
  const fromS = pair.second.events.length;
  pair.app(`mkdir ${d1}/e ${d1}/d && echo x > ${d1}/d/f && rm -rf ${d1}/d && ln -s e ${d1}/d`); // ends with `sync d1`
  await new Promise((r) => setTimeout(r, 1500));
  const applyErrors = pair.second.events.slice(fromS).filter((e) => JSON.stringify(e).includes('apply_error'));
  const alone = pair.prim.events.slice(fromP).filter((e) => e.event === 'status' && (e.status as { state?: string }).state === 'alone');
  expect({ second: applyErrors.map((e) => JSON.stringify(e.status)), prim: alone.map((e) => JSON.stringify(e.status)) }).toEqual({ second: [], prim: [] });
  expect(pair.app(`readlink ${d1}/d`).trim()).toBe('e');
}, 60_000);
