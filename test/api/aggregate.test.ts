// The aggregated cluster view (GET /state) with a peer that stops answering (a cut of the
// command LAN): the first view waits AGGREGATE_TIMEOUT_MS for it, the next ones only
// AGGREGATE_RETRY_TIMEOUT_MS (the console's refreshes and first paint stay quick), and any
// answer from it, even a late one, makes views wait in full again. The cluster timeline shares
// the mark. A peer the heartbeats lost on every LAN gets the brief wait from the first view.
import { API_BASE } from '../../core/api/contract/version';
import type { ClusterState } from '../../core/api/contract/pure/types';
import type { TransitionPage } from '../../core/api/contract/pure/insight-types';
import type { PeerAnswer, PeerClient } from '../../core/api/server/backend';
import { AGGREGATE_RETRY_TIMEOUT_MS, AGGREGATE_TIMEOUT_MS, lostByHeartbeats } from '../../core/api/server/silent-peers';
import type { ModuleStatus, PeerStatus } from '../../core/control/api';
import { apiKeyAdd, createFirstAdmin } from '../../core/api/users/store';
import { call, makeTls, startFakeApi, type Started } from './helpers';

/** n2's API: silent (its answers held `delay_ms`, or forever), or answering at once. */
class ScriptedPeer implements PeerClient {
  delay_ms: number | null = null;
  asked = 0;
  request(node: string): Promise<PeerAnswer> {
    this.asked++;
    const answer: PeerAnswer = { status: 200, body: { node, reachable: true, error: null, modules: [], not_loaded: [] } };
    if (this.delay_ms === null) return new Promise(() => undefined);
    return new Promise((resolve) => setTimeout(() => resolve(answer), this.delay_ms!));
  }
}

let s: Started;
let key = '';
const peer = new ScriptedPeer();

beforeAll(async () => {
  const fx = await makeTls();
  await createFirstAdmin(fx.conf_dir);
  key = (await apiKeyAdd(fx.conf_dir, 'tests', 'monitor')).token;
  s = await startFakeApi(fx, { peer_client: peer });
}, 60_000);

afterAll(async () => {
  await s?.server.close();
});

async function view(): Promise<{ took_ms: number; n2: ClusterState['nodes'][number] | undefined }> {
  const t0 = performance.now();
  const a = await call(s.port, s.tls.ca, 'GET', `${API_BASE}/state`, { headers: { authorization: `Bearer ${key}` }, timeout_ms: 10_000 });
  expect(a.status).toBe(200);
  return { took_ms: performance.now() - t0, n2: (a.body as ClusterState).nodes.find((n) => n.node === 'n2') };
}

test('a silent peer is waited for in full once, then briefly until it answers again', async () => {
  const first = await view();
  expect(first.n2).toMatchObject({ reachable: false, error: { code: 'HAKIT_E_API_NODE_UNREACHABLE' } });
  expect(first.took_ms).toBeGreaterThanOrEqual(AGGREGATE_TIMEOUT_MS - 50);
  const again = await view();
  expect(again.n2).toMatchObject({ reachable: false, error: { message: expect.stringMatching(/no answer within 500 ms/) } });
  expect(again.n2?.error?.message).toMatch(/silent since \d{4}-\d\d-\d\dT/);
  expect(again.took_ms).toBeLessThan(AGGREGATE_TIMEOUT_MS / 2);
  expect(again.took_ms).toBeGreaterThanOrEqual(AGGREGATE_RETRY_TIMEOUT_MS - 50);
  // The cluster timeline shares the mark: it waits briefly too.
  const t0 = performance.now();
  const tl = await call(s.port, s.tls.ca, 'GET', `${API_BASE}/transitions`, { headers: { authorization: `Bearer ${key}` }, timeout_ms: 10_000 });
  expect(tl.status).toBe(200);
  expect((tl.body as TransitionPage).missing).toEqual([expect.objectContaining({ node: 'n2', message: expect.stringMatching(/silent since .*no answer within 500 ms/) })]);
  expect(performance.now() - t0).toBeLessThan(AGGREGATE_TIMEOUT_MS / 2);

  // Back, but slower than the short wait: that view still says unreachable, its late answer
  // clears the mark, and the next view waits in full and shows it.
  peer.delay_ms = AGGREGATE_RETRY_TIMEOUT_MS + 300;
  expect((await view()).n2?.reachable).toBe(false);
  await new Promise((r) => setTimeout(r, 500));
  const back = await view();
  expect(back.n2?.reachable).toBe(true);
  expect(back.took_ms).toBeGreaterThanOrEqual(peer.delay_ms - 50);
});

test('a peer the heartbeats lost is waited for briefly from the first view on', async () => {
  const fx = await makeTls();
  await createFirstAdmin(fx.conf_dir);
  const token = (await apiKeyAdd(fx.conf_dir, 'tests', 'monitor')).token;
  const lost = await startFakeApi(fx, { peer_client: new ScriptedPeer() });
  try {
    lost.daemon.peerHeard = false;
    lost.daemon.peerSilent_ms = 7_000;
    const t0 = performance.now();
    const a = await call(lost.port, lost.tls.ca, 'GET', `${API_BASE}/state`, { headers: { authorization: `Bearer ${token}` }, timeout_ms: 10_000 });
    const took_ms = performance.now() - t0;
    const n2 = (a.body as ClusterState).nodes.find((n) => n.node === 'n2');
    expect(n2).toMatchObject({ reachable: false, error: { message: expect.stringMatching(/silent since .*no answer within 500 ms/) } });
    expect(took_ms).toBeLessThan(AGGREGATE_TIMEOUT_MS / 2);
  } finally {
    await lost.server.close();
  }
});

test('a peer counts as lost only when every module that names it says so', () => {
  const mod = (peers: PeerStatus[]): ModuleStatus => ({ module: 'm', mode: 'mirror', state: 'PRIM', status: 'Ready', epoch: 1, copyComplete: true, failover: true, boot: false, peers, last_error: null });
  const peer = (node: string, reachable: boolean, silent_ms?: number | null): PeerStatus => ({ node, reachable, lansUp: reachable ? [0] : [], state: null, status: null, ...(silent_ms === undefined ? {} : { silent_ms }) });
  const lost = lostByHeartbeats({ node: 'n1', modules: [mod([peer('n2', false, 4_000), peer('n3', false), peer('n4', false, null)]), mod([peer('n3', true)])] });
  expect([...lost]).toEqual([['n2', 4_000], ['n4', null]]);
  expect(lostByHeartbeats({ node: 'n1', modules: [] }).size).toBe(0);
});
