// Unit tests of the API's pure parts: the role table, schema validation, sessions and CSRF,
// the login limiter, the users document, metrics rendering (read back by a strict parser).
import fc from 'fast-check';
import { roleAllows, ROLES } from '../../core/api/contract/pure/roles';
import { validate, S, obj, coerceQuery } from '../../core/api/contract/pure/schema';
import { ROUTES, COMMAND_ACCESS } from '../../core/api/contract/routes';
import { buildOpenApi } from '../../core/api/contract/openapi';
import { authorize } from '../../core/api/pure/authz';
import { checkSession, csrfOk, sameToken, sessionTokenOf, SESSION_IDLE_TIMEOUT_MS, SESSION_MAX_AGE_MS, sessionCookie } from '../../core/api/pure/sessions';
import { attemptSucceeded, loginDelayMs, takeAttempt, LOGIN_BURST, LOGIN_REFILL_MS } from '../../core/api/pure/login-limiter';
import { addUser, deleteUser, EMPTY_USERS_DOC, newerDoc, parseUsersDoc, setUser } from '../../core/api/pure/users-doc';
import { renderMetrics, escapeLabelValue } from '../../core/api/pure/metrics-text';
import { buildMetrics } from '../../core/api/pure/metrics-build';
import { parsePrometheusText } from './prom-parse';

const HASH = `scrypt$32768$8$1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;

describe('roles', () => {
  test('each role includes the ones below it; node and public are special', () => {
    expect(roleAllows('admin', 'control')).toBe(true);
    expect(roleAllows('control', 'monitor')).toBe(true);
    expect(roleAllows('monitor', 'control')).toBe(false);
    expect(roleAllows('control', 'admin')).toBe(false);
    for (const r of ROLES) {
      expect(roleAllows(r, 'public')).toBe(true);
      expect(roleAllows(r, 'node')).toBe(false);
    }
  });
  test('primforce needs admin, every other command control', () => {
    expect(COMMAND_ACCESS.primforce).toBe('admin');
    expect(Object.entries(COMMAND_ACCESS).filter(([k]) => k !== 'primforce').every(([, v]) => v === 'control')).toBe(true);
  });
  test('route ids and method+path pairs are unique; reads are GET', () => {
    expect(new Set(ROUTES.map((r) => r.id)).size).toBe(ROUTES.length);
    expect(new Set(ROUTES.map((r) => `${r.method} ${r.path}`)).size).toBe(ROUTES.length);
    for (const r of ROUTES) if (r.method === 'GET') expect(r.body).toBeUndefined();
  });
});

describe('authorize', () => {
  const sess = (role: 'monitor' | 'control' | 'admin', csrf_ok = true) => ({ kind: 'session' as const, user: 'u', role, csrf_ok });
  test('the decision table', () => {
    expect(authorize('monitor', 'none', 'GET')).toMatchObject({ ok: false, status: 401, code: 'HAKIT_E_AUTH_REQUIRED' });
    expect(authorize('monitor', 'expired', 'GET')).toMatchObject({ ok: false, status: 401, code: 'HAKIT_E_AUTH_EXPIRED' });
    expect(authorize('monitor', 'bad-node-signature', 'GET')).toMatchObject({ status: 401, code: 'HAKIT_E_AUTH_NODE' });
    expect(authorize('control', sess('monitor'), 'POST')).toMatchObject({ status: 403, code: 'HAKIT_E_AUTH_FORBIDDEN' });
    expect(authorize('control', sess('admin', false), 'POST')).toMatchObject({ status: 403, code: 'HAKIT_E_AUTH_CSRF' });
    expect(authorize('control', sess('control'), 'POST')).toEqual({ ok: true });
    expect(authorize('node', sess('admin'), 'GET')).toMatchObject({ status: 403 });
    expect(authorize('node', { kind: 'node', node: 'n2', user: '-', role: null }, 'GET')).toEqual({ ok: true });
    expect(authorize('monitor', { kind: 'node', node: 'n2', user: '-', role: null }, 'GET')).toMatchObject({ status: 403 });
    expect(authorize('admin', { kind: 'apikey', user: 'k', role: 'admin' }, 'DELETE')).toEqual({ ok: true });
    expect(authorize('public', 'none', 'POST')).toEqual({ ok: true });
  });
});

describe('schema validation', () => {
  const body = obj({ kind: { type: 'string', enum: ['a', 'b'], maxLength: 4 }, on: { type: 'boolean' }, n: { type: 'integer', minimum: 1, maximum: 9 } }, ['kind']);
  test('accepts the valid, names what is wrong in the rest', () => {
    expect(validate(body, { kind: 'a', on: true, n: 3 })).toEqual([]);
    expect(validate(body, { kind: 'c' })[0]?.at).toBe('/kind');
    expect(validate(body, { kind: 'a', extra: 1 })).toEqual([{ at: '/extra', message: 'unknown field' }]);
    expect(validate(body, {})).toEqual([{ at: '/kind', message: 'missing' }]);
    expect(validate(body, [])[0]?.message).toMatch(/an array/);
    expect(validate(body, null)[0]?.message).toMatch(/null/);
    expect(validate(body, { kind: 'a', n: 1.5 })[0]?.at).toBe('/n');
    expect(validate(body, { kind: 'a', n: 10 })[0]?.message).toMatch(/1\.\.9/);
  });
  test('names are safe: no path tricks pass the module and node patterns', () => {
    for (const bad of ['..', '../etc', 'a/b', 'a%2Fb', '', ' a', 'a\u0000', 'é', '.hidden', 'x'.repeat(33)]) expect(validate(S.module, bad)).not.toEqual([]);
    for (const bad of ['..', 'a/b', '', '-x']) expect(validate(S.node, bad)).not.toEqual([]);
    expect(validate(S.module, 'mirror_http')).toEqual([]);
  });
  test('query coercion turns only well-formed integers into numbers', () => {
    const q = obj({ lines: S.lines }, []);
    expect(coerceQuery(q, { lines: '5' })).toEqual({ lines: 5 });
    expect(validate(q, coerceQuery(q, { lines: '5x' }))).not.toEqual([]);
    expect(validate(q, coerceQuery(q, { lines: ['1', '2'] }))).not.toEqual([]);
  });
  test('validate never throws, whatever the value', () => {
    fc.assert(fc.property(fc.anything(), (v) => Array.isArray(validate(body, v))), { numRuns: 500 });
  });
  test('the OpenAPI document lists every route with its access and body schema', () => {
    const doc = buildOpenApi('t') as { paths: Record<string, Record<string, { 'x-hakit-access': string; requestBody?: unknown }>> };
    for (const r of ROUTES) {
      const op = doc.paths[`/api/v1${r.path.replace(/:([a-z_]+)/g, '{$1}')}`]?.[r.method.toLowerCase()];
      expect(op?.['x-hakit-access']).toBe(r.access);
      expect(op?.requestBody !== undefined).toBe(r.body !== undefined);
    }
  });
});

describe('sessions and CSRF', () => {
  const rec = { user: 'u', role: 'admin' as const, csrf: 'a'.repeat(64), password_fp: 'f'.repeat(64), created_ms: 0, last_seen_ms: 0 };
  test('idle timeout and maximum age', () => {
    expect(checkSession(rec, SESSION_IDLE_TIMEOUT_MS).ok).toBe(true);
    expect(checkSession(rec, SESSION_IDLE_TIMEOUT_MS + 1)).toEqual({ ok: false, why: 'expired' });
    expect(checkSession({ ...rec, last_seen_ms: SESSION_MAX_AGE_MS }, SESSION_MAX_AGE_MS + 1)).toEqual({ ok: false, why: 'expired' });
    expect(checkSession(undefined, 0)).toEqual({ ok: false, why: 'unknown' });
    const used = checkSession(rec, 1000);
    expect(used.ok && used.session.last_seen_ms).toBe(1000);
  });
  test('CSRF: reads need none, changes need the exact token', () => {
    expect(csrfOk('GET', rec, undefined)).toBe(true);
    expect(csrfOk('POST', rec, undefined)).toBe(false);
    expect(csrfOk('DELETE', rec, 'b'.repeat(64))).toBe(false);
    expect(csrfOk('PUT', rec, 'a'.repeat(64))).toBe(true);
    expect(sameToken('', '')).toBe(false);
  });
  test('cookie: Secure, HttpOnly, SameSite=Strict; only well-formed tokens are read', () => {
    expect(sessionCookie('x')).toMatch(/; Secure; HttpOnly; SameSite=Strict/);
    const t = 'c'.repeat(64);
    expect(sessionTokenOf(`a=b; hakit_session=${t}; z=1`)).toBe(t);
    expect(sessionTokenOf('hakit_session=../../etc')).toBeUndefined();
    expect(sessionTokenOf(undefined)).toBeUndefined();
  });
});

describe('login limiter', () => {
  test(`${LOGIN_BURST} attempts, then wait; success clears the user's bucket and gives the address its token back`, () => {
    let b = new Map() as ReturnType<typeof takeAttempt>;
    const keys = ['ip:1', 'user:u'];
    for (let i = 0; i < LOGIN_BURST; i++) {
      expect(loginDelayMs(b, keys, 0)).toBe(0);
      b = takeAttempt(b, keys, 0);
    }
    expect(loginDelayMs(b, keys, 0)).toBe(LOGIN_REFILL_MS);
    expect(loginDelayMs(b, keys, LOGIN_REFILL_MS)).toBe(0);
    b = attemptSucceeded(b, 'user:u', 'ip:1', 0);
    expect(loginDelayMs(b, ['user:u'], 0)).toBe(0);
    expect(loginDelayMs(b, ['ip:1'], 0)).toBe(0);
    b = takeAttempt(b, keys, 0);
    expect(loginDelayMs(b, ['ip:1'], 0)).toBeGreaterThan(0);
  });
});

describe('users document', () => {
  test('add, change, delete; the last admin stays; serial grows', () => {
    let d = addUser(EMPTY_USERS_DOC, { name: 'admin', role: 'admin', hash: HASH }, 't1');
    d = addUser(d, { name: 'bob', role: 'monitor', hash: HASH }, 't2');
    expect(d.serial).toBe(2);
    expect(() => addUser(d, { name: 'bob', role: 'monitor', hash: HASH }, 't')).toThrow(expect.objectContaining({ code: 'HAKIT_E_AUTH_USER_EXISTS' }));
    expect(() => deleteUser(d, 'admin', 't')).toThrow(expect.objectContaining({ code: 'HAKIT_E_AUTH_LAST_ADMIN' }));
    expect(() => setUser(d, 'admin', { role: 'monitor' }, 't')).toThrow(expect.objectContaining({ code: 'HAKIT_E_AUTH_LAST_ADMIN' }));
    expect(() => deleteUser(d, 'nobody', 't')).toThrow(expect.objectContaining({ code: 'HAKIT_E_AUTH_NO_USER' }));
    const back = parseUsersDoc(JSON.stringify(d), 'f');
    expect(back).toEqual(d);
    expect(newerDoc(d, EMPTY_USERS_DOC)).toBe(d);
  });
  test('a damaged file is a coded error, never a crash', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          parseUsersDoc(JSON.stringify(v), 'f');
        } catch (e) {
          expect((e as { code?: string }).code).toBe('HAKIT_E_AUTH_USERS_FILE');
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('metrics text', () => {
  test('renders what a strict parser reads back, whatever the label values', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), fc.double({ noNaN: false })), { maxLength: 20 }), (rows) => {
        const text = renderMetrics([{ name: 'hakit_x', help: 'a\nb \\ c', type: 'gauge', samples: rows.map(([v, n], i) => ({ labels: { module: v, i: String(i) }, value: n })) }]);
        const f = parsePrometheusText(text).get('hakit_x');
        expect(f?.samples.length).toBe(rows.length);
        rows.forEach(([v], i) => expect(f?.samples[i]?.labels['module']).toBe(v));
      }),
      { numRuns: 200 },
    );
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });
  test('the daemon families parse, with one-hot states', () => {
    const text = renderMetrics(
      buildMetrics({
        node: 'n1',
        state: {
          node: 'n1',
          reachable: true,
          error: null,
          not_loaded: [],
          modules: [
            { module: 'm', node: 'n1', mode: 'mirror', state: 'PRIM', status: 'Ready', epoch: 1, copy_complete: true, failover: true, boot: true, peers: [{ node: 'n2', reachable: true, lans_up: [0, 1], state: 'SECOND', status: 'Ready' }], farm: null, last_error: null },
            { module: 'f', node: 'n1', mode: 'farm', state: 'UP', status: 'Ready', epoch: 1, copy_complete: true, failover: true, boot: true, peers: [], farm: { share: '128/256', assigned: 128, members: ['n1', 'n2'], counts: { n1: 128, n2: 128 }, default_owner: 'n1', waiting_for: [], filter: 'loaded', leaving: false, error: null }, last_error: null },
          ],
        },
        monitors: new Map([['m', { module: 'm', errd: true, checkers: true, held: [], last_rule: null, resources: [{ name: 'ping.r', class: 'ping', state: 'up', since_ms_ago: 1, source: 'checker', action: 'wait', rule: null, active: true, targets: [] }] }]]),
        replication: new Map([['m', { module: 'm', node: 'n1', engine: 'prim', phase: 'reintegrating', in_sync: false, pending_bytes: 100, rate_bytes_per_s: 10, eta_s: 10, bytes_applied: null, ops_applied: null, last: null }]]),
        failovers: new Map([['m', 2]]),
        transitions: new Map(),
        heartbeat_drops: { bad_mac: 3 },
        api_answers: new Map([[200, 5]]),
        sessions: 1,
        process: { rss_bytes: 1, cpu_seconds: 0.5, uptime_s: 3 },
      }),
    );
    const f = parsePrometheusText(text);
    const st = f.get('hakit_module_state')?.samples.filter((s) => s.labels['module'] === 'm') ?? [];
    expect(st.filter((s) => s.value === 1).map((s) => s.labels['state'])).toEqual(['PRIM']);
    expect(st.map((s) => s.labels['state'])).not.toContain('UP');
    expect(f.get('hakit_failovers_total')?.samples.find((s) => s.labels['module'] === 'm')?.value).toBe(2);
    expect(f.get('hakit_farm_buckets')?.samples.length).toBe(2);
    expect(f.get('hakit_replication_pending_bytes')?.samples[0]?.value).toBe(100);
    const phases = f.get('hakit_replication_phase')?.samples ?? [];
    expect(phases.map((x) => x.labels['phase'])).toEqual(['reintegrating', 'in_sync', 'alone', 'receiving', 'none']);
    expect(phases.filter((x) => x.value === 1)).toEqual([expect.objectContaining({ labels: { node: 'n1', module: 'm', engine: 'prim', phase: 'reintegrating' } })]);
    expect(f.get('hakit_replication_journal_emptied')?.samples).toEqual([expect.objectContaining({ labels: { node: 'n1', module: 'm' }, value: 0 })]);
    expect(f.get('hakit_peer_lan_up')?.samples.length).toBe(2);
  });
});
