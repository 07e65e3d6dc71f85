// The console's replication words against a real two-node mirror cluster (built hakitd, the
// example mirror_http over real FUSE, TLS and users as `hakit cluster init` makes them, node1's
// API relayed to the host, Debian's chromium): PRIM in sync and SECOND's complete copy; node2
// power-cut, so node1 is ALONE and says so, not "re-integrating"; node2 back, and node1 in sync
// again; node1's module stopped, so node2 takes over ALONE and says so, not "link lost". The
// words are webconsole/pure/replication.ts's.
import type { Page } from 'playwright-core';
import { DEFAULT_API_PORT } from '../../core/api/contract/version';
import { provisionApi, startConsoleRelay } from '../api/lab/provision';
import { MirrorLab, MODULE, DATA_DIR, until } from '../mirror-lab/helpers';
import { buildConsole, collectErrors, launch, loginAs, shot, type Browser } from './browser';

const LAB = 'tc2';
/** Not the demo's 9453 nor the other console labs' 19455 and 19463. */
const HOST_PORT = 19457;
const STATE_WAIT_MS = 60_000;
const UI_WAIT_MS = 20_000;
/** Below the cluster history's 10 s refresh (webconsole/src/cluster-timeline.tsx): a change shows through its own reloads. */
const HISTORY_WAIT_MS = 5_000;

let m: MirrorLab | undefined;
let b: Browser | undefined;
let base = '';
let password = '';

// Above the sum of the test's bounded waits (each fails with its own message first).
jest.setTimeout(8 * 60_000);

const fail = (): Promise<string> => m!.bothLogs();

beforeAll(async () => {
  buildConsole();
  m = await MirrorLab.up(LAB);
  password = (await provisionApi(m.lab, ['node1', 'node2'], [0], LAB)).password;
  const ca = (await m.sh('node1', 'cat /etc/hakit/tls/ca.crt')).out;
  for (const h of ['node1', 'node2']) m.startDaemon(h);
  await until('daemons answer', async () => (await m!.state('node1')) !== null && (await m!.state('node2')) !== null, 30_000, fail);
  for (const h of ['node1', 'node2']) expect((await m.hakit(h, ['start', '-m', MODULE])).code).toBe(0);
  expect((await m.hakit('node1', ['prim', '-m', MODULE])).out).toMatch(/accepted|ALONE|PRIM/);
  await until('node1 ALONE or PRIM', async () => (await m!.is('node1', 'ALONE')) || (await m!.is('node1', 'PRIM')), STATE_WAIT_MS, fail);
  expect((await m.hakit('node2', ['second', '-m', MODULE])).out).toMatch(/accepted|SECOND/);
  await until('node1 PRIM, node2 SECOND with a complete copy', async () => (await m!.is('node1', 'PRIM')) && (await m!.state('node2'))?.copyComplete === true, STATE_WAIT_MS, fail);
  expect((await m.sh('node1', `head -c 200000 /dev/urandom > ${DATA_DIR}/blob.bin && sync`)).code).toBe(0);
  base = (await startConsoleRelay(m.lab, 'node1', DEFAULT_API_PORT, ca, HOST_PORT)).replace(/\/$/, '');
  b = await launch();
}, 240_000);

afterAll(async () => {
  await b?.close();
  await m?.down();
}, 120_000);

/** The Replication tab of the module on `node`, opened from its grid cell. */
async function replicationTab(page: Page, node: string): Promise<void> {
  await page.getByRole('button', { name: `Details of ${MODULE} on ${node}` }).click();
  await page.getByRole('tab', { name: 'Replication' }).click();
}

const row = (page: Page, name: string) => page.locator(`dd[data-row="${name}"]`);

async function rowMatches(page: Page, name: string, re: RegExp, what: string): Promise<void> {
  await until(what, async () => re.test((await row(page, name).textContent({ timeout: 1000 }).catch(() => '')) ?? ''), UI_WAIT_MS, async () => `${name} row: ${await row(page, name).textContent().catch(() => '(none)')}\n${await fail()}`);
}

test('PRIM in sync, SECOND complete; node2 power-cut: node1 ALONE says so (not re-integrating); node2 back: in sync again; node1 stopped: node2 ALONE (not link lost)', async () => {
  const page = await (b as Browser).context.newPage();
  const errors = collectErrors(page);
  await loginAs(page, base, 'admin', password);
  const cell = (node: string) => page.locator(`td.cell[data-node="${node}"][data-module="${MODULE}"]`);

  await replicationTab(page, 'node1');
  await rowMatches(page, 'replication', /^✔ in sync: the SECOND holds every acknowledged write$/, 'node1 in sync');
  expect(await page.locator('dl.kv').textContent()).not.toMatch(/unknown|\?/);
  await shot(page, 'mirror-lab-01-prim-in-sync');
  await replicationTab(page, 'node2');
  await rowMatches(page, 'copy', /^✔ complete/, 'node2 complete');
  expect(await row(page, 'applied').textContent()).toMatch(/^\d+(\.\d)? (B|KiB|MiB) in \d+ operation\(s\) since this node's engine started$/);
  await shot(page, 'mirror-lab-02-second-complete');

  await m!.powerCut('node2');
  await until('node1 ALONE', async () => m!.is('node1', 'ALONE'), STATE_WAIT_MS, fail);
  await page.waitForFunction((q) => (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(a: string): string | null } | null } }).document.querySelector(q)?.getAttribute('data-colour') === 'magenta', `td.cell[data-node="node1"][data-module="${MODULE}"]`, { polling: 100, timeout: UI_WAIT_MS });
  await replicationTab(page, 'node1');
  await rowMatches(page, 'replication', /^◐ ALONE: no SECOND/, 'node1 says ALONE');
  expect(await page.locator('dl.kv').textContent()).not.toMatch(/re-integrating|Pending/);
  expect(await cell('node1').textContent()).not.toMatch(/resync/);
  await shot(page, 'mirror-lab-03-prim-alone');

  await m!.powerOnAndStart('node2');
  await until('hakitd on node2 answers', async () => (await m!.state('node2')) !== null, 30_000, fail);
  expect((await m!.hakit('node2', ['start', '-m', MODULE])).code).toBe(0);
  await until('node1 PRIM, node2 SECOND complete again', async () => (await m!.is('node1', 'PRIM')) && (await m!.state('node2'))?.copyComplete === true, STATE_WAIT_MS, fail);
  // The tab follows the engine's live events (socket.io); no reload.
  await rowMatches(page, 'replication', /^✔ in sync/, 'node1 in sync again');
  await shot(page, 'mirror-lab-04-prim-in-sync-again');

  // The PRIM's module stopped: node2 takes over ALONE. Its SECOND engine's last event (the
  // link closed by node1) is not its own; its new PRIM engine says why it is ALONE from its
  // start (it took over a complete copy), then what its connection attempts meet: nothing
  // listens on node1, whose module is stopped.
  expect((await m!.hakit('node1', ['stop', '-m', MODULE])).code).toBe(0);
  await until('node2 ALONE', async () => m!.is('node2', 'ALONE'), STATE_WAIT_MS, fail);
  await replicationTab(page, 'node2');
  await rowMatches(page, 'replication', /^◐ ALONE: no SECOND \((not connected yet; took over a complete copy|cannot connect: .+: connect failed: ECONNREFUSED)\)/, 'node2 says ALONE and why');
  expect(await page.locator('dl.kv').textContent()).not.toMatch(/lost/);
  // The cluster history (from the nodes' logs) shows the takeover well before its 10 s
  // refresh: it reloads on the change, and once more after the node wrote its log line.
  const takeover = page.locator('#history tbody tr').filter({ hasText: 'node2' }).filter({ hasText: /SECOND\s*→\s*ALONE/ });
  await until('the cluster history shows node2 SECOND → ALONE', async () => (await takeover.count()) > 0, HISTORY_WAIT_MS, fail);
  await shot(page, 'mirror-lab-05-new-prim-alone');
  expect(errors).toEqual([]);
});
