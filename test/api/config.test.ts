// The Configuration routes against the real HTTPS server and a real module store in a temp
// folder (the daemon behind is the fake of helpers.ts; pushes to peers are a recording fake,
// the config-service path itself is tested in test/cluster/). Success, and every bad input:
// not admin, too big, not a zip, a zip-slip path, bad XML with its line, unknown module,
// unknown node, unknown release; nothing changes on a refusal; every change audited.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yauzl from 'yauzl';
import { installCluster } from '../../core/config/cluster-store';
import { moduleDir } from '../../core/config/paths';
import { CONFIG_PACKAGE_MAX_BYTES, type ConfigCheck, type ConfigErrorBody, type ConfigHistory, type ConfigInstallOutcome, type FileDownload } from '../../core/api/contract/pure/config-types';
import { apiKeyAdd, createFirstAdmin } from '../../core/api/users/store';
import { packModule } from '../../modules/safe/pack';
import { CLUSTER_XML } from '../unit/config/fixtures';
import { rawZip } from '../unit/modules/raw-zip';
import { call, codeOf, makeTls, startFakeApi, type Answer, type Started } from './helpers';

jest.setTimeout(30_000);

const EXAMPLE = path.resolve(__dirname, '..', '..', 'modules', 'examples', 'farm_http');
let s: Started;
let tmp = '';
let env: NodeJS.ProcessEnv;
const pushed: { module: string; nodes: readonly string[]; bytes: number }[] = [];
const keys: Record<string, string> = {};

beforeAll(async () => {
  const fx = await makeTls();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-api-config-test-'));
  env = { HAKIT_CONF_DIR: fx.conf_dir, HAKIT_STATE_DIR: path.join(tmp, 'state') };
  fs.writeFileSync(path.join(tmp, 'cluster.xml'), CLUSTER_XML);
  installCluster(path.join(tmp, 'cluster.xml'), env);
  await createFirstAdmin(fx.conf_dir);
  for (const role of ['admin', 'control', 'monitor'] as const) keys[role] = (await apiKeyAdd(fx.conf_dir, `k${role}`, role)).token;
  s = await startFakeApi(fx, {
    module_env: env,
    push_module: async (module, file, nodes) => {
      pushed.push({ module, nodes, bytes: fs.statSync(file).size });
      return nodes.map((node) => ({ node, ok: true, detail: 'release 1' }));
    },
  });
}, 60_000);

afterAll(async () => {
  await s?.server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const api = (method: string, p: string, body?: unknown, role: 'admin' | 'control' | 'monitor' = 'admin'): Promise<Answer> =>
  call(s.port, s.tls.ca, method, `/api/v1${p}`, { body, headers: { authorization: `Bearer ${keys[role]}` } });

async function packageOf(variant?: (dir: string) => void): Promise<string> {
  const dir = fs.mkdtempSync(path.join(tmp, 'src-'));
  fs.cpSync(EXAMPLE, dir, { recursive: true });
  variant?.(dir);
  const out = path.join(dir, '..', `${path.basename(dir)}.safe`);
  await packModule(dir, out);
  return fs.readFileSync(out).toString('base64');
}

const GOOD_UC = fs.readFileSync(path.join(EXAMPLE, 'conf', 'userconfig.xml'), 'utf8');
/** Line 12 of the example is `</farm>`: the broken copy closes a tag it never opened there. */
const BROKEN_LINE = 12;
const BROKEN_UC = GOOD_UC.split('\n').map((l, i) => (i === BROKEN_LINE - 1 ? l.replace('</farm>', '</fram>') : l)).join('\n');

function issues(a: Answer): NonNullable<ConfigErrorBody['error']['issues']> {
  return (a.body as ConfigErrorBody).error.issues ?? [];
}

function auditTail(): { action: string; ok: boolean; args: Record<string, unknown>; error: { code: string } | null }[] {
  const file = path.join(s.log_dir, 'audit.log');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : [];
}

function installedTree(): string[] {
  const dir = path.join(env['HAKIT_STATE_DIR'] as string, 'releases', 'farm_http');
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

describe('check', () => {
  test('a good package: ok, its mode, its userconfig text and files', async () => {
    const a = await api('POST', '/modules/farm_http/check', { safe_b64: await packageOf() });
    expect(a.status).toBe(200);
    const c = a.body as ConfigCheck;
    expect(c).toMatchObject({ module: 'farm_http', ok: true, mode: 'farm', issues: [], checked_by: 'n1' });
    expect(c.userconfig).toBe(GOOD_UC);
    expect(c.files).toEqual(['bin/farm_http.js', 'bin/start_both', 'bin/stop_both', 'conf/userconfig.xml']);
  });

  test('bad XML: the code, the file and the line; the text comes back for the editor', async () => {
    const a = await api('POST', '/modules/farm_http/check', { safe_b64: await packageOf((d) => fs.writeFileSync(path.join(d, 'conf', 'userconfig.xml'), BROKEN_UC)) });
    const c = a.body as ConfigCheck;
    expect(c.ok).toBe(false);
    expect(c.issues[0]).toMatchObject({ code: 'HAKIT_E_CONF_XML', file: 'conf/userconfig.xml', line: BROKEN_LINE });
    expect(c.userconfig).toBe(BROKEN_UC);
  });

  test('an edited userconfig replaces the package\'s own; a semantic error has its element line', async () => {
    const edited = GOOD_UC.replace('<rule proto="tcp" port="9081"', '<rule proto="tcp" port="99999"');
    const c = (await api('POST', '/modules/farm_http/check', { safe_b64: await packageOf(), userconfig: edited })).body as ConfigCheck;
    expect(c.ok).toBe(false);
    const line = edited.split('\n').findIndex((l) => l.includes('port="99999"')) + 1;
    expect(c.issues).toEqual([expect.objectContaining({ file: 'conf/userconfig.xml', line })]);
    expect(c.issues[0]?.code).toMatch(/^HAKIT_E_CONF_/);
  });

  test('not a zip, a zip-slip path, a missing userconfig: coded issues about the package', async () => {
    const notZip = (await api('POST', '/modules/farm_http/check', { safe_b64: Buffer.from('just some text, not a zip').toString('base64') })).body as ConfigCheck;
    expect(notZip.issues).toEqual([expect.objectContaining({ code: 'HAKIT_E_SAFE_NOT_ZIP', file: '', line: null })]);
    const slip = rawZip([{ name: 'conf/userconfig.xml', data: Buffer.from(GOOD_UC) }, { name: 'bin/../../../escape', data: Buffer.from('x') }]);
    const c = (await api('POST', '/modules/farm_http/check', { safe_b64: slip.toString('base64') })).body as ConfigCheck;
    expect(c.issues.map((i) => i.code)).toEqual(['HAKIT_E_SAFE_DOTDOT']);
    expect(fs.existsSync(path.join(os.tmpdir(), 'escape'))).toBe(false);
    const bare = rawZip([{ name: 'bin/start_both', data: Buffer.from('#!/bin/sh\n'), mode: 0o100755 }]);
    expect(((await api('POST', '/modules/farm_http/check', { safe_b64: bare.toString('base64') })).body as ConfigCheck).issues.map((i) => i.code)).toEqual(['HAKIT_E_MOD_NO_USERCONFIG']);
  });

  test('too big: 413 with a code, whether over the package bound or over the body bound', async () => {
    const over = Buffer.alloc(CONFIG_PACKAGE_MAX_BYTES + 3).toString('base64');
    const a = await api('POST', '/modules/farm_http/check', { safe_b64: over });
    expect([a.status, codeOf(a)]).toEqual([413, 'HAKIT_E_API_PACKAGE_TOO_BIG']);
    const b = await call(s.port, s.tls.ca, 'POST', '/api/v1/modules/farm_http/check', { raw: `{"safe_b64":"${'A'.repeat(16 * 1024 * 1024)}"}`, headers: { 'content-type': 'application/json', authorization: `Bearer ${keys['admin']}` } });
    expect([b.status, codeOf(b)]).toEqual([413, 'HAKIT_E_API_BODY_TOO_BIG']);
    // Other routes keep the small bound.
    const c = await call(s.port, s.tls.ca, 'PUT', '/api/v1/nodes/n1/level', { raw: `{"level":"${'x'.repeat(70 * 1024)}"}`, headers: { 'content-type': 'application/json', authorization: `Bearer ${keys['admin']}` } });
    expect([c.status, codeOf(c)]).toEqual([413, 'HAKIT_E_API_BODY_TOO_BIG']);
  });

  test('not base64, a bad module name: 400 with the field named', async () => {
    const a = await api('POST', '/modules/farm_http/check', { safe_b64: 'not base64 at all!' });
    expect([a.status, codeOf(a)]).toEqual([400, 'HAKIT_E_API_BAD_REQUEST']);
    const b = await api('POST', '/modules/my-app/check', { safe_b64: 'AAAA' });
    expect([b.status, codeOf(b)]).toEqual([400, 'HAKIT_E_API_BAD_REQUEST']);
  });
});

describe('install, edit, history, rollback, downloads', () => {
  test('monitor and control get 403 with a code on every Configuration route; nothing changes', async () => {
    const b64 = await packageOf();
    for (const role of ['monitor', 'control'] as const) {
      for (const [method, p, body] of [
        ['POST', '/modules/farm_http/check', { safe_b64: b64 }],
        ['POST', '/modules/farm_http/install', { safe_b64: b64, nodes: 'n1' }],
        ['GET', '/nodes/n1/modules/farm_http/userconfig', undefined],
        ['PUT', '/nodes/n1/modules/farm_http/userconfig', { text: GOOD_UC }],
        ['GET', '/nodes/n1/modules/farm_http/history', undefined],
        ['POST', '/nodes/n1/modules/farm_http/rollback', { release: 1 }],
        ['GET', '/nodes/n1/modules/farm_http/package', undefined],
        ['GET', '/nodes/n1/snapshot', undefined],
      ] as const) {
        const a = await api(method, p, body, role);
        expect([role, p, a.status, codeOf(a)]).toEqual([role, p, 403, 'HAKIT_E_AUTH_FORBIDDEN']);
      }
    }
    expect(installedTree()).toEqual([]);
  });

  test('install refused before anything changes: bad XML (with its line), unknown node', async () => {
    const broken = await api('POST', '/modules/farm_http/install', { safe_b64: await packageOf(), userconfig: BROKEN_UC, nodes: 'n1,n2' });
    expect([broken.status, codeOf(broken)]).toEqual([422, 'HAKIT_E_CONF_XML']);
    expect(issues(broken)[0]).toMatchObject({ file: 'conf/userconfig.xml', line: BROKEN_LINE });
    const unknown = await api('POST', '/modules/farm_http/install', { safe_b64: await packageOf(), nodes: 'n1,nx' });
    expect([unknown.status, codeOf(unknown)]).toEqual([404, 'HAKIT_E_API_NOT_FOUND']);
    expect((unknown.body as ConfigErrorBody).error.message).toMatch(/"nx"/);
    expect(installedTree()).toEqual([]);
    expect(pushed).toEqual([]);
    expect(s.daemon.reloads).toBe(0);
    const refused = auditTail().filter((r) => r.action === 'module-install');
    expect(refused.map((r) => [r.ok, r.error?.code])).toEqual([
      [false, 'HAKIT_E_CONF_XML'],
      [false, 'HAKIT_E_API_NOT_FOUND'],
    ]);
    // The audit keeps a package's size and hash, not its bytes.
    expect(String(refused[0]?.args['safe_b64'])).toMatch(/^<\d+ characters, sha256 [0-9a-f]{16}>$/);
  });

  test('install on the chosen nodes: this node by the module store (reloaded), n2 through the config-service push', async () => {
    const a = await api('POST', '/modules/farm_http/install', { safe_b64: await packageOf(), nodes: 'n1,n2' });
    expect(a.status).toBe(200);
    const r = a.body as ConfigInstallOutcome;
    expect(r.results).toEqual([
      { node: 'n1', ok: true, release: 1, detail: 'installed and reloaded', error: null },
      { node: 'n2', ok: true, release: 1, detail: 'release 1', error: null },
    ]);
    expect(pushed).toEqual([{ module: 'farm_http', nodes: ['n2'], bytes: expect.any(Number) }]);
    expect(s.daemon.reloads).toBe(1);
    expect(fs.readFileSync(path.join(moduleDir('farm_http', env), 'conf', 'userconfig.xml'), 'utf8')).toBe(GOOD_UC);
    expect(auditTail().pop()).toMatchObject({ action: 'module-install', ok: true, args: { module: 'farm_http', nodes: 'n1,n2' } });
  });

  test('read and replace the userconfig: bad XML changes nothing; a good one is a new release', async () => {
    const got = await api('GET', '/nodes/n1/modules/farm_http/userconfig');
    expect(got.body).toEqual({ node: 'n1', module: 'farm_http', release: 1, text: GOOD_UC });
    const bad = await api('PUT', '/nodes/n1/modules/farm_http/userconfig', { text: BROKEN_UC });
    expect([bad.status, codeOf(bad), issues(bad)[0]?.line, issues(bad)[0]?.file]).toEqual([422, 'HAKIT_E_CONF_XML', BROKEN_LINE, 'conf/userconfig.xml']);
    expect(installedTree()).toEqual(['1']);
    for (const port of ['9091', '9092', '9093']) {
      const put = await api('PUT', '/nodes/n1/modules/farm_http/userconfig', { text: GOOD_UC.replace('value="9081"', `value="${port}"`) });
      expect([put.status, put.body]).toEqual([200, expect.objectContaining({ node: 'n1', module: 'farm_http' })]);
    }
    expect(((await api('GET', '/nodes/n1/modules/farm_http/userconfig')).body as { release: number; text: string }).text).toContain('value="9093"');
    expect(s.daemon.reloads).toBe(4);
  });

  test('history keeps the applied release and the last 3; rollback to one of them, unknown release refused', async () => {
    const h = (await api('GET', '/nodes/n1/modules/farm_http/history')).body as ConfigHistory;
    expect(h.releases.map((r) => [r.release, r.applied])).toEqual([
      [4, true],
      [3, false],
      [2, false],
      [1, false],
    ]);
    expect(h.releases[0]?.userconfig_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(h.releases[3]?.mode).toBe('farm');
    const rb = await api('POST', '/nodes/n1/modules/farm_http/rollback', { release: 2 });
    expect(rb.body).toMatchObject({ node: 'n1', module: 'farm_http', release: 2 });
    expect(((await api('GET', '/nodes/n1/modules/farm_http/userconfig')).body as { text: string }).text).toContain('value="9091"');
    const gone = await api('POST', '/nodes/n1/modules/farm_http/rollback', { release: 17 });
    expect([gone.status, codeOf(gone)]).toEqual([404, 'HAKIT_E_API_NO_RELEASE']);
    const same = await api('POST', '/nodes/n1/modules/farm_http/rollback', { release: 2 });
    expect([same.status, codeOf(same)]).toEqual([422, 'HAKIT_E_MOD_NO_HISTORY']);
    expect(auditTail().filter((r) => r.action === 'module-rollback').map((r) => [r.ok, r.args['release']])).toEqual([
      [true, 2],
      [false, 17],
      [false, 2],
    ]);
  });

  test('unknown module and unknown node: 404 with a code', async () => {
    for (const p of ['/nodes/n1/modules/nosuch/userconfig', '/nodes/n1/modules/nosuch/history', '/nodes/n1/modules/nosuch/package', '/nodes/n1/snapshot?module=nosuch']) {
      const a = await api('GET', p);
      expect([p, a.status, codeOf(a)]).toEqual([p, 404, 'HAKIT_E_MOD_NOT_INSTALLED']);
    }
    const put = await api('PUT', '/nodes/n1/modules/nosuch/userconfig', { text: GOOD_UC });
    expect([put.status, codeOf(put)]).toEqual([404, 'HAKIT_E_MOD_NOT_INSTALLED']);
    const rb = await api('POST', '/nodes/n1/modules/nosuch/rollback', { release: 1 });
    expect([rb.status, codeOf(rb)]).toEqual([404, 'HAKIT_E_MOD_NOT_INSTALLED']);
    const node = await api('GET', '/nodes/nx/modules/farm_http/history');
    expect([node.status, codeOf(node)]).toEqual([404, 'HAKIT_E_API_NOT_FOUND']);
  });

  test('download the module as a .safe that checks clean; a support snapshot without secrets', async () => {
    const pkg = (await api('GET', '/nodes/n1/modules/farm_http/package')).body as FileDownload;
    expect(pkg).toMatchObject({ node: 'n1', file_name: 'farm_http-n1-release2.safe', media_type: 'application/zip' });
    expect(Buffer.from(pkg.content_b64, 'base64').length).toBe(pkg.size_bytes);
    const again = (await api('POST', '/modules/farm_http/check', { safe_b64: pkg.content_b64 })).body as ConfigCheck;
    expect(again.ok).toBe(true);
    expect(again.userconfig).toContain('value="9091"');

    fs.writeFileSync(path.join(moduleDir('farm_http', env), 'conf', 'api.key'), 'secret');
    const snap = (await api('GET', '/nodes/n1/snapshot?module=farm_http')).body as FileDownload;
    expect(snap.file_name).toMatch(/^hakit-snapshot-n1-farm_http-.*\.zip$/);
    const names = await zipNames(Buffer.from(snap.content_b64, 'base64'));
    expect(names).toEqual(expect.arrayContaining(['README.txt', 'conf/cluster.xml', 'state.json', 'modules/farm_http/conf/userconfig.xml', 'modules/farm_http/bin/start_both', 'modules/farm_http/resources.json']));
    expect(names).not.toContain('modules/farm_http/conf/api.key');
    const all = (await api('GET', '/nodes/n1/snapshot')).body as FileDownload;
    expect(await zipNames(Buffer.from(all.content_b64, 'base64'))).toContain('modules/farm_http/conf/userconfig.xml');
  });
});

function zipNames(buf: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      const out: string[] = [];
      zip.on('entry', (e: yauzl.Entry) => {
        out.push(e.fileName);
        zip.readEntry();
      });
      zip.on('end', () => resolve(out));
      zip.readEntry();
    });
  });
}
