// The last rfsverify of a mirror module: kept crash-safe in the module's state folder by the
// daemon's mirror-command handler (core/daemon/mirror-handlers.ts, verify-records.ts), read
// back after a restart, and served by the API's replication route. The handler and the
// records are the daemon's own; the engine behind is a fake (the engine's comparison itself
// is tested with the mirror lab).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HakitError } from '../../core/errors/catalogue';
import { makeMirrorHandler, type MirrorStatusResult } from '../../core/daemon/mirror-handlers';
import { VERIFY_RECORD_FILE, VerifyRecords } from '../../core/daemon/verify-records';
import { parseVerifyRecord, VERIFY_RECORD_PATHS_MAX, verifyLine, type VerifyRecord } from '../../core/daemon/pure/verify-record';
import type { MirrorControl } from '../../core/module/runner/replication-mirror';
import type { TreeDifference } from '../../core/mirror/pure/tree-diff';
import type { ReplicationStatus } from '../../core/api/contract/pure/types';
import { apiKeyAdd, createFirstAdmin } from '../../core/api/users/store';
import { call, codeOf, makeTls, startFakeApi, type Started } from './helpers';

jest.setTimeout(30_000);

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-verify-rec-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function engine(o: { diffs?: TreeDifference[]; fail?: Error }): MirrorControl {
  return {
    verify: async () => [],
    verifyReport: async () => {
      if (o.fail) throw o.fail;
      return { differences: o.diffs ?? [], files_compared: 3, bytes_compared: 300 };
    },
    fullsync: async () => undefined,
    status: () => ({ engine: 'prim', last: null, copy_complete: null, bytes_applied: null, ops_applied: null, foreign_refused: null, link: 'up' }),
  };
}

function handler(control: MirrorControl, records: VerifyRecords, clock: number[]) {
  return makeMirrorHandler({ node: 'n1', moduleNames: () => ['m1'], mirror: () => control, verify_records: records, now_ms: () => clock.shift() ?? 0 });
}

const status = async (h: ReturnType<typeof handler>): Promise<MirrorStatusResult> => (await h({ id: 1, cmd: 'mirrorstatus', args: { module: 'm1' } })) as MirrorStatusResult;

test('a verify is kept with its time, outcome, what it compared and found, and its duration; a restart reads it back', async () => {
  const records = new VerifyRecords(dir);
  const diffs = Array.from({ length: VERIFY_RECORD_PATHS_MAX + 5 }, (_, i): TreeDifference => ({ path: `/f${String(i).padStart(2, '0')}`, reason: 'content' }));
  const h = handler(engine({ diffs }), records, [1_000, 1_250]);
  expect((await status(h)).last_verify).toBeNull();
  await h({ id: 1, cmd: 'rfsverify', args: { module: 'm1' } });
  const want: VerifyRecord = {
    at: new Date(1_250).toISOString(),
    duration_ms: 250,
    outcome: 'different',
    files_compared: 3,
    bytes_compared: 300,
    differences: diffs.length,
    first_differences: diffs.slice(0, VERIFY_RECORD_PATHS_MAX),
    error: null,
  };
  expect((await status(h)).last_verify).toEqual(want);
  // On disk before the answer, complete, private; a new daemon (a restart) reads the same.
  const file = path.join(dir, 'm1', VERIFY_RECORD_FILE);
  expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(want);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(fs.readdirSync(path.join(dir, 'm1'))).toEqual([VERIFY_RECORD_FILE]);
  expect((await status(handler(engine({}), new VerifyRecords(dir), []))).last_verify).toEqual(want);
  expect(verifyLine(want)).toBe(`${diffs.length} difference(s), 3 files (300 bytes) in 250 ms, ${want.at}`);

  // The next verify replaces it.
  const again = handler(engine({}), records, [2_000, 2_100]);
  await again({ id: 1, cmd: 'rfsverify', args: { module: 'm1' } });
  expect((await status(again)).last_verify).toMatchObject({ outcome: 'identical', differences: 0, first_differences: [], duration_ms: 100 });
});

test('a verify that failed while comparing is kept as failed; one refused on a SECOND is not kept', async () => {
  const records = new VerifyRecords(dir);
  const lost = handler(engine({ fail: new HakitError('HAKIT_E_MIRROR_PEER_LOST', 'peer gone', 'm1') }), records, [10, 40]);
  await expect(lost({ id: 1, cmd: 'rfsverify', args: { module: 'm1' } })).rejects.toMatchObject({ code: 'HAKIT_E_MIRROR_PEER_LOST' });
  const failed = (await status(lost)).last_verify;
  expect(failed).toMatchObject({ outcome: 'failed', files_compared: null, differences: null, duration_ms: 30, error: { code: 'HAKIT_E_MIRROR_PEER_LOST' } });
  const second = handler(engine({ fail: new HakitError('HAKIT_E_REPL_NOT_PRIM', 'this node is SECOND', 'm1') }), records, [50, 60]);
  await expect(second({ id: 1, cmd: 'rfsverify', args: { module: 'm1' } })).rejects.toMatchObject({ code: 'HAKIT_E_REPL_NOT_PRIM' });
  expect((await status(second)).last_verify).toEqual(failed);
});

test('a torn or foreign record file reads as "no verify yet", never as a wrong record', async () => {
  fs.mkdirSync(path.join(dir, 'm1'));
  const file = path.join(dir, 'm1', VERIFY_RECORD_FILE);
  for (const text of ['{"at":"2026-12-06T00:00:00.000Z","outc', '[]', '{"at":"yesterday","outcome":"identical","duration_ms":1}', '{"at":"2026-12-06T00:00:00.000Z","outcome":"maybe","duration_ms":1}']) {
    fs.writeFileSync(file, text);
    expect(new VerifyRecords(dir).last('m1')).toBeNull();
  }
  expect(parseVerifyRecord({ at: '2026-12-06T00:00:00.000Z', outcome: 'identical', duration_ms: 5, files_compared: -1, first_differences: [{ path: '/a', reason: 'bogus' }, { path: '/b', reason: 'type' }] })).toEqual({
    at: '2026-12-06T00:00:00.000Z',
    duration_ms: 5,
    outcome: 'identical',
    files_compared: null,
    bytes_compared: null,
    differences: null,
    first_differences: [{ path: '/b', reason: 'type' }],
    error: null,
  });
});

describe('over the API', () => {
  let s: Started;
  const keys: Record<string, string> = {};
  beforeAll(async () => {
    const fx = await makeTls();
    await createFirstAdmin(fx.conf_dir);
    for (const role of ['control', 'monitor'] as const) keys[role] = (await apiKeyAdd(fx.conf_dir, `k${role}`, role)).token;
    s = await startFakeApi(fx);
  }, 60_000);
  afterAll(async () => {
    await s?.server.close();
    fs.rmSync(s.daemon.mirror_state_dir, { recursive: true, force: true });
  });
  const api = (method: string, p: string, role: 'control' | 'monitor', body?: unknown) => call(s.port, s.tls.ca, method, `/api/v1${p}`, { body, headers: { authorization: `Bearer ${keys[role]}` } });

  test('the replication route says "none yet", then the last verify after one ran; monitor may read, not run', async () => {
    const before = await api('GET', '/nodes/n1/modules/m1/replication', 'monitor');
    expect(before.status).toBe(200);
    expect((before.body as ReplicationStatus).last_verify).toBeNull();
    expect(codeOf(await api('POST', '/nodes/n1/modules/m1/replication/verify', 'monitor', {}))).toBe('HAKIT_E_AUTH_FORBIDDEN');
    s.daemon.verifyDifferences = [{ path: '/data/a.db', reason: 'content' }];
    const run = await api('POST', '/nodes/n1/modules/m1/replication/verify', 'control', {});
    expect(run.status).toBe(200);
    const after = (await api('GET', '/nodes/n1/modules/m1/replication', 'monitor')).body as ReplicationStatus;
    expect(after.last_verify).toMatchObject({ outcome: 'different', files_compared: 42, bytes_compared: 4_200_000, differences: 1, first_differences: [{ path: '/data/a.db', reason: 'content' }], error: null });
    expect(Date.now() - Date.parse(after.last_verify?.at ?? '')).toBeLessThan(10_000);
    s.daemon.verifyDifferences = [];
  });

  test('the node state carries each module\'s checkers and errd switches', async () => {
    const st = (await api('GET', '/nodes/n1/state', 'monitor')).body as { modules: { checkers?: boolean; errd?: boolean; failover: boolean; boot: boolean }[] };
    expect(st.modules[0]).toMatchObject({ checkers: true, errd: true, failover: true, boot: false });
    expect((await api('PUT', '/nodes/n1/modules/m1/monitor', 'control', { what: 'checkers', on: false })).status).toBe(200);
    expect(((await api('GET', '/nodes/n1/state', 'monitor')).body as typeof st).modules[0]?.checkers).toBe(false);
    expect((await api('PUT', '/nodes/n1/modules/m1/monitor', 'control', { what: 'checkers', on: true })).status).toBe(200);
  });
});
