// The console's What-if with application and checker faults, in Debian's chromium against the
// real HTTPS API server (fake daemon for the grid; the what-if snapshot built from a real
// userconfig.xml by the daemon's planners, test/unit/whatif/rules-helpers.ts): "app's
// application fails on node1" shows the errd rule restarting in place up to maxloop, then the
// stop and node2 taking the VIP; a sequence (node1 fails, then the application on node2 20 s
// later) warns that nothing serves at the end. axe-core on the answers; screenshots
// test/console/screenshots/whatif-*.png.
import type { Page } from 'playwright-core';
import type { ApiServer } from '../../core/api/server/api-server';
import { createFirstAdmin } from '../../core/api/users/store';
import { makeTls, startFakeApi } from '../api/helpers';
import { ann, mirrorConfig, snapshotOf } from '../unit/whatif/rules-helpers';
import { axeViolations, buildConsole, collectErrors, launch, loginAs, shot, type Browser } from './browser';

jest.setTimeout(60_000);
let server: ApiServer;
let b: Browser;
let base = '';
let admin = { user: 'admin', password: '' };

const CHECKS = `<errd polltimer="2s"><proc name="appd" atleast="1" action="restart" class="prim"/></errd>
  <check><tcp ident="http" when="prim" action="restart"><to addr="127.0.0.1" port="80" interval="2s" timeout="1s" fall="2"/></tcp></check>
  <failover><rule name="http_down" when="http" action="stopstart"/></failover>`;
const SNAPSHOT = snapshotOf('app', mirrorConfig({ checks: CHECKS }), { node1: ann('app', 'mirror', 'PRIM'), node2: ann('app', 'mirror', 'SECOND') });

beforeAll(async () => {
  buildConsole();
  const fx = await makeTls();
  admin = await createFirstAdmin(fx.conf_dir);
  const s = await startFakeApi(fx, { whatif: () => SNAPSHOT });
  server = s.server;
  base = `https://127.0.0.1:${s.port}`;
  b = await launch();
}, 120_000);

afterAll(async () => {
  await b?.close();
  await server?.close();
});

async function serious(page: Page): Promise<string[]> {
  return (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes})`);
}

async function addFault(page: Page, what: string, node: string, after_s: number): Promise<void> {
  const w = page.locator('section#whatif');
  await w.getByLabel('What fails').selectOption({ label: what });
  await w.getByLabel('On node').selectOption(node);
  await w.getByLabel('After (s)').fill(String(after_s));
  await w.getByRole('button', { name: 'Add fault' }).click();
}

test('"the application fails on node1": the rule that applies, restarts in place, then node2 takes the VIP', async () => {
  const page = await b.context.newPage();
  const errors = collectErrors(page);
  await loginAs(page, base, admin.user, admin.password);
  const w = page.locator('section#whatif');
  await w.scrollIntoViewIfNeeded();
  await addFault(page, 'app: the application fails', 'node1', 0);
  expect(await w.getByRole('list', { name: 'Faults added' }).textContent()).toContain('app: the application fails on node1');
  const t0 = Date.now();
  await w.getByRole('button', { name: 'Predict' }).click();
  const rules = w.locator('table.whatif-rules');
  await rules.waitFor({ timeout: 15_000 });
  const answer_ms = Date.now() - t0;
  // Scripts take 1 s (the form's default): seen dead at +0.1 s (errd's fast watch), restarted; Ready at +2.1 s, the new watch's 1 s grace, again.
  const errd = rules.locator('tr[data-resource="errd.appd"]');
  expect(await errd.locator('td').nth(1).textContent()).toContain('checker default: restart');
  expect(await errd.locator('td.taken').textContent()).toMatch(/^restart at \+0\.10 s, restart at \+3\.10 s, stop at \+6\.10 s$/);
  expect(await rules.locator('tr[data-resource="tcp.http"] td').nth(1).textContent()).toContain('rule http_down: stopstart');
  const row = (node: string) => w.locator(`.whatif-module tr[data-node="${node}"] td.predicted`);
  expect(await row('node1').textContent()).toContain('STOP/NotReady');
  expect(await row('node2').textContent()).toContain('ALONE/Ready');
  expect(await w.textContent()).toContain('VIP: node1 → node2');
  expect(await w.locator('ul.warnings li[data-kind="maxloop"]').textContent()).toContain('more than 2 restarts within 24 h');
  expect(await w.locator('ol.whatif-timeline').textContent()).toContain('errd.appd down: restart');
  await shot(page, 'whatif-01-app-fails');
  expect(await serious(page)).toEqual([]);
  process.stdout.write(`console what-if: "app fails on node1" answered in ${answer_ms} ms in the browser\n`);

  // A sequence: node1 loses power, then 20 s later the application fails on node2.
  await w.getByRole('button', { name: /^Remove: / }).click();
  await w.getByRole('group', { name: 'Nodes that fail (power cut)' }).getByLabel('node1').check();
  await addFault(page, 'app: the application fails', 'node2', 20);
  await w.getByRole('button', { name: 'Predict' }).click();
  await w.locator('h3', { hasText: 'then at +20 s app\'s application fails on node2' }).waitFor({ timeout: 15_000 });
  expect(await row('node1').textContent()).toContain('DOWN');
  expect(await row('node2').textContent()).toContain('STOP/NotReady');
  expect(await w.locator('ul.warnings li[data-kind="not-served"]').count()).toBe(1);
  await shot(page, 'whatif-02-sequence');
  expect(await serious(page)).toEqual([]);
  expect(errors).toEqual([]);
  await page.close();
});
