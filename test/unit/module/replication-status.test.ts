// What the mirror runner (core/module/runner/replication-mirror.ts) reports as the engine's last
// status, which `state -v`, the API's `phase` and the console word: always the current
// engine's, and on PRIM only its sender's link phase.
import { FakePrim, fakeEngine, mirrorRunner, type FakeSecond } from './fake-mirror-engines';
import { RecordingLog } from '../../../core/log/sink';

function runner() {
  const prims: FakePrim[] = [];
  const seconds: FakeSecond[] = [];
  return { repl: mirrorRunner(fakeEngine(prims, seconds, () => new FakePrim(false))), prims, seconds };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 10));

it('a SECOND that takes over starts with no last status, not the old link\'s "lost"', async () => {
  const { repl, prims, seconds } = runner();
  repl.start('receiver', () => undefined);
  await settle();
  seconds[0]!.emit('status', { state: 'lost', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'connection closed by peer' });
  expect(repl.status()).toMatchObject({ engine: 'second', last: { state: 'lost' } });
  repl.stop();
  await repl.beforeScript('start_prim'); // SECOND -> ALONE
  expect(prims).toHaveLength(1);
  expect(repl.status()).toMatchObject({ engine: 'prim', last: null });
  await repl.dispose();
});

it('a PRIM engine started again (SECOND still away) does not keep the previous engine\'s in_sync', async () => {
  const { repl, prims } = runner();
  await repl.beforeScript('start_prim');
  prims[0]!.emit('status', { state: 'in_sync' });
  expect(repl.status().last).toEqual({ state: 'in_sync' });
  await repl.afterScript('stop_prim');
  expect(repl.status()).toMatchObject({ engine: 'none', last: null });
  await repl.beforeScript('start_prim');
  expect(repl.status()).toMatchObject({ engine: 'prim', last: null });
  await repl.dispose();
});

it('on PRIM a watch-mode error is logged, not taken for the link\'s phase', async () => {
  const { repl, prims } = runner();
  await repl.beforeScript('start_prim');
  prims[0]!.emit('status', { state: 'in_sync' });
  prims[0]!.emit('status', { state: 'watch_error', code: 'HAKIT_E_MIRROR_WATCH', message: 'inotify queue overflow' });
  expect(repl.status().last).toEqual({ state: 'in_sync' });
  prims[0]!.emit('status', { state: 'alone', reason: 'SECOND lost by the heartbeats' });
  expect(repl.status().last).toEqual({ state: 'alone', reason: 'SECOND lost by the heartbeats' });
  await repl.dispose();
});

it('a PRIM engine\'s ALONE reason from its start, reported before the runner listened, is its last status', async () => {
  const started = { state: 'alone', reason: 'not connected yet; journal trusted: cleanly closed' } as const;
  const prims: FakePrim[] = [];
  const repl = mirrorRunner(fakeEngine(prims, [], () => Object.assign(new FakePrim(false), { lastStatus: started })));
  await repl.beforeScript('start_prim');
  expect(repl.status()).toMatchObject({ engine: 'prim', last: started });
  // The link's own reports replace it.
  const refused = { state: 'alone', reason: 'cannot connect: mirror db -> 198.18.0.2:1: connect failed: ECONNREFUSED', code: 'HAKIT_E_MIRROR_PEER_LOST' } as const;
  prims[0]!.emit('status', refused);
  expect(repl.status().last).toEqual(refused);
  await repl.dispose();
});

it('an ALONE PRIM whose connection failures alternate logs each cause once until it connects', async () => {
  const log = new RecordingLog();
  const prims: FakePrim[] = [];
  const repl = mirrorRunner(fakeEngine(prims, [], () => new FakePrim(false)), log);
  await repl.beforeScript('start_prim');
  const refused = { state: 'alone', reason: 'cannot connect: mirror db -> 198.18.0.2:1: connect failed: ECONNREFUSED' } as const;
  const silent = { state: 'alone', reason: 'cannot connect: mirror db -> 198.18.0.2:1: no handshake within 5000 ms' } as const;
  const aloneLines = (): string[] => log.lines.filter((l) => l.msg?.startsWith('mirror: ALONE')).map((l) => (l.obj as { reason: string }).reason);
  for (let i = 0; i < 5; i++) {
    prims[0]!.emit('status', refused);
    prims[0]!.emit('status', silent);
  }
  expect(aloneLines()).toEqual([refused.reason, silent.reason]);
  expect(repl.status().last).toEqual(silent); // the status is always the current cause
  prims[0]!.emit('status', { state: 'connected', peer: '198.18.0.2:1' });
  prims[0]!.emit('status', refused);
  expect(aloneLines()).toEqual([refused.reason, silent.reason, refused.reason]);
  await repl.dispose();
});

it('a SECOND whose copy the module machine marked out of date reports it incomplete, whatever its engine\'s own record says', async () => {
  let moduleSays = true;
  const seconds: FakeSecond[] = [];
  const repl = mirrorRunner(fakeEngine([], seconds), undefined, () => moduleSays);
  repl.start('receiver', () => undefined);
  await new Promise((r) => setTimeout(r, 10));
  expect(repl.status()).toMatchObject({ engine: 'second', copy_complete: true });
  // The PRIM went ALONE over a link that died silently: the engine still holds its in_sync.
  moduleSays = false;
  expect(repl.status()).toMatchObject({ engine: 'second', copy_complete: false });
  await repl.dispose();
});
