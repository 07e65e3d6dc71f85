// Macros at install (the console's install form; `hakit module install --macro N=V`): the
// check lists a module's macros with the values its userconfig.xml gives them; check and
// install take NAME=VALUE lines and set them with the CLI's own code, so a malformed line or
// an unknown macro is the CLI's HAKIT_E_USAGE, a value the schema refuses is reported at the
// line that uses it, and nothing is installed then. Real HTTPS server, real module store.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installCluster } from '../../core/config/cluster-store';
import { moduleDir } from '../../core/config/paths';
import { HakitError } from '../../core/errors/catalogue';
import type { ConfigCheck, ConfigErrorBody, ConfigInstallOutcome } from '../../core/api/contract/pure/config-types';
import { macroLines, macroValueProblem, macrosField, macrosOf, MACRO_VALUE_MAX_CHARS } from '../../core/api/contract/pure/config-macros';
import { routeById } from '../../core/api/contract/routes';
import { apiKeyAdd, createFirstAdmin } from '../../core/api/users/store';
import { packModule } from '../../modules/safe/pack';
import { setMacros } from '../../modules/safe/with-macros';
import { CLUSTER_XML } from '../unit/config/fixtures';
import { call, codeOf, makeTls, startFakeApi, type Answer, type Started } from './helpers';

jest.setTimeout(30_000);

const EXAMPLES = path.resolve(__dirname, '..', '..', 'modules', 'examples');
let s: Started;
let tmp = '';
let env: NodeJS.ProcessEnv;
let key = '';
const pushed: string[] = [];

beforeAll(async () => {
  const fx = await makeTls();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-api-macros-'));
  env = { HAKIT_CONF_DIR: fx.conf_dir, HAKIT_STATE_DIR: path.join(tmp, 'state') };
  fs.writeFileSync(path.join(tmp, 'cluster.xml'), CLUSTER_XML);
  installCluster(path.join(tmp, 'cluster.xml'), env);
  await createFirstAdmin(fx.conf_dir);
  key = (await apiKeyAdd(fx.conf_dir, 'kadmin', 'admin')).token;
  s = await startFakeApi(fx, {
    module_env: env,
    push_module: async (_module, file, nodes) => {
      pushed.push(fs.readFileSync(file).toString('base64'));
      return nodes.map((node) => ({ node, ok: true, detail: 'release 1' }));
    },
  });
}, 60_000);

afterAll(async () => {
  await s?.server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const api = (method: string, p: string, body?: unknown): Promise<Answer> => call(s.port, s.tls.ca, method, `/api/v1${p}`, { body, headers: { authorization: `Bearer ${key}` } });

async function packageOf(example: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(tmp, 'src-'));
  fs.cpSync(path.join(EXAMPLES, example), dir, { recursive: true });
  const out = `${dir}.safe`;
  await packModule(dir, out);
  return fs.readFileSync(out).toString('base64');
}

const installedUserconfig = (module: string): string => fs.readFileSync(path.join(moduleDir(module, env), 'conf', 'userconfig.xml'), 'utf8');

describe('macros of a userconfig.xml (pure, shared with the console)', () => {
  test('listed in file order with their lines and unescaped values; comments and repeats left out', () => {
    const xml = ['<safe>', '  <!-- <macro name="OLD" value="x"/> -->', '  <macro name="A" value="1 &amp; &quot;2&quot;"/>', '  <macro   name="B_2"', '         value=""/>', '  <macro name="A" value="again"/>', '</safe>'].join('\n');
    expect(macrosOf(xml)).toEqual([
      { name: 'A', value: '1 & "2"', line: 3 },
      { name: 'B_2', value: '', line: 4 },
    ]);
    expect(macrosOf(fs.readFileSync(path.join(EXAMPLES, 'mirror_http', 'conf', 'userconfig.xml'), 'utf8')).map((m) => m.name)).toEqual(['VIRTUAL_IP', 'DATA_DIR', 'HTTP_PORT', 'NODES']);
  });

  test('the field carries only changed values, as --macro lines the CLI sets back to the same text', () => {
    const xml = '<safe>\n  <macro name="A" value="1"/>\n  <macro name="B" value="2"/>\n</safe>';
    const field = macrosField(macrosOf(xml), { A: '1', B: 'x & "y"' });
    expect(field).toBe('B=x & "y"');
    expect(macroLines(`${field}\r\n\n`)).toEqual(['B=x & "y"']);
    expect(macrosOf(setMacros(xml, macroLines(field)))).toEqual([
      { name: 'A', value: '1', line: 2 },
      { name: 'B', value: 'x & "y"', line: 3 },
    ]);
    expect(macroValueProblem('10.0.0.1')).toBeNull();
    expect(macroValueProblem('a\nb')).toMatch(/line break/);
    expect(macroValueProblem('x'.repeat(MACRO_VALUE_MAX_CHARS + 1))).toMatch(/longer/);
    // The bound the console checks is the CLI's own: one character more is its usage error.
    expect(() => setMacros(xml, [`A=${'x'.repeat(MACRO_VALUE_MAX_CHARS + 1)}`])).toThrow(HakitError);
    expect(() => setMacros(xml, [`A=${'x'.repeat(MACRO_VALUE_MAX_CHARS)}`])).not.toThrow();
  });

  test('check and install take a bounded `macros` field', () => {
    for (const id of ['config-check', 'config-install']) {
      const body = routeById(id)?.body;
      expect(body?.type === 'object' ? body.properties['macros'] : undefined).toMatchObject({ type: 'string' });
    }
  });
});

describe('the Configuration routes with macros', () => {
  test('check lists the macros and their values; with macros set, the checked text carries them', async () => {
    const b64 = await packageOf('mirror_http');
    const plain = await api('POST', '/modules/mirror_http/check', { safe_b64: b64 });
    expect(plain.status).toBe(200);
    const c = plain.body as ConfigCheck;
    expect(c.ok).toBe(true);
    expect(c.macros).toEqual([
      { name: 'VIRTUAL_IP', value: '198.18.0.150', line: 7 },
      { name: 'DATA_DIR', value: '/srv/mirror_http/data', line: 8 },
      { name: 'HTTP_PORT', value: '9080', line: 9 },
      { name: 'NODES', value: 'node1 node2', line: 10 },
    ]);
    const set = (await api('POST', '/modules/mirror_http/check', { safe_b64: b64, macros: 'VIRTUAL_IP=198.18.0.160\nHTTP_PORT=9090' })).body as ConfigCheck;
    expect(set.ok).toBe(true);
    expect(set.userconfig).toContain('<macro name="VIRTUAL_IP" value="198.18.0.160"/>');
    expect(set.userconfig).toContain('<macro name="HTTP_PORT" value="9090"/>');
    // The defaults listed are the file's, not the values set.
    expect(set.macros?.find((m) => m.name === 'VIRTUAL_IP')?.value).toBe('198.18.0.150');
  });

  test('the CLI\'s coded errors: a line that is not NAME=VALUE, an unknown macro; nothing installed', async () => {
    const b64 = await packageOf('farm_http');
    const bad = (await api('POST', '/modules/farm_http/check', { safe_b64: b64, macros: 'VIRTUAL_IP' })).body as ConfigCheck;
    expect(bad.ok).toBe(false);
    expect(bad.issues).toEqual([{ code: 'HAKIT_E_USAGE', file: 'conf/userconfig.xml', line: null, message: '--macro: "VIRTUAL_IP" is not NAME=VALUE' }]);
    const unknown = await api('POST', '/modules/farm_http/install', { safe_b64: b64, macros: 'NO_SUCH=1', nodes: 'n1,n2' });
    expect(unknown.status).toBe(422);
    expect(codeOf(unknown)).toBe('HAKIT_E_USAGE');
    expect((unknown.body as ConfigErrorBody).error.issues?.[0]?.message).toBe('--macro: userconfig.xml has no <macro name="NO_SUCH">');
    expect(fs.existsSync(moduleDir('farm_http', env))).toBe(false);
    expect(pushed).toEqual([]);
  });

  test('a value the schema refuses is reported at the line that uses the macro; nothing installed', async () => {
    const b64 = await packageOf('farm_http');
    const a = await api('POST', '/modules/farm_http/install', { safe_b64: b64, macros: 'VIRTUAL_IP=not-an-address', nodes: 'n1' });
    expect(a.status).toBe(422);
    const issues = (a.body as ConfigErrorBody).error.issues ?? [];
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]).toMatchObject({ file: 'conf/userconfig.xml', line: 17 });
    expect(issues[0]?.code).toMatch(/^HAKIT_E_CONF_/);
    expect(fs.existsSync(moduleDir('farm_http', env))).toBe(false);
  });

  test('install with macros: this node and the pushed package both carry the values set', async () => {
    const b64 = await packageOf('farm_http');
    const a = await api('POST', '/modules/farm_http/install', { safe_b64: b64, macros: 'VIRTUAL_IP=198.18.0.171', nodes: 'n1,n2' });
    expect(a.status).toBe(200);
    expect((a.body as ConfigInstallOutcome).results.map((r) => [r.node, r.ok])).toEqual([
      ['n1', true],
      ['n2', true],
    ]);
    expect(installedUserconfig('farm_http')).toContain('<macro name="VIRTUAL_IP" value="198.18.0.171"/>');
    expect(pushed).toHaveLength(1);
    // The package sent to n2 is the one checked here: its check lists the new value as the file's.
    const again = (await api('POST', '/modules/farm_http/check', { safe_b64: pushed[0] })).body as ConfigCheck;
    expect(again.macros).toEqual([{ name: 'VIRTUAL_IP', value: '198.18.0.171', line: 4 }]);
  });
});
