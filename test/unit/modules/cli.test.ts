// The `hakit module` and `hakit cluster` commands, run in-process: output, exit codes 0/1/2.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../../core/cli/main';
import { ControlServer } from '../../../core/control/server';
import { CONTROL_SOCKET_NAME } from '../../../core/control/paths';
import { RecordingLog } from '../../../core/log/sink';
import { CLUSTER_XML } from '../config/fixtures';

const examples = path.resolve(__dirname, '../../../modules/examples');
let tmp = '';
let out = '';
let err = '';
const saved = { ...process.env };

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-cfg-cli-'));
  process.env['HAKIT_CONF_DIR'] = path.join(tmp, 'etc');
  process.env['HAKIT_STATE_DIR'] = path.join(tmp, 'state');
  fs.writeFileSync(path.join(tmp, 'cluster.xml'), CLUSTER_XML);
  out = '';
  err = '';
  jest.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  jest.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  process.exitCode = undefined;
});
afterEach(() => {
  jest.restoreAllMocks();
  process.exitCode = undefined;
  fs.rmSync(tmp, { recursive: true, force: true });
});
afterAll(() => {
  for (const k of ['HAKIT_CONF_DIR', 'HAKIT_STATE_DIR']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

const run = async (...args: string[]) => {
  out = '';
  err = '';
  process.exitCode = undefined;
  return main(args);
};

test('cluster confcheck, config, genkey', async () => {
  expect(await run('cluster', 'confcheck', path.join(tmp, 'cluster.xml'))).toBe(0);
  expect(out).toBe('cluster lab: 3 nodes (node1, node2, node3), LANs default, flow\n');
  expect(await run('cluster', 'config', path.join(tmp, 'cluster.xml'))).toBe(0);
  expect(fs.readFileSync(path.join(tmp, 'etc', 'cluster.xml'), 'utf8')).toBe(CLUSTER_XML);
  expect(await run('cluster', 'genkey')).toBe(0);
  const key = path.join(tmp, 'etc', 'cluster.key');
  expect(fs.statSync(key).mode & 0o777).toBe(0o600);
  expect(fs.statSync(key).size).toBe(32);
  const first = fs.readFileSync(key);
  expect(await run('cluster', 'genkey')).toBe(1);
  expect(err).toMatch(/^hakit: HAKIT_E_CLUSTER_KEY_EXISTS: .*cluster\.key: the key file exists/);
  expect(await run('cluster', 'genkey', '--force')).toBe(0);
  expect(fs.readFileSync(key)).not.toEqual(first);
});

test('a broken cluster.xml is not installed; every issue is printed', async () => {
  fs.writeFileSync(path.join(tmp, 'bad.xml'), '<cluster name="x y">\n<lan name="a" command="off"><node name="n1" addr="198.18.0.999"/></lan>\n</cluster>\n');
  expect(await run('cluster', 'config', path.join(tmp, 'bad.xml'))).toBe(1);
  expect(err).toBe(
    'hakit: HAKIT_E_CONF_BAD_NAME: bad.xml:1 <cluster name="x y">: not a name (letters, digits, _ . -, starting with a letter or digit, at most 63)\n' +
      'hakit: HAKIT_E_CONF_BAD_ADDR: bad.xml:2 <node addr="198.18.0.999">: not an IPv4 or IPv6 address\n',
  );
  expect(fs.existsSync(path.join(tmp, 'etc', 'cluster.xml'))).toBe(false);
});

test('module package/install/list/validate/rollback/uninstall', async () => {
  expect(await run('cluster', 'config', path.join(tmp, 'cluster.xml'))).toBe(0);
  const safe = path.join(tmp, 'mirror_http.safe');
  expect(await run('module', 'package', '--dir', path.join(examples, 'mirror_http'), safe)).toBe(0);
  expect(await run('module', 'validate', safe)).toBe(0);
  expect(out).toBe('mirror_http: valid mirror module\n');
  expect(await run('module', 'install', safe)).toBe(0);
  expect(await run('module', 'install', '-m', 'mirror_http', safe)).toBe(0);
  expect(await run('module', 'list')).toBe(0);
  expect(out).toBe(`${'mirror_http'.padEnd(32)} mirror  release 2\n`);
  expect(await run('module', 'rollback', '-m', 'mirror_http')).toBe(0);
  expect(out).toBe('mirror_http rolled back to release 1\n');
  expect(await run('module', 'package', '-m', 'mirror_http', path.join(tmp, 'again.safe'))).toBe(0);
  expect(fs.readFileSync(path.join(tmp, 'again.safe'))).toEqual(fs.readFileSync(safe));
  expect(await run('module', 'uninstall', '-m', 'mirror_http')).toBe(0);
  expect(out).toMatch(/^uninstalled mirror_http; backup in .*backup\/mirror_http-/);
  expect(await run('module', 'uninstall', '-m', 'mirror_http')).toBe(1);
  expect(err).toBe('hakit: HAKIT_E_MOD_NOT_INSTALLED: module uninstall: module mirror_http is not installed\n');
});

test('uninstall refuses a module that runs on this node: its stop scripts go with it', async () => {
  process.env['HAKIT_RUN_DIR'] = path.join(tmp, 'run');
  let state = 'ALONE';
  const server = new ControlServer(path.join(tmp, 'run', CONTROL_SOCKET_NAME), async (req) => {
    if (req.cmd === 'state') return { node: 'node1', modules: [{ module: 'mirror_http', state }], not_loaded: [] };
    return { started: false, nodes_added: [], nodes_removed: [], modules_added: [], modules_removed: ['mirror_http'], modules_reloaded: [], modules_pending: [] };
  }, new RecordingLog());
  await server.start();
  try {
    expect(await run('cluster', 'config', path.join(tmp, 'cluster.xml'))).toBe(0);
    const safe = path.join(tmp, 'mirror_http.safe');
    expect(await run('module', 'package', '--dir', path.join(examples, 'mirror_http'), safe)).toBe(0);
    expect(await run('module', 'install', safe)).toBe(0);
    expect(await run('module', 'uninstall', '-m', 'mirror_http')).toBe(1);
    expect(err).toBe('hakit: HAKIT_E_MOD_RUNNING: module uninstall: module mirror_http is ALONE on this node: stop it first (hakit stop -m mirror_http), then uninstall it\n');
    expect(fs.existsSync(path.join(tmp, 'state', 'modules', 'mirror_http'))).toBe(true);
    state = 'STOP';
    expect(await run('module', 'uninstall', '-m', 'mirror_http')).toBe(0);
    expect(fs.existsSync(path.join(tmp, 'state', 'modules', 'mirror_http'))).toBe(false);
  } finally {
    await server.close();
    delete process.env['HAKIT_RUN_DIR'];
  }
});

test('bad arguments exit 2', async () => {
  expect(await run('module', 'install')).toBe(2);
  expect(await run('module', 'uninstall')).toBe(2);
  expect(await run('module', 'package', path.join(tmp, 'x.safe'))).toBe(2);
  expect(err).toContain('HAKIT_E_USAGE');
  expect(await run('module', 'install', '-m', 'bad-name', path.join(tmp, 'x.safe'))).toBe(1);
  expect(err).toContain('HAKIT_E_MOD_NAME');
});
