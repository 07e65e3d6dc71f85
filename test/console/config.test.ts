// The Configuration view in Debian's chromium against the real HTTPS API server and a real
// module store in a temp folder (the daemon behind is the fake of test/api/helpers.ts; the
// push to the other node is a recording fake): upload a broken module and see the error at
// its line, fix it, install it on both nodes, change it, roll back, download the module and a
// support snapshot; axe-core on the view. Screenshots in test/console/screenshots/config-*.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { installCluster } from '../../core/config/cluster-store';
import { moduleDir } from '../../core/config/paths';
import { createFirstAdmin } from '../../core/api/users/store';
import { packModule } from '../../modules/safe/pack';
import { CLUSTER_XML } from '../unit/config/fixtures';
import { makeTls, startFakeApi, type Started } from '../api/helpers';
import { axeViolations, buildConsole, collectErrors, launch, loginAs, shot, type Browser } from './browser';

jest.setTimeout(60_000);

const EXAMPLE = path.resolve(__dirname, '..', '..', 'modules', 'examples', 'farm_http');
const GOOD_UC = fs.readFileSync(path.join(EXAMPLE, 'conf', 'userconfig.xml'), 'utf8');
/** Line 12 of the example is `</farm>`: the broken copy closes a tag it never opened there. */
const BROKEN_LINE = 12;
const BROKEN_UC = GOOD_UC.split('\n').map((l, i) => (i === BROKEN_LINE - 1 ? l.replace('</farm>', '</fram>') : l)).join('\n');

let s: Started;
let b: Browser;
let base = '';
let tmp = '';
let env: NodeJS.ProcessEnv;
let admin = { user: 'admin', password: '' };
const pushed: string[][] = [];

beforeAll(async () => {
  buildConsole();
  const fx = await makeTls();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-console-config-'));
  env = { HAKIT_CONF_DIR: fx.conf_dir, HAKIT_STATE_DIR: path.join(tmp, 'state') };
  fs.writeFileSync(path.join(tmp, 'cluster.xml'), CLUSTER_XML);
  installCluster(path.join(tmp, 'cluster.xml'), env);
  admin = await createFirstAdmin(fx.conf_dir);
  s = await startFakeApi(fx, {
    poll_ms: 200,
    module_env: env,
    push_module: async (_module, _file, nodes) => {
      pushed.push([...nodes]);
      return nodes.map((node) => ({ node, ok: true, detail: `release ${pushed.length}` }));
    },
  });
  base = `https://127.0.0.1:${s.port}`;
  b = await launch();
}, 120_000);

afterAll(async () => {
  await b?.close();
  await s?.server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function brokenPackage(): Promise<string> {
  const dir = path.join(tmp, 'src');
  fs.cpSync(EXAMPLE, dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'conf', 'userconfig.xml'), BROKEN_UC);
  const out = path.join(tmp, 'farm_http.safe');
  await packModule(dir, out);
  return out;
}

const verdict = (page: Page) => page.locator('.config p.verdict');

test('upload a broken module, see the error at its line, fix it, install it on both nodes, roll back, download', async () => {
  const page = await b.context.newPage();
  const errors = collectErrors(page);
  await loginAs(page, base, 'admin', admin.password);
  await page.getByRole('heading', { name: 'Configuration', exact: true }).scrollIntoViewIfNeeded();

  // Upload: the check runs at once; the broken line is marked in the gutter and listed.
  await page.getByLabel('Module package (.safe)').setInputFiles(await brokenPackage());
  await page.locator(`.gutter span[data-line="${BROKEN_LINE}"].bad`).waitFor({ timeout: 10_000 });
  expect(await verdict(page).textContent()).toMatch(/✖ 1 problem in farm_http: nothing was installed/);
  const issue = page.locator('#config-issues li').first();
  expect(await issue.textContent()).toMatch(new RegExp(`conf/userconfig.xml line ${BROKEN_LINE}: HAKIT_E_CONF_XML`));
  expect(await page.locator('.gutter span.bad').count()).toBe(1);
  expect(await page.getByLabel('conf/userconfig.xml').getAttribute('aria-invalid')).toBe('true');
  // The problem's link puts the cursor on that line.
  await issue.getByRole('button').click();
  const selected = await page.getByLabel('conf/userconfig.xml').evaluate((t) => {
    const ta = t as unknown as { value: string; selectionStart: number; selectionEnd: number };
    return ta.value.slice(ta.selectionStart, ta.selectionEnd);
  });
  expect(selected.trim()).toBe('</fram>');
  await shot(page, 'config-01-broken-upload');
  expect(fs.existsSync(moduleDir('farm_http', env))).toBe(false);

  // Fix it in the editor and check again.
  await page.getByLabel('conf/userconfig.xml').fill(GOOD_UC);
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await page.waitForFunction(() => /valid farm module/.test((globalThis as unknown as { document: { querySelector(q: string): { textContent: string | null } | null } }).document.querySelector('.config p.verdict')?.textContent ?? ''));
  expect(await page.locator('.gutter span.bad').count()).toBe(0);

  // Install on both nodes: this node through its module store, n2 through the push.
  await page.getByRole('button', { name: 'Install on 2 nodes' }).click();
  await page.locator('ul.results li').nth(1).waitFor();
  expect(await page.locator('ul.results').textContent()).toMatch(/✔ n1: release 1.*✔ n2: release 1/s);
  expect(pushed).toEqual([['n2']]);
  expect(fs.readFileSync(path.join(moduleDir('farm_http', env), 'conf', 'userconfig.xml'), 'utf8')).toBe(GOOD_UC);
  await page.locator('.history tr[data-release="1"]').waitFor();
  await shot(page, 'config-02-installed');

  // A change (on n1 only), then a roll-back to the first configuration from the history.
  await page.getByLabel('conf/userconfig.xml').fill(GOOD_UC.replace('value="9081"', 'value="9091"'));
  await page.getByLabel('n2', { exact: true }).uncheck();
  await page.getByRole('button', { name: 'Install on 1 node' }).click();
  await page.locator('.history tr[data-release="2"]').waitFor();
  expect(await page.locator('.history tr[data-release="2"]').textContent()).toMatch(/applied/);
  expect(fs.readFileSync(path.join(moduleDir('farm_http', env), 'conf', 'userconfig.xml'), 'utf8')).toContain('value="9091"');
  await page.getByRole('button', { name: 'Roll back to release 1' }).click();
  await page.waitForFunction(() => /at release 1/.test((globalThis as unknown as { document: { querySelector(q: string): { textContent: string | null } | null } }).document.querySelector('.history p.note')?.textContent ?? ''));
  // The console says "at release 1" first, then reloads the history: wait for that reload.
  await page.waitForFunction(() => /applied/.test((globalThis as unknown as { document: { querySelector(q: string): { textContent: string | null } | null } }).document.querySelector('.history tr[data-release="1"]')?.textContent ?? ''), undefined, { timeout: 10_000 }).catch(() => undefined);
  expect(await page.locator('.history tr[data-release="1"]').textContent()).toMatch(/applied/);
  expect(fs.readFileSync(path.join(moduleDir('farm_http', env), 'conf', 'userconfig.xml'), 'utf8')).toBe(GOOD_UC);
  await shot(page, 'config-03-rolled-back');

  // Downloads: the module as .safe and a support snapshot.
  const [pkg] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download farm_http (.safe)' }).click()]);
  expect(pkg.suggestedFilename()).toBe('farm_http-n1-release1.safe');
  const saved = path.join(tmp, 'downloaded.safe');
  await pkg.saveAs(saved);
  expect(fs.readFileSync(saved).subarray(0, 2).toString()).toBe('PK');
  const [snap] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download support snapshot' }).click()]);
  expect(snap.suggestedFilename()).toMatch(/^hakit-snapshot-n1-.*\.zip$/);

  // The audit log holds every change made from the browser.
  const audit = fs.readFileSync(path.join(s.log_dir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; ok: boolean; user: string });
  expect(audit.filter((r) => r.action.startsWith('module-')).map((r) => [r.action, r.ok, r.user])).toEqual([
    ['module-install', true, 'admin'],
    ['module-install', true, 'admin'],
    ['module-rollback', true, 'admin'],
  ]);

  const serious = (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious).toEqual([]);
  expect(errors).toEqual([]);
  await page.close();
});

test('the install form lists the module\'s macros with their values; a value set there is checked like the CLI\'s --macro and installed', async () => {
  const page = await b.context.newPage();
  const errors = collectErrors(page);
  await loginAs(page, base, 'admin', admin.password);
  const src = path.join(tmp, 'macro-src');
  fs.cpSync(EXAMPLE, src, { recursive: true });
  const file = path.join(tmp, 'macros', 'farm_http.safe');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await packModule(src, file);
  await page.getByLabel('Module package (.safe)').setInputFiles(file);
  await page.waitForFunction(() => /valid farm module/.test((globalThis as unknown as { document: { querySelector(q: string): { textContent: string | null } | null } }).document.querySelector('.config p.verdict')?.textContent ?? ''));

  // Listed with the value userconfig.xml gives it, and where.
  const field = page.getByLabel('VIRTUAL_IP', { exact: true });
  expect(await field.inputValue()).toBe('198.18.0.151');
  expect(await page.locator('.macro[data-macro="VIRTUAL_IP"]').textContent()).toMatch(/default, userconfig\.xml line 4/);

  // A value the CLI would refuse is marked at once, and nothing can be sent.
  await field.fill('x'.repeat(1025));
  expect(await page.locator('.macro[data-macro="VIRTUAL_IP"] .macro-note').textContent()).toMatch(/✖ longer than 1024 characters/);
  expect(await field.getAttribute('aria-invalid')).toBe('true');
  expect(await page.getByRole('button', { name: 'Check', exact: true }).isDisabled()).toBe(true);
  expect(await page.getByRole('button', { name: /^Install on/ }).isDisabled()).toBe(true);

  // A value the schema refuses: the check reports it at the line that uses the macro.
  await field.fill('not-an-address');
  expect(await page.locator('.macro[data-macro="VIRTUAL_IP"]').getAttribute('data-changed')).toBe('true');
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await page.locator('.gutter span[data-line="17"].bad').waitFor({ timeout: 10_000 });
  expect(await page.locator('#config-issues li').first().textContent()).toMatch(/conf\/userconfig\.xml line 17: HAKIT_E_CONF_/);
  await shot(page, 'config-04-macro-refused');

  // A good value: installed on both nodes, the file in the editor unchanged, the installed one set.
  await field.fill('198.18.0.171');
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await page.waitForFunction(() => /valid farm module/.test((globalThis as unknown as { document: { querySelector(q: string): { textContent: string | null } | null } }).document.querySelector('.config p.verdict')?.textContent ?? ''));
  const before = pushed.length;
  await page.getByRole('button', { name: 'Install on 2 nodes' }).click();
  await page.locator('ul.results li').nth(1).waitFor();
  expect(await page.locator('ul.results').textContent()).toMatch(/✔ n1: release \d+.*✔ n2/s);
  expect(pushed.slice(before)).toEqual([['n2']]);
  expect(fs.readFileSync(path.join(moduleDir('farm_http', env), 'conf', 'userconfig.xml'), 'utf8')).toContain('<macro name="VIRTUAL_IP" value="198.18.0.171"/>');
  expect(await page.getByLabel('conf/userconfig.xml').inputValue()).toContain('<macro name="VIRTUAL_IP" value="198.18.0.151"/>');
  await shot(page, 'config-05-macro-installed');

  const serious = (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious).toEqual([]);
  expect(errors).toEqual([]);
  await page.close();
});
