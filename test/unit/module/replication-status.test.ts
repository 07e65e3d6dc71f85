// What the mirror runner (core/module/runner/replication-mirror.ts) reports as the engine's last
// status, which `state -v`, the API's `phase` and the console word: always the current
// engine's, and on PRIM only its sender's link phase.
import { EventEmitter } from 'node:events';
import { MirrorReplication, type MirrorEngine } from '../../../core/module/runner/replication-mirror';
import type { MirrorPrim, MirrorSecond, MirrorStatus } from '../../../core/mirror/engine';
import { SILENT_LOG } from '../../../core/log/sink';

class FakePrim extends EventEmitter<{ status: [MirrorStatus]; fence_wanted: []; problem: [Error] }> {
  needsFence = false;
  journalProblem = undefined;
  fenced(): void {}
  peerLost(): void {}
  async stop(): Promise<void> {}
}

class FakeSecond extends EventEmitter<{ status: [MirrorStatus] }> {
  complete = true;
  receiver = { bytesApplied: 0, opsApplied: 0, foreignRefused: 0 };
  async stop(): Promise<void> {}
}

function runner() {
  const prims: FakePrim[] = [];
  const seconds: FakeSecond[] = [];
  const engine: MirrorEngine = {
    startPrim: async () => { prims.push(new FakePrim()); return prims.at(-1) as unknown as MirrorPrim; },
    startSecond: async () => { seconds.push(new FakeSecond()); return seconds.at(-1) as unknown as MirrorSecond; },
  };
  const repl = new MirrorReplication({ spec: { module: 'db', dirs: ['/srv/db'], work_dir: '/tmp/x', key: Buffer.alloc(32), async: 'none' }, peer: { host: '198.18.0.2', port: 1 }, listen: { host: '198.18.0.1', port: 1 }, engine, log: SILENT_LOG, settled: async () => undefined });
  return { repl, prims, seconds };
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
