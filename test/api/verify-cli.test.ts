// The last verify on the command line: `hakit rfsverify` through a real control socket served
// by the daemon's own handlers (fake engine), then `hakit state -v` prints it and `hakit
// collect` carries it (additive field `last_verify`).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControlServer } from '../../core/control/server';
import { makeControlHandler } from '../../core/daemon/control-handlers';
import { isMirrorCommand, makeMirrorHandler } from '../../core/daemon/mirror-handlers';
import { VerifyRecords } from '../../core/daemon/verify-records';
import { SILENT_LOG } from '../../core/log/sink';
import { main } from '../../core/cli/main';
import type { ModuleStatus } from '../../core/control/api';
import type { TreeDifference } from '../../core/mirror/pure/tree-diff';

let tmp = '';
let server: ControlServer;
let diffs: TreeDifference[] = [];
const env0 = { ...process.env };

async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  const e = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  process.exitCode = undefined;
  try {
    const code = await main(argv);
    return { code: process.exitCode ?? code, out };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-verify-cli-'));
  for (const d of ['run', 'log/modules', 'state', 'conf']) fs.mkdirSync(path.join(tmp, d), { recursive: true });
  process.env['HAKIT_RUN_DIR'] = path.join(tmp, 'run');
  process.env['HAKIT_LOG_DIR'] = path.join(tmp, 'log');
  process.env['HAKIT_STATE_DIR'] = path.join(tmp, 'state');
  process.env['HAKIT_CONF_DIR'] = path.join(tmp, 'conf');
  const status: ModuleStatus = { module: 'app', mode: 'mirror', state: 'PRIM', status: 'Ready', epoch: 1, copyComplete: true, failover: true, boot: false, peers: [{ node: 'node2', reachable: true, lansUp: [0], state: 'SECOND', status: 'Ready' }], last_error: null };
  const control = makeControlHandler({ node: 'node1', moduleNames: () => ['app'], notLoaded: () => [], moduleStatus: () => status, moduleCommand: () => Promise.resolve(), logLevel: () => 'info', setLogLevel: () => undefined, info: () => ({}) });
  const mirror = makeMirrorHandler({
    node: 'node1',
    moduleNames: () => ['app'],
    mirror: () => ({
      verify: async () => diffs,
      verifyReport: async () => ({ differences: diffs, files_compared: 7, bytes_compared: 7000 }),
      fullsync: async () => undefined,
      status: () => ({ engine: 'prim', last: { state: 'in_sync' } as never, copy_complete: null, bytes_applied: null, ops_applied: null, foreign_refused: null, link: 'up' }),
    }),
    verify_records: new VerifyRecords(path.join(tmp, 'state', 'mirror')),
  });
  server = new ControlServer(path.join(tmp, 'run', 'hakitd.sock'), (req) => (isMirrorCommand(req.cmd) ? mirror(req) : control(req)), SILENT_LOG);
  await server.start();
});

afterAll(async () => {
  await server.close();
  process.env = env0;
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('state -v shows no last verify before one ran, then the last one; collect carries it', async () => {
  expect((await cli(['state', '-v'])).out).not.toMatch(/last verify/);
  diffs = [{ path: '/x', reason: 'content' }];
  expect((await cli(['rfsverify', '-m', 'app'])).code).toBe(1);
  const st = await cli(['state', '-v']);
  expect(st.out).toMatch(/^ {2}last verify: 1 difference\(s\), 7 files \(7000 bytes\) in \d+ ms, \d{4}-\d\d-\d\dT/m);
  const c = JSON.parse((await cli(['collect'])).out) as { modules: { module: string; last_verify?: { outcome: string; files_compared: number } }[] };
  expect(c.modules.find((m) => m.module === 'app')?.last_verify).toMatchObject({ outcome: 'different', files_compared: 7 });
  // The record is the module's, on disk in its state folder.
  expect(JSON.parse(fs.readFileSync(path.join(tmp, 'state', 'mirror', 'app', 'last-verify.json'), 'utf8'))).toMatchObject({ outcome: 'different', differences: 1 });
});
