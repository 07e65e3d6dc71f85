// Calls signed with the cluster key (peer nodes, and `hakit -H` as root on a node): accepted
// when fresh and intact, refused when stale, replayed, tampered with, from an unknown node, or
// made with another key; the role they carry is checked like a user's.
import crypto from 'node:crypto';
import { signHeaders } from '../../core/api/server/node-auth';
import { API_BASE } from '../../core/api/contract/version';
import { createFirstAdmin } from '../../core/api/users/store';
import { call, codeOf, makeTls, startFakeApi, type Started } from './helpers';

const KEY = crypto.randomBytes(32);
let s: Started;

beforeAll(async () => {
  const fx = await makeTls();
  await createFirstAdmin(fx.conf_dir);
  s = await startFakeApi(fx, { cluster_key: KEY });
}, 60_000);

afterAll(async () => {
  await s?.server.close();
});

function signed(method: string, p: string, body?: unknown, o: { key?: Buffer; node?: string; role?: string; now?: number } = {}): { headers: Record<string, string>; raw?: string } {
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers = signHeaders(o.key ?? KEY, o.node ?? 'n2', method, p, text, 'admin', o.role ?? 'admin', o.now ?? Date.now());
  return text === '' ? { headers } : { headers: { ...headers, 'content-type': 'application/json' }, raw: text };
}

test('a fresh signed call of a cluster node is served; its role is checked', async () => {
  const p = `${API_BASE}/internal/users`;
  const a = await call(s.port, s.tls.ca, 'GET', p, signed('GET', p));
  expect(a.status).toBe(200);
  expect((a.body as { users: unknown[] }).users).toHaveLength(1);
  const cmd = `${API_BASE}/nodes/n1/modules/m1/commands`;
  expect((await call(s.port, s.tls.ca, 'POST', cmd, signed('POST', cmd, { kind: 'swap' }))).status).toBe(200);
  const asMonitor = await call(s.port, s.tls.ca, 'POST', cmd, signed('POST', cmd, { kind: 'swap' }, { role: 'monitor' }));
  expect(codeOf(asMonitor)).toBe('HAKIT_E_AUTH_FORBIDDEN');
  const audit = await call(s.port, s.tls.ca, 'GET', `${API_BASE}/nodes/n1/audit`, signed('GET', `${API_BASE}/nodes/n1/audit`));
  expect(JSON.stringify(audit.body)).toMatch(/"from":"node n2 \(127\.0\.0\.1\)"/);
});

test('stale, replayed, tampered, unknown node, wrong key: 401 HAKIT_E_AUTH_NODE', async () => {
  const p = `${API_BASE}/internal/users`;
  const stale = await call(s.port, s.tls.ca, 'GET', p, signed('GET', p, undefined, { now: Date.now() - 60_000 }));
  expect(codeOf(stale)).toBe('HAKIT_E_AUTH_NODE');
  const once = signed('GET', p);
  expect((await call(s.port, s.tls.ca, 'GET', p, once)).status).toBe(200);
  expect(codeOf(await call(s.port, s.tls.ca, 'GET', p, once))).toBe('HAKIT_E_AUTH_NODE');
  const cmd = `${API_BASE}/nodes/n1/modules/m1/commands`;
  const t = signed('POST', cmd, { kind: 'swap' });
  expect(codeOf(await call(s.port, s.tls.ca, 'POST', cmd, { headers: t.headers, raw: JSON.stringify({ kind: 'primforce' }) }))).toBe('HAKIT_E_AUTH_NODE');
  expect(codeOf(await call(s.port, s.tls.ca, 'GET', p, signed('GET', p, undefined, { node: 'stranger' })))).toBe('HAKIT_E_AUTH_NODE');
  expect(codeOf(await call(s.port, s.tls.ca, 'GET', p, signed('GET', p, undefined, { key: crypto.randomBytes(32) })))).toBe('HAKIT_E_AUTH_NODE');
  const other = `${API_BASE}/state`;
  expect(codeOf(await call(s.port, s.tls.ca, 'GET', other, signed('GET', p)))).toBe('HAKIT_E_AUTH_NODE');
});

test('a signed call naming another node is not forwarded again (one hop)', async () => {
  const p = `${API_BASE}/nodes/n2/state`;
  const a = await call(s.port, s.tls.ca, 'GET', p, signed('GET', p));
  expect(a.status).toBe(404);
  expect(codeOf(a)).toBe('HAKIT_E_API_NOT_FOUND');
});
