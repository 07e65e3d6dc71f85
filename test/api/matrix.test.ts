// The authorization matrix against the real HTTPS server: every route of the contract ×
// {no login, bad API key, expired session, wrong CSRF token, monitor, control, admin (by
// session and by API key)}. A refused call must carry the right code; an allowed one must
// not be refused for authorization reasons and must answer what the sample expects.
import { ROUTES, METRICS_PATH, type RouteSpec } from '../../core/api/contract/routes';
import { roleAllows, type Role } from '../../core/api/contract/pure/roles';
import { API_BASE } from '../../core/api/contract/version';
import { SESSION_IDLE_TIMEOUT_MS } from '../../core/api/pure/sessions';
import { apiKeyAdd, createFirstAdmin, readUsers, userAdd } from '../../core/api/users/store';
import { call, codeOf, makeTls, startFakeApi, type Started } from './helpers';

interface Sample {
  readonly method: string;
  readonly path: string;
  /** A function makes a fresh body per call (names that must be new). */
  readonly body?: unknown;
  readonly ok: number;
  readonly access: RouteSpec['access'];
  readonly id: string;
}

let n = 0;
const uniq = (p: string) => `${p}${++n}`;
const MON_PW = 'monitor-password-1';

function samples(): Sample[] {
  const by: Record<string, Omit<Sample, 'access' | 'id' | 'method'>> = {
    openapi: { path: '/openapi.json', ok: 200 },
    login: { path: '/login', body: { user: 'mon', password: MON_PW }, ok: 200 },
    session: { path: '/session', ok: 200 },
    logout: { path: '/logout', body: {}, ok: 200 },
    'password-own': { path: '/session/password', body: { old_password: 'not-the-password', new_password: 'new-password-123' }, ok: 401 },
    cluster: { path: '/cluster', ok: 200 },
    state: { path: '/state', ok: 200 },
    'node-state': { path: '/nodes/n1/state', ok: 200 },
    resources: { path: '/nodes/n1/modules/m1/resources', ok: 200 },
    replication: { path: '/nodes/n1/modules/m1/replication', ok: 200 },
    'module-logs': { path: '/nodes/n1/modules/m1/logs?lines=5', ok: 200 },
    'node-logs': { path: '/nodes/n1/logs', ok: 200 },
    'level-get': { path: '/nodes/n1/level', ok: 200 },
    command: { path: '/nodes/n1/modules/m1/commands', body: { kind: 'swap' }, ok: 200 },
    'resource-set': { path: '/nodes/n1/modules/m1/resources/ping.router', body: { value: 'up' }, ok: 200 },
    'monitor-switch': { path: '/nodes/n1/modules/m1/monitor', body: { what: 'checkers', on: true }, ok: 200 },
    verify: { path: '/nodes/n1/modules/m1/replication/verify', body: {}, ok: 200 },
    fullsync: { path: '/nodes/n1/modules/m1/replication/fullsync', body: {}, ok: 200 },
    'level-set': { path: '/nodes/n1/level', body: { level: 'info' }, ok: 200 },
    audit: { path: '/nodes/n1/audit?lines=10', ok: 200 },
    users: { path: '/users', ok: 200 },
    'user-add': { path: '/users', body: () => ({ name: uniq('user'), role: 'monitor', password: 'a-long-password-1' }), ok: 200 },
    'user-del': { path: '/users/nosuchuser', ok: 404 },
    'user-password': { path: '/users/nosuchuser/password', body: { password: 'a-long-password-2' }, ok: 404 },
    apikeys: { path: '/apikeys', ok: 200 },
    'apikey-add': { path: '/apikeys', body: () => ({ name: uniq('key'), role: 'monitor' }), ok: 200 },
    'apikey-del': { path: '/apikeys/nosuchkey', ok: 404 },
    'config-check': { path: '/modules/m1/check', body: { safe_b64: 'AAAA' }, ok: 200 },
    'config-install': { path: '/modules/m1/install', body: { safe_b64: 'AAAA', nodes: 'nx' }, ok: 404 },
    'userconfig-get': { path: '/nodes/n1/modules/m1/userconfig', ok: 404 },
    'userconfig-put': { path: '/nodes/n1/modules/m1/userconfig', body: { text: '<safe/>' }, ok: 404 },
    'config-history': { path: '/nodes/n1/modules/m1/history', ok: 404 },
    'config-rollback': { path: '/nodes/n1/modules/m1/rollback', body: { release: 1 }, ok: 404 },
    'module-package': { path: '/nodes/n1/modules/m1/package', ok: 404 },
    'support-snapshot': { path: '/nodes/n1/snapshot', ok: 200 },
    // Insight routes (the fake backend has no what-if snapshot; m1 is a mirror module).
    'whatif-choices': { path: '/whatif/choices', ok: 200 },
    whatif: { path: '/whatif?fail=n2', ok: 503 },
    'bucket-map': { path: '/modules/m1/buckets', ok: 404 },
    transitions: { path: '/transitions?lines=10', ok: 200 },
    'node-transitions': { path: '/nodes/n1/transitions', ok: 200 },
    'users-pull': { path: '/internal/users', ok: 200 },
    'users-changed': { path: '/internal/users/changed', body: {}, ok: 200 },
  };
  const out: Sample[] = [];
  for (const r of ROUTES) {
    const s = by[r.id];
    if (!s) throw new Error(`the matrix has no sample for route ${r.id}: add one`);
    const v = s;
    out.push({ ...v, method: r.method, path: API_BASE + v.path, access: r.access, id: r.id });
  }
  out.push({ id: 'command-primforce', method: 'POST', path: `${API_BASE}/nodes/n1/modules/m1/commands`, body: { kind: 'primforce' }, ok: 200, access: 'admin' });
  out.push({ id: 'metrics', method: 'GET', path: METRICS_PATH, ok: 200, access: 'monitor' });
  return out;
}

type Caller = { name: string; kind: 'none' | 'badkey' | 'expired' | 'badcsrf' | 'session' | 'apikey'; role?: Role };
const CALLERS: Caller[] = [
  { name: 'no login', kind: 'none' },
  { name: 'unknown API key', kind: 'badkey' },
  { name: 'expired session', kind: 'expired', role: 'admin' },
  { name: 'wrong CSRF token', kind: 'badcsrf', role: 'admin' },
  ...(['monitor', 'control', 'admin'] as Role[]).flatMap((role) => [
    { name: `${role} session`, kind: 'session' as const, role },
    { name: `${role} API key`, kind: 'apikey' as const, role },
  ]),
];

let s: Started;
let conf_dir = '';
const keys: Partial<Record<Role, string>> = {};
const AUTH_CODES = new Set(['HAKIT_E_AUTH_REQUIRED', 'HAKIT_E_AUTH_EXPIRED', 'HAKIT_E_AUTH_FORBIDDEN', 'HAKIT_E_AUTH_CSRF', 'HAKIT_E_AUTH_NODE']);

beforeAll(async () => {
  const fx = await makeTls();
  conf_dir = fx.conf_dir;
  await createFirstAdmin(fx.conf_dir);
  await userAdd(fx.conf_dir, 'mon', 'monitor', MON_PW);
  await userAdd(fx.conf_dir, 'ctl', 'control', 'control-password-1');
  for (const role of ['monitor', 'control', 'admin'] as Role[]) keys[role] = (await apiKeyAdd(fx.conf_dir, `k${role}`, role)).token;
  s = await startFakeApi(fx);
}, 60_000);

afterAll(async () => {
  await s?.server.close();
});

/** Sessions are made for the user holding the role (a session's role is read from the users file). */
function sessionUser(role: Role): string {
  return role === 'admin' ? 'admin' : role === 'control' ? 'ctl' : 'mon';
}

function headersFor(c: Caller): Record<string, string> {
  switch (c.kind) {
    case 'none':
      return {};
    case 'badkey':
      return { authorization: `Bearer hk_${'0'.repeat(64)}` };
    case 'apikey':
      return { authorization: `Bearer ${keys[c.role as Role]}` };
    default: {
      const u = readUsers(conf_dir).users.find((x) => x.name === sessionUser(c.role as Role));
      if (!u) throw new Error(`no user ${sessionUser(c.role as Role)}`);
      const { token, record } = s.server.sessions.create(u);
      if (c.kind === 'expired') s.server.sessions.age(SESSION_IDLE_TIMEOUT_MS + 1000);
      return { cookie: `hakit_session=${token}`, 'x-csrf-token': c.kind === 'badcsrf' ? 'f'.repeat(64) : record.csrf };
    }
  }
}

function expected(sm: Sample, c: Caller): { status: number; code?: string } {
  if (sm.access === 'public') return { status: sm.ok };
  if (c.kind === 'none' || c.kind === 'badkey') return { status: 401, code: 'HAKIT_E_AUTH_REQUIRED' };
  if (c.kind === 'expired') return { status: 401, code: 'HAKIT_E_AUTH_EXPIRED' };
  if (sm.access === 'node') return { status: 403, code: 'HAKIT_E_AUTH_FORBIDDEN' };
  if (c.kind === 'badcsrf' && sm.method !== 'GET') return { status: 403, code: 'HAKIT_E_AUTH_CSRF' };
  if (!roleAllows(c.role as Role, sm.access)) return { status: 403, code: 'HAKIT_E_AUTH_FORBIDDEN' };
  // password-own is for sessions; API keys are refused with FORBIDDEN.
  if (sm.id === 'password-own' && c.kind === 'apikey') return { status: 403, code: 'HAKIT_E_AUTH_FORBIDDEN' };
  return { status: sm.ok };
}

test('authorization matrix: every route × every caller', async () => {
  const rows: string[] = [];
  const failures: string[] = [];
  for (const sm of samples()) {
    for (const c of CALLERS) {
      const h = headersFor(c);
      const body = typeof sm.body === 'function' ? (sm.body as () => unknown)() : sm.body;
      const a = await call(s.port, s.tls.ca, sm.method, sm.path, { body, headers: h });
      const want = expected(sm, c);
      const got = codeOf(a);
      const good = a.status === want.status && (want.code === undefined ? !AUTH_CODES.has(got ?? '') : got === want.code);
      rows.push(`${good ? 'ok  ' : 'FAIL'} ${sm.id.padEnd(18)} ${c.name.padEnd(18)} ${a.status} ${got ?? ''}`);
      if (!good) failures.push(`${sm.id} as ${c.name}: got ${a.status} ${got ?? ''} ${a.text.slice(0, 200)}, want ${want.status} ${want.code ?? ''}`);
    }
  }
  process.stdout.write(`matrix: ${rows.length} cells, ${failures.length} failures\n`);
  expect(failures).toEqual([]);
  expect(rows.length).toBe(samples().length * CALLERS.length);
}, 120_000);
