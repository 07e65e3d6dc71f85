// The Configuration routes on a real two-node lab cluster (built hakitd from dist/): a
// module package checked with its error at its line, then installed on both nodes through
// node1's API (node1 by its module store, node2 through its config service, as `hakit module
// install --all-nodes`), each hakitd reloading without a restart; an edit, the history and
// a rollback on node2 through node1 (one-hop forwarding), audited on node2.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HakitCluster, distBuilt } from '../checkers-lab/cluster';
import { farmHttpConfig } from '../checkers-lab/configs';
import { DEFAULT_API_PORT } from '../../core/api/contract/version';
import type { ConfigCheck, ConfigHistory, ConfigInstallOutcome, UserconfigText } from '../../core/api/contract/pure/config-types';
import { packModule } from '../../modules/safe/pack';
import { provisionApi, startConsoleRelay } from './lab/provision';
import { call, codeOf, type Answer } from './helpers';

const LAB = 'tcf';
const M = 'fcfg';
const STATE_WAIT_MS = 30_000;
/** Not the demo's 9453 nor the other API lab's 19453. */
const HOST_PORT = 19454;

let c: HakitCluster;
let ca = '';
let cookie = '';
let csrf = '';
let tmp = '';
let userconfig = '';

beforeAll(async () => {
  if (!distBuilt()) throw new Error('run `npm run build` first: the lab runs the built hakitd from dist/');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-lab-config-'));
  c = await HakitCluster.up(LAB, 2);
  const api = await provisionApi(c.lab, c.nodes, [0], LAB);
  ca = api.ca;
  for (const n of c.nodes) c.startDaemon(n);
  await startConsoleRelay(c.lab, 'node1', DEFAULT_API_PORT, ca, HOST_PORT);
  const login = await call(HOST_PORT, ca, 'POST', '/api/v1/login', { body: { user: 'admin', password: api.password } });
  expect(login.status).toBe(200);
  cookie = String(([] as string[]).concat(login.headers['set-cookie'] ?? [])[0]).split(';')[0] as string;
  csrf = (login.body as { csrf_token: string }).csrf_token;
  userconfig = farmHttpConfig(c.lab.spareAddr(0, 53), c.lab.addr('witness', 0));
}, 180_000);

afterAll(async () => {
  await c?.down();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}, 60_000);

const api = (method: string, p: string, body?: unknown): Promise<Answer> => call(HOST_PORT, ca, method, `/api/v1${p}`, { body, headers: { cookie, 'x-csrf-token': csrf }, timeout_ms: 60_000 });

async function packageB64(): Promise<string> {
  const dir = path.join(tmp, 'src');
  fs.cpSync(path.resolve(__dirname, '..', '..', 'modules', 'examples', 'farm_http'), dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'conf', 'userconfig.xml'), userconfig);
  const out = path.join(tmp, `${M}.safe`);
  await packModule(dir, out);
  return fs.readFileSync(out).toString('base64');
}

test('check, install on both nodes without a restart, edit, history and rollback on node2 through node1', async () => {
  const pids = await Promise.all(c.nodes.map((n) => c.pidsOf(n, 'core/daemon/main.js')));
  const safe_b64 = await packageB64();

  const lines = userconfig.split('\n');
  const bad_line = lines.findIndex((l) => l.includes('</farm>')) + 1;
  const broken = lines.map((l, i) => (i === bad_line - 1 ? l.replace('</farm>', '</fram>') : l)).join('\n');
  const check = (await api('POST', `/modules/${M}/check`, { safe_b64, userconfig: broken })).body as ConfigCheck;
  expect(check.issues[0]).toMatchObject({ code: 'HAKIT_E_CONF_XML', file: 'conf/userconfig.xml', line: bad_line });
  const refused = await api('POST', `/modules/${M}/install`, { safe_b64, userconfig: broken, nodes: 'node1,node2' });
  expect([refused.status, codeOf(refused)]).toEqual([422, 'HAKIT_E_CONF_XML']);

  const t0 = Date.now();
  const inst = await api('POST', `/modules/${M}/install`, { safe_b64, nodes: 'node1,node2' });
  expect(inst.status).toBe(200);
  expect((inst.body as ConfigInstallOutcome).results.map((r) => [r.node, r.ok, r.release])).toEqual([
    ['node1', true, 1],
    ['node2', true, 1],
  ]);
  const waited_ms = await c.waitStates(M, ['STOP', 'STOP'], STATE_WAIT_MS);
  process.stdout.write(`install through the API on 2 nodes: answered in ${Date.now() - t0 - waited_ms} ms, both hakitd host the module ${waited_ms} ms later\n`);

  // Edit on node2 through node1, then roll node2 back to release 1.
  const edited = userconfig.replace('value="9081"', 'value="9091"');
  const put = await api('PUT', `/nodes/node2/modules/${M}/userconfig`, { text: edited });
  expect([put.status, put.body]).toEqual([200, expect.objectContaining({ node: 'node2', release: 2 })]);
  expect(((await api('GET', `/nodes/node2/modules/${M}/userconfig`)).body as UserconfigText).text).toContain('value="9091"');
  const h = (await api('GET', `/nodes/node2/modules/${M}/history`)).body as ConfigHistory;
  expect(h.releases.map((r) => [r.release, r.applied])).toEqual([
    [2, true],
    [1, false],
  ]);
  const rb = await api('POST', `/nodes/node2/modules/${M}/rollback`, { release: 1 });
  expect([rb.status, rb.body]).toEqual([200, expect.objectContaining({ node: 'node2', release: 1 })]);
  expect(((await api('GET', `/nodes/node2/modules/${M}/userconfig`)).body as UserconfigText).text).toBe(userconfig);
  expect(((await api('GET', `/nodes/node1/modules/${M}/userconfig`)).body as UserconfigText).release).toBe(1);
  await c.waitStates(M, ['STOP', 'STOP'], STATE_WAIT_MS);

  // No hakitd restarted; node2 audited the changes made on its behalf by node1.
  expect(await Promise.all(c.nodes.map((n) => c.pidsOf(n, 'core/daemon/main.js')))).toEqual(pids);
  const audit = JSON.parse((await c.hakit('node2', ['cmdlog', '-s', '10', '--json'])).out) as Array<{ action: string; from: string; user: string; ok: boolean }>;
  expect(audit.filter((r) => r.action === 'userconfig' || r.action === 'module-rollback').map((r) => [r.action, r.ok, r.user, r.from.startsWith('node node1')])).toEqual([
    ['userconfig', true, 'admin', true],
    ['module-rollback', true, 'admin', true],
  ]);
}, 240_000);
