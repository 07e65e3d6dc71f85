// Hostile local user, issue 15 item 5: a world-writable run directory with a control socket
// planted by `nobody` must not be trusted by root's CLI, nor used by the daemon; logs and
// module configs (userconfig.xml <var> values) must not be world-readable. Real sockets,
// files and packages in a temp dir; the "nobody" socket is a real one whose owner is nobody.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { controlRequest } from '../../core/control/client';
import { ControlServer } from '../../core/control/server';
import { HakitLogs } from '../../core/log/logs';
import { SILENT_LOG } from '../../core/log/sink';
import { packModule } from '../../modules/safe/pack';
import { unpackSafe } from '../../modules/safe/unpack';
import { spawnSync } from 'node:child_process';
import { distPath } from '../support/dist';

const NOBODY = 65534;
let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-hostile-local-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A socket answering every request like hakitd would, with made-up state. */
async function impostor(sock: string): Promise<net.Server> {
  const s = net.createServer((c) => c.on('data', () => c.end(JSON.stringify({ id: 1, ok: true, result: { node: 'impostor', modules: [] } }) + '\n')));
  await new Promise<void>((r) => s.listen(sock, () => r()));
  return s;
}

const outcome = (p: Promise<unknown>): Promise<string> => p.then((r) => `answered ${JSON.stringify(r)}`, (e: { code?: string }) => `refused ${e.code}`);

it("root's CLI does not trust a socket planted in a world-writable run dir, nor one owned by another user", async () => {
  const open = path.join(dir, 'open');
  fs.mkdirSync(open);
  fs.chmodSync(open, 0o777); // a careless admin's HAKIT_RUN_DIR
  const planted = path.join(open, 'hakitd.sock');
  const s1 = await impostor(planted);
  fs.chownSync(planted, NOBODY, NOBODY);
  const closed = path.join(dir, 'closed');
  fs.mkdirSync(closed, { mode: 0o700 });
  const foreign = path.join(closed, 'hakitd.sock');
  const s2 = await impostor(foreign);
  fs.chownSync(foreign, NOBODY, NOBODY);
  try {
    const a = await outcome(controlRequest(planted, 'state', {}, 2000));
    const b = await outcome(controlRequest(foreign, 'state', {}, 2000));
    process.stdout.write(`planted socket in a 0777 dir: ${a}; nobody's socket in a 0700 dir: ${b}\n`);
    expect(a).toBe('refused HAKIT_E_CONTROL_UNTRUSTED');
    expect(b).toBe('refused HAKIT_E_CONTROL_UNTRUSTED');
  } finally {
    s1.close();
    s2.close();
  }
});

it('hakitd refuses to serve its control socket from a directory others may write', async () => {
  const open = path.join(dir, 'run');
  fs.mkdirSync(open);
  fs.chmodSync(open, 0o1777);
  const server = new ControlServer(path.join(open, 'hakitd.sock'), async () => null, SILENT_LOG);
  const r = await outcome(server.start().then(() => 'started'));
  await server.close();
  process.stdout.write(`control server in a 1777 dir: ${r}\n`);
  expect(r).toBe('refused HAKIT_E_CONTROL_DIR');
});

it('logs and installed userconfig.xml are not readable by others', async () => {
  const logs = new HakitLogs({ dir: path.join(dir, 'log'), level: 'info', node: 'n1' });
  logs.daemon.info({}, 'hello');
  logs.module('web').info({}, 'secret=swordfish');
  logs.close();
  const mod = path.join(dir, 'web');
  fs.mkdirSync(path.join(mod, 'conf'), { recursive: true });
  fs.mkdirSync(path.join(mod, 'bin'));
  fs.writeFileSync(path.join(mod, 'conf', 'userconfig.xml'), '<safe><service mode="mirror"/><user><var name="DB_PASSWORD" value="swordfish"/></user></safe>\n', { mode: 0o644 });
  fs.writeFileSync(path.join(mod, 'bin', 'start_prim'), '#!/bin/sh\n', { mode: 0o755 });
  const safe = path.join(dir, 'web.safe');
  await packModule(mod, safe);
  const out = path.join(dir, 'installed');
  fs.mkdirSync(out, { mode: 0o700 });
  await unpackSafe(safe, out);
  const mode = (f: string): string => (fs.statSync(f).mode & 0o777).toString(8);
  const modes = {
    'hakitd.log': mode(path.join(dir, 'log', 'hakitd.log')),
    'modules/web.log': mode(path.join(dir, 'log', 'modules', 'web.log')),
    'web.safe': mode(safe),
    'conf/userconfig.xml': mode(path.join(out, 'conf', 'userconfig.xml')),
    'bin/start_prim': mode(path.join(out, 'bin', 'start_prim')),
  };
  process.stdout.write(`modes: ${JSON.stringify(modes)}\n`);
  for (const f of ['hakitd.log', 'modules/web.log', 'web.safe', 'conf/userconfig.xml'] as const) expect(Number.parseInt(modes[f], 8) & 0o007).toBe(0);
  expect(Number.parseInt(modes['bin/start_prim'], 8) & 0o100).toBe(0o100); // scripts stay executable
});

it("a user who may not use root's socket is told so, not asked whether hakitd runs", async () => {
  const run = path.join(dir, 'run');
  fs.mkdirSync(run, { mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const server = new ControlServer(path.join(run, 'hakitd.sock'), async () => ({ node: 'n1', modules: [] }), SILENT_LOG);
  await server.start();
  try {
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, distPath('core/cli/main.ts'), 'state'], { env: { ...process.env, HAKIT_RUN_DIR: run }, encoding: 'utf8', timeout: 20_000 });
    process.stdout.write(`hakit state as nobody: exit ${r.status}: ${(r.stderr || r.stdout).trim()}\n`);
    expect(r.stderr).toContain('HAKIT_E_CONTROL_DENIED');
    expect(r.stderr).not.toContain('is it running');
  } finally {
    await server.close();
  }
});
