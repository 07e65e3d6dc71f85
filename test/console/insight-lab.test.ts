// The console's insight views against a real two-node lab cluster (built hakitd, TLS and
// users as `hakit cluster init` makes them, node1's API relayed to the host, Debian's
// chromium): What-if "node2 fails" predicts node1 UP and node2's buckets moving to node1;
// "the application fails on node1" shows the errd rule's restarts, the stop and the buckets going to node2;
// the farm's 256-cell bucket map shows the real owners (each node's filter, read back from
// the kernel); then node2 really loses power and the live map turns to what was predicted.
// The cluster history lists the state changes from the nodes' logs. axe-core on each view.
import type { Page } from 'playwright-core';
import { HakitCluster, distBuilt } from '../checkers-lab/cluster';
import { farmHttpConfig } from '../checkers-lab/configs';
import { DEFAULT_API_PORT } from '../../core/api/contract/version';
import { provisionApi, startConsoleRelay } from '../api/lab/provision';
import { axeViolations, buildConsole, collectErrors, launch, loginAs, shot, type Browser } from './browser';

const LAB = 'tc13';
const M = 'fh';
const STATE_WAIT_MS = 30_000;
/** Not the demo's 9453, the API lab's 19453 nor the console lab's 19455. */
const HOST_PORT = 19463;
const BUCKETS = 256;

let c: HakitCluster;
let b: Browser | undefined;
let base = '';
let password = '';

beforeAll(async () => {
  if (!distBuilt()) throw new Error('run `npm run build` first: the lab runs the built hakitd from dist/');
  buildConsole();
  c = await HakitCluster.up(LAB, 2);
  await c.installExample('farm_http', M, farmHttpConfig(c.lab.spareAddr(0, 53), c.lab.addr('witness', 0)));
  const api = await provisionApi(c.lab, c.nodes, [0], LAB);
  password = api.password;
  for (const n of c.nodes) c.startDaemon(n);
  await c.waitStates(M, ['STOP', 'STOP'], STATE_WAIT_MS);
  for (const n of c.nodes) expect((await c.hakit(n, ['start', '-m', M])).code).toBe(0);
  await c.waitStates(M, ['UP', 'UP'], STATE_WAIT_MS);
  base = (await startConsoleRelay(c.lab, 'node1', DEFAULT_API_PORT, api.ca, HOST_PORT)).replace(/\/$/, '');
  b = await launch();
}, 180_000);

afterAll(async () => {
  await b?.close();
  await c?.down();
}, 60_000);

type Doc = { document: { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> } };

async function seriousViolations(page: Page): Promise<string[]> {
  return (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes})`);
}

test('what-if "node2 fails", the 256-cell bucket map, then the real power cut matches the prediction', async () => {
  const page = await (b as Browser).context.newPage();
  const errors = collectErrors(page);
  await loginAs(page, base, 'admin', password);

  // The bucket map: 256 cells, each owned by node1 (A) or node2 (B), once both filters settled.
  await page.getByRole('button', { name: `Details of ${M} on node1` }).click();
  await page.getByRole('tab', { name: 'Farm buckets' }).click();
  const cells = page.locator('.buckets16 .b');
  await cells.first().waitFor({ timeout: 10_000 });
  expect(await cells.count()).toBe(BUCKETS);
  const labels = async (): Promise<string[]> => page.evaluate(() => Array.from((globalThis as unknown as Doc).document.querySelectorAll('.buckets16 .b'), (e) => e.textContent ?? ''));
  await page.waitForFunction(() => Array.from((globalThis as unknown as Doc).document.querySelectorAll('.buckets16 .b')).every((e) => e.textContent === 'A' || e.textContent === 'B'), undefined, { polling: 200, timeout: 15_000 });
  const before = await labels();
  const countA = before.filter((x) => x === 'A').length;
  expect(countA).toBeGreaterThan(BUCKETS / 4);
  expect(BUCKETS - countA).toBeGreaterThan(BUCKETS / 4);
  const legend = await page.locator('.bucket-map .owners').first().textContent();
  expect(legend).toContain('A = node1');
  expect(legend).toContain('B = node2');
  await shot(page, 'insight-lab-01-bucket-map');
  expect(await seriousViolations(page)).toEqual([]);

  // What-if: node2 fails.
  const whatif = page.locator('section#whatif');
  await whatif.scrollIntoViewIfNeeded();
  await whatif.getByRole('group', { name: 'Nodes that fail (power cut)' }).getByLabel('node2').check();
  const t0 = Date.now();
  await whatif.getByRole('button', { name: 'Predict' }).click();
  const row = (node: string) => whatif.locator(`.whatif-module tr[data-node="${node}"] td.predicted`);
  await row('node1').waitFor({ timeout: 20_000 });
  const predict_ms = Date.now() - t0;
  expect(await row('node1').textContent()).toContain('UP/Ready');
  expect(await row('node2').textContent()).toContain('DOWN');
  expect(await whatif.locator('.whatif-module caption').first().textContent()).toContain('settles');
  expect(await whatif.textContent()).toMatch(/Buckets moved: \d+ from node2 to node1/);
  expect(await whatif.locator('ol.whatif-timeline').textContent()).toContain('node1 loses node2');
  await whatif.locator('details', { hasText: 'Bucket maps before and after' }).first().locator('summary').click();
  await shot(page, 'insight-lab-02-whatif-node2-fails');
  expect(await seriousViolations(page)).toEqual([]);

  // What-if: fh's application fails on node1 for good (from the real daemon's monitor plan):
  // errd restarts it in place up to maxloop, then stops it; node2 takes every bucket.
  await whatif.getByRole('group', { name: 'Nodes that fail (power cut)' }).getByLabel('node2').uncheck();
  await whatif.getByLabel('What fails').selectOption({ label: `${M}: the application fails` });
  await whatif.getByLabel('On node').selectOption('node1');
  await whatif.getByRole('button', { name: 'Add fault' }).click();
  const t2 = Date.now();
  await whatif.getByRole('button', { name: 'Predict' }).click();
  const errdRow = whatif.locator('table.whatif-rules tr[data-node="node1"][data-resource^="errd."]');
  await errdRow.waitFor({ timeout: 20_000 });
  const app_ms = Date.now() - t2;
  expect(await errdRow.textContent()).toContain('restart');
  expect(await errdRow.locator('td.taken').textContent()).toMatch(/^(restart at \+[\d.]+ s, ){3}stop at \+[\d.]+ s$/);
  expect(await row('node1').textContent()).toContain('STOP/NotReady');
  expect(await row('node2').textContent()).toContain('UP/Ready');
  expect(await whatif.textContent()).toMatch(/Buckets moved: \d+ from node1 to node2/);
  await shot(page, 'insight-lab-02b-whatif-app-fails');
  expect(await seriousViolations(page)).toEqual([]);
  process.stdout.write(`insight lab: what-if "${M}'s application fails on node1" answered in ${app_ms} ms in the browser\n`);

  // The cluster history: the modules' starts, from both nodes' logs, with links into the logs.
  const history = page.locator('section#history');
  await history.locator('tbody tr').first().waitFor({ timeout: 15_000 });
  const nodesInHistory = await history.locator('tbody tr td:nth-child(2)').allTextContents();
  expect(new Set(nodesInHistory)).toEqual(new Set(['node1', 'node2']));
  await shot(page, 'insight-lab-03-cluster-history');

  // Reality: node2 loses power. The live map turns all node1's, as predicted.
  const t1 = Date.now();
  await c.lab.kill('node2');
  await page.waitForFunction(() => Array.from((globalThis as unknown as Doc).document.querySelectorAll('section.detail .buckets16 .b')).every((e) => e.textContent === 'A'), undefined, { polling: 200, timeout: 30_000 });
  const real_ms = Date.now() - t1;
  await shot(page, 'insight-lab-04-bucket-map-after-power-cut');
  process.stdout.write(`insight lab: what-if answered in ${predict_ms} ms in the browser; node2 power cut -> all ${BUCKETS} buckets on node1 in the browser after ${real_ms} ms (predicted: node1 UP/Ready, node2's buckets to node1)\n`);
  expect(errors).toEqual([]);
}, 240_000);
