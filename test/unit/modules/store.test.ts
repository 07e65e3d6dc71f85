// Install, package, rollback and uninstall against a real file system in a private temp dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installCluster } from '../../../core/config/cluster-store';
import { moduleDir, releasesDir } from '../../../core/config/paths';
import { isHakitError } from '../../../core/errors/catalogue';
import { packModule } from '../../../modules/safe/pack';
import { installModule, listInstalled, packageInstalled, rollbackModule, uninstallModule, validateModule } from '../../../modules/store/module-store';
import { CLUSTER_XML } from '../config/fixtures';
import { goodEntries, rawZip } from './raw-zip';

const examples = path.resolve(__dirname, '../../../modules/examples');
let tmp = '';
const saved = { ...process.env };

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-cfg-store-'));
  process.env['HAKIT_CONF_DIR'] = path.join(tmp, 'etc');
  process.env['HAKIT_STATE_DIR'] = path.join(tmp, 'state');
  fs.writeFileSync(path.join(tmp, 'cluster.xml'), CLUSTER_XML);
  installCluster(path.join(tmp, 'cluster.xml'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterAll(() => {
  process.env['HAKIT_CONF_DIR'] = saved['HAKIT_CONF_DIR'];
  process.env['HAKIT_STATE_DIR'] = saved['HAKIT_STATE_DIR'];
  if (saved['HAKIT_CONF_DIR'] === undefined) delete process.env['HAKIT_CONF_DIR'];
  if (saved['HAKIT_STATE_DIR'] === undefined) delete process.env['HAKIT_STATE_DIR'];
});

async function pack(example: string, variant?: (dir: string) => void): Promise<string> {
  const dir = path.join(tmp, `src-${example}-${Math.random().toString(36).slice(2)}`);
  fs.cpSync(path.join(examples, example), dir, { recursive: true });
  variant?.(dir);
  const out = path.join(tmp, `${example}.safe`);
  await packModule(dir, out);
  return out;
}

function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = path.join(rel, name);
      const st = fs.statSync(path.join(dir, r));
      if (st.isDirectory()) walk(r);
      else out[r] = `${(st.mode & 0o777).toString(8)} ${fs.readFileSync(path.join(dir, r), 'base64')}`;
    }
  };
  walk('');
  return out;
}

test('package → install → package gives the same bytes and the same config', async () => {
  for (const example of ['mirror_http', 'farm_http']) {
    const first = await pack(example);
    const before = await validateModule(first, example);
    await installModule(first, undefined);
    const again = path.join(tmp, `${example}-again.safe`);
    await packageInstalled(example, again);
    expect(fs.readFileSync(again)).toEqual(fs.readFileSync(first));
    // Installed configs are not world-readable (issue 15: userconfig.xml <var> values are often secrets).
    const installed = tree(moduleDir(example));
    for (const [f, v] of Object.entries(installed)) if (f.startsWith('conf/')) expect(v.split(' ')[0]).toMatch(/^6[04]0$/);
    const asShipped = (t: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(t).map(([f, v]) => [f, f.startsWith('conf/') ? v.replace(/^\d+ /, '') : v]));
    expect(asShipped(installed)).toEqual(asShipped(tree(path.join(examples, example))));
    const after = await validateModule(again, example);
    expect(after.config).toEqual(before.config);
  }
  expect(listInstalled().map((m) => [m.name, m.config?.service.mode, m.release])).toEqual([
    ['farm_http', 'farm', 1],
    ['mirror_http', 'mirror', 1],
  ]);
});

test('a failed install leaves the previous module untouched', async () => {
  await installModule(await pack('mirror_http'), undefined);
  const before = tree(moduleDir('mirror_http'));
  const broken = await pack('mirror_http', (dir) => {
    const uc = path.join(dir, 'conf/userconfig.xml');
    fs.writeFileSync(uc, fs.readFileSync(uc, 'utf8').replace('198.18.0.150', '10.0.0.300'));
    fs.writeFileSync(path.join(dir, 'bin/start_prim'), 'changed');
  });
  await expect(installModule(broken, undefined)).rejects.toMatchObject({ code: 'HAKIT_E_CONF_BAD_ADDR' });
  const hostile = path.join(tmp, 'mirror_http.safe');
  fs.writeFileSync(hostile, rawZip([...goodEntries(), { name: 'bin/../../../../escape' }]));
  await expect(installModule(hostile, undefined)).rejects.toMatchObject({ code: 'HAKIT_E_SAFE_DOTDOT' });
  expect(tree(moduleDir('mirror_http'))).toEqual(before);
  expect(fs.readdirSync(path.join(tmp, 'state', 'staging'))).toEqual([]);
  expect(fs.readdirSync(releasesDir('mirror_http'))).toEqual(['1']);
});

test('VIPs and replicated dirs may not be shared with another installed module', async () => {
  await installModule(await pack('mirror_http'), undefined);
  const copy = path.join(tmp, 'mirror_copy.safe');
  fs.copyFileSync(await pack('mirror_http'), copy);
  const err = await installModule(copy, undefined).catch((e: unknown) => e);
  expect(isHakitError(err) && err.code).toBe('HAKIT_E_CONF_DIR_SHARED');
  expect((err as { issues: { code: string }[] }).issues.map((i) => i.code)).toEqual(['HAKIT_E_CONF_DIR_SHARED', 'HAKIT_E_CONF_VIP_SHARED']);
});

test('the last 3 earlier configs are kept; rollback steps back through them', async () => {
  for (let i = 1; i <= 5; i++) {
    const safe = await pack('mirror_http', (dir) => {
      const uc = path.join(dir, 'conf/userconfig.xml');
      fs.writeFileSync(uc, fs.readFileSync(uc, 'utf8').replace('maxloop="3"', `maxloop="${i}"`));
    });
    await installModule(safe, undefined);
  }
  expect(fs.readdirSync(releasesDir('mirror_http')).sort()).toEqual(['2', '3', '4', '5']);
  const maxloop = () => listInstalled()[0]?.config?.service.maxloop;
  expect(maxloop()).toBe(5);
  expect((await rollbackModule('mirror_http')).release).toBe(4);
  expect((await rollbackModule('mirror_http')).release).toBe(3);
  expect(maxloop()).toBe(3);
  expect((await rollbackModule('mirror_http')).release).toBe(2);
  await expect(rollbackModule('mirror_http')).rejects.toThrow(expect.objectContaining({ code: 'HAKIT_E_MOD_NO_HISTORY' }));
});

test('uninstall keeps a backup of every release', async () => {
  await installModule(await pack('farm_http'), undefined);
  const { backup } = uninstallModule('farm_http');
  expect(fs.existsSync(moduleDir('farm_http'))).toBe(false);
  expect(fs.readdirSync(backup)).toEqual(['1']);
  expect(fs.existsSync(path.join(backup, '1', 'bin', 'farm_http.js'))).toBe(true);
  expect(listInstalled()).toEqual([]);
});

test('validate accepts a module directory and reports every issue of a broken one', async () => {
  await expect(validateModule(path.join(examples, 'mirror_http'), undefined)).resolves.toMatchObject({ name: 'mirror_http' });
  const dir = path.join(tmp, 'broken');
  fs.cpSync(path.join(examples, 'mirror_http'), dir, { recursive: true });
  fs.chmodSync(path.join(dir, 'bin/stop_prim'), 0o644);
  fs.rmSync(path.join(dir, 'bin/start_prim'));
  const err = await validateModule(dir, 'broken').catch((e: unknown) => e);
  expect((err as { issues: { code: string }[] }).issues.map((i) => i.code)).toEqual(['HAKIT_E_MOD_SCRIPT_MISSING', 'HAKIT_E_MOD_SCRIPT_NOT_EXEC']);
});
