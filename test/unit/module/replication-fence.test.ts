// The ALONE fence through the mirror runner (core/module/runner/replication-mirror.ts): the
// engine's fence_wanted becomes a FenceWanted token for the module machine, only the newest
// token's answer reaches the engine, and `mirrorstatus` says how long sync calls have waited.
import { SILENT_LOG } from '../../../core/log/sink';
import { HakitError } from '../../../core/errors/catalogue';
import { FakePrim, FakeSecond, mirrorRunner } from './fake-mirror-engines';

async function primRunner(prim = new FakePrim(), log = SILENT_LOG) {
  const repl = mirrorRunner({ startPrim: async () => prim as never, startSecond: async () => { throw new Error('no SECOND here'); } }, log);
  const wanted: number[] = [];
  repl.onFenceWanted((t) => wanted.push(t));
  await repl.beforeScript('start_prim');
  return { prim, repl, wanted };
}

it('an engine that starts waiting is asked a fence for at once; only the newest token releases it', async () => {
  const { prim, repl, wanted } = await primRunner();
  expect(wanted).toEqual([1]); // needsFence at start, before any listener could hear fence_wanted
  expect(repl.status().fence_wait_ms).toEqual(expect.any(Number));
  prim.emit('fence_wanted'); // the link left SECOND behind again before the answer
  expect(wanted).toEqual([1, 2]);
  repl.fenced(1); // a stale answer
  expect(prim.fencedCalls).toBe(0);
  repl.fenced(2);
  expect(prim.fencedCalls).toBe(1);
  expect(repl.status().fence_wait_ms).toBeNull();
  repl.peerLost();
  expect(prim.peerLostCalls).toBe(1);
  await repl.dispose();
});

it('a journal emptied by its full disk: mirrorstatus says for how long, until the engine has rewritten it', async () => {
  const { prim, repl } = await primRunner();
  expect(repl.status().journal_emptied_ms).toBeNull();
  prim.journalProblem = new HakitError('HAKIT_E_MIRROR_JOURNAL', 'a record could not be written (ENOSPC): journal emptied', '/var/lib/hakit/x/journal.log');
  prim.emit('problem', prim.journalProblem);
  await new Promise((r) => setTimeout(r, 30));
  expect(repl.status().journal_emptied_ms).toBeGreaterThanOrEqual(25);
  prim.journalProblem = undefined; // mendJournal rewrote it
  expect(repl.status().journal_emptied_ms).toBeNull();
  // A FUSE problem (a plain error) is no journal's.
  prim.emit('problem', new Error('short FUSE request of 3 bytes'));
  expect(repl.status().journal_emptied_ms).toBeNull();
  await repl.dispose();
});

it('a journal emptied while the engine started (its disk already full) is logged and shown', async () => {
  const prim = new FakePrim();
  prim.journalProblem = new HakitError('HAKIT_E_MIRROR_JOURNAL', 'a record could not be written (ENOSPC): journal emptied', '/var/lib/hakit/x/journal.log');
  const warned: unknown[] = [];
  const log = { ...SILENT_LOG, warn: (o: unknown, msg?: string) => { warned.push([o, msg]); } } as typeof SILENT_LOG;
  const { repl } = await primRunner(prim, log);
  expect(warned).toContainEqual([expect.objectContaining({ code: 'HAKIT_E_MIRROR_JOURNAL' }), 'mirror: PRIM bookkeeping problem']);
  expect(repl.status().journal_emptied_ms).toEqual(expect.any(Number));
  await repl.dispose();
});

it('the fence is asked for also while replication reporting is off (stop_prim running)', async () => {
  const { prim, repl, wanted } = await primRunner();
  repl.fenced(1);
  repl.start('sender', () => undefined);
  repl.stop();
  prim.needsFence = true;
  prim.emit('fence_wanted');
  expect(wanted).toEqual([1, 2]);
  await repl.dispose();
});

it.each([[false, [{ type: 'ReplicationConnected' }]], [true, []]])('a SECOND engine starting with a copy complete=%s: what the machine is told at once: %j', async (complete, told) => {
  const second = Object.assign(new FakeSecond(), { complete });
  const repl = mirrorRunner({ startPrim: async () => { throw new Error('no PRIM here'); }, startSecond: async () => second as never });
  const reports: unknown[] = [];
  repl.start('receiver', (e) => reports.push(e));
  for (let i = 0; i < 50 && repl.status().copy_complete === null; i++) await new Promise((r) => setTimeout(r, 10));
  expect(repl.status().copy_complete).toBe(complete);
  expect(reports).toEqual(told);
  await repl.dispose();
});
