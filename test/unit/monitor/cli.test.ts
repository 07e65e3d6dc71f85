// `hakit nagios|resources|get|set|errd|log|snapshot` against a real control socket served by
// the real monitor handler over a ModuleMonitor (fake module runner), and real log files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yauzl from 'yauzl';
import { ControlServer } from '../../../core/control/server';
import { makeControlHandler } from '../../../core/daemon/control-handlers';
import { isMonitorCommand, makeMonitorHandler } from '../../../core/daemon/monitor-handlers';
import { ModuleMonitor } from '../../../core/checkers/host';
import { planMonitor } from '../../../core/rules/pure/plan';
import { SILENT_LOG } from '../../../core/log/sink';
import { main } from '../../../core/cli/main';
import type { ModuleStatus } from '../../../core/control/api';
import { mirrorXml, okConfig } from '../config/fixtures';

let tmp = '';
let server: ControlServer;
let mon: ModuleMonitor;
let status: ModuleStatus;
const env0 = { ...process.env };

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  process.exitCode = undefined;
  try {
    const code = await main(argv);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = undefined;
  }
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-cli-'));
  for (const d of ['run', 'log/modules', 'state/modules/app/conf', 'state/modules/app/bin', 'conf']) fs.mkdirSync(path.join(tmp, d), { recursive: true });
  process.env['HAKIT_RUN_DIR'] = path.join(tmp, 'run');
  process.env['HAKIT_LOG_DIR'] = path.join(tmp, 'log');
  process.env['HAKIT_STATE_DIR'] = path.join(tmp, 'state');
  process.env['HAKIT_CONF_DIR'] = path.join(tmp, 'conf');
  fs.writeFileSync(path.join(tmp, 'log/modules/app.log'), ['{"level":30,"time":"t1","msg":"one"}', '{"level":40,"time":"t2","msg":"two","resource":"ping.gw"}', '{"level":30,"time":"t3","msg":"three"}', ''].join('\n'));
  fs.writeFileSync(path.join(tmp, 'state/modules/app/conf/userconfig.xml'), '<safe/>');
  fs.writeFileSync(path.join(tmp, 'conf/cluster.xml'), '<cluster/>');
  fs.writeFileSync(path.join(tmp, 'conf/cluster.key'), 'SECRET');
  fs.writeFileSync(path.join(tmp, 'state/modules/app/bin/cluster.key'), 'SECRET');
  const cfg = okConfig(mirrorXml('<check><custom ident="app" exec="check.sh" interval="1h"/></check>'));
  mon = new ModuleMonitor({ module: 'app', plan: planMonitor(cfg, 'app'), bin_dir: tmp, env: {}, deliver: () => undefined, command: () => Promise.resolve(), moduleState: () => Promise.resolve(null), log: SILENT_LOG });
  mon.start({ state: 'PRIM', status: 'Ready' });
  status = { module: 'app', mode: 'mirror', state: 'PRIM', status: 'Ready', epoch: 1, copyComplete: true, failover: true, boot: false, peers: [{ node: 'node2', reachable: true, lansUp: [0], state: 'SECOND', status: 'Ready' }], last_error: null };
  const base = makeControlHandler({
    node: 'node1',
    moduleNames: () => ['app'],
    notLoaded: () => [],
    moduleStatus: () => status,
    moduleCommand: () => Promise.resolve(),
    logLevel: () => 'info',
    setLogLevel: () => undefined,
    info: () => ({}),
  });
  const monitorHandler = makeMonitorHandler({ node: 'node1', moduleNames: () => ['app'], monitor: (m) => (m === 'app' ? mon : undefined) });
  server = new ControlServer(path.join(tmp, 'run', 'hakitd.sock'), (req) => (isMonitorCommand(req.cmd) ? monitorHandler(req) : base(req)), SILENT_LOG);
  await server.start();
});

afterAll(async () => {
  await server.close();
  mon.dispose();
  process.env = env0;
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('nagios: OK, WARNING, CRITICAL from the module and resources; within 1 s', async () => {
  const t0 = performance.now();
  const ok = await cli(['nagios', '-m', 'app']);
  expect(performance.now() - t0).toBeLessThan(1_000);
  expect(ok).toMatchObject({ code: 0, out: "HAKIT OK - app OK: PRIM on node1, SECOND on node2 | 'app_serving'=1;;;0;2 'app_resources_down'=0;;;0\n" });
  status = { ...status, state: 'ALONE', peers: [{ node: 'node2', reachable: false, lansUp: [], state: null, status: null }] };
  expect(await cli(['nagios'])).toMatchObject({ code: 1, out: expect.stringMatching(/^HAKIT WARNING - app WARNING: ALONE on node1 \|/) });
  status = { ...status, state: 'WAIT', status: 'Ready' };
  expect(await cli(['nagios'])).toMatchObject({ code: 2, out: expect.stringMatching(/^HAKIT CRITICAL - app CRITICAL: not served on any node \|/) });
  status = { ...status, state: 'PRIM', peers: [{ node: 'node2', reachable: true, lansUp: [0], state: 'SECOND', status: 'Ready' }] };
  expect((await cli(['nagios', '-m', 'nope'])).code).toBe(3);
});

test('nagios: UNKNOWN (3) when hakitd does not answer', async () => {
  process.env['HAKIT_RUN_DIR'] = path.join(tmp, 'nowhere');
  try {
    const r = await cli(['nagios']);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/^HAKIT UNKNOWN - hakitd unreachable: /);
  } finally {
    process.env['HAKIT_RUN_DIR'] = path.join(tmp, 'run');
  }
});

test('get / set / errd / checker / resources; bad resource, value or module is a coded error and changes nothing', async () => {
  expect(await cli(['get', '-m', 'app', '-r', 'custom.app'])).toMatchObject({ code: 0, out: 'init\n' });
  expect(await cli(['set', '-m', 'app', '-r', 'custom.app', '-v', 'down'])).toMatchObject({ code: 0, out: 'app: custom.app down\n' });
  expect(await cli(['get', '-m', 'app', '-r', 'custom.app'])).toMatchObject({ out: 'down\n' });
  expect(await cli(['set', '-m', 'app', '-r', 'custom.nope', '-v', 'down'])).toMatchObject({ code: 1, err: expect.stringContaining('HAKIT_E_UNKNOWN_RESOURCE') });
  expect(await cli(['set', '-m', 'app', '-r', 'custom.app', '-v', 'maybe'])).toMatchObject({ code: 1, err: expect.stringContaining('HAKIT_E_BAD_RESOURCE_VALUE') });
  expect(await cli(['get', '-m', 'nope', '-r', 'custom.app'])).toMatchObject({ code: 1, err: expect.stringContaining('HAKIT_E_UNKNOWN_MODULE') });
  expect(await cli(['get', '-m', 'app', '-r', 'custom.app'])).toMatchObject({ out: 'down\n' });
  expect(await cli(['nagios', '-m', 'app'])).toMatchObject({ code: 1, out: expect.stringContaining('resources down: custom.app') });
  expect(await cli(['checker', 'off', '-m', 'app'])).toMatchObject({ code: 0, out: 'app: checker off\n' });
  expect(await cli(['get', '-m', 'app', '-r', 'custom.app'])).toMatchObject({ out: 'init\n' });
  expect(await cli(['errd', 'on', '-m', 'app'])).toMatchObject({ code: 0 });
  const r = await cli(['resources', '-m', 'app']);
  expect(r.out).toContain('module app: errd on, checkers off');
  expect(r.out).toContain('custom.app');
  expect(JSON.parse((await cli(['resources', '-m', 'app', '--json'])).out)).toMatchObject({ module: 'app', checkers: false });
});

test('log -s N prints the last lines readably; a missing log is a coded error', async () => {
  expect(await cli(['log', '-m', 'app', '-s', '2'])).toMatchObject({ code: 0, out: 't2 WARN  two  resource=ping.gw\nt3 INFO  three\n' });
  expect((await cli(['log', '-m', 'app', '-s', '1', '--raw'])).out).toBe('{"level":30,"time":"t3","msg":"three"}\n');
  expect(await cli(['log', '-m', 'other'])).toMatchObject({ code: 1, err: expect.stringContaining('HAKIT_E_LOG_NOT_FOUND') });
  expect((await cli(['log', '-m', 'app', '-s', 'x'])).code).toBe(2);
});

test('snapshot: logs, config, state and resources in a zip; key files left out', async () => {
  const out = path.join(tmp, 'snap.zip');
  const r = await cli(['snapshot', '-m', 'app', out]);
  expect(r.code).toBe(0);
  const names = await new Promise<string[]>((resolve, reject) => {
    yauzl.open(out, { lazyEntries: true }, (err, zf) => {
      if (err || !zf) return reject(err ?? new Error('no zip'));
      const n: string[] = [];
      zf.on('entry', (e: { fileName: string }) => {
        n.push(e.fileName);
        zf.readEntry();
      });
      zf.on('end', () => resolve(n.sort()));
      zf.readEntry();
    });
  });
  expect(names).toEqual(['README.txt', 'conf/cluster.xml', 'log/app.log', 'module/conf/userconfig.xml', 'resources.json', 'state.json']);
  expect(fs.readFileSync(out).includes('SECRET')).toBe(false);
});

test('state -v lists resources, rules and the rule applied last; state --json carries them as "monitor"', async () => {
  expect(await cli(['set', '-m', 'app', '-r', 'custom.app', '-v', 'up'])).toMatchObject({ code: 0 });
  expect(await cli(['checker', 'on', '-m', 'app'])).toMatchObject({ code: 0 });
  const v = await cli(['state', '-v']);
  expect(v.code).toBe(0);
  expect(v.out).toMatch(/^app +PRIM/);
  expect(v.out).toContain('  module app: errd on, checkers on');
  expect(v.out).toMatch(/ {4}custom\.app +\w+ .*wait/);
  const j = JSON.parse((await cli(['state', '--json'])).out) as { modules: Array<{ module: string; state: string; monitor: { resources: Array<{ name: string; action: string }>; last_rule: unknown } }> };
  expect(j.modules[0]).toMatchObject({ module: 'app', state: 'PRIM', monitor: { resources: [{ name: 'custom.app', action: 'wait' }] } });
  expect(j.modules[0]?.monitor).toHaveProperty('last_rule');
  expect((await cli(['state'])).out).not.toContain('custom.app');
});
