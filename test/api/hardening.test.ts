// What a logged-in user loses when their credential goes, and what an unauthenticated caller
// cannot make the API do: real HTTPS and socket.io on 127.0.0.1 against the API server.
import { io as ioClient, type Socket } from 'socket.io-client';
import { API_BASE, EVENTS_PATH } from '../../core/api/contract/version';
import { LOGIN_BURST } from '../../core/api/pure/login-limiter';
import { MAX_SESSIONS, MAX_SESSIONS_PER_USER, SESSION_IDLE_TIMEOUT_MS } from '../../core/api/pure/sessions';
import { SessionStore } from '../../core/api/server/auth';
import { apiKeyAdd, apiKeyDel, createFirstAdmin, userAdd, userDel, userPasswd } from '../../core/api/users/store';
import { call, codeOf, makeTls, startFakeApi, type Started } from './helpers';

let s: Started;

beforeAll(async () => {
  const fx = await makeTls();
  await createFirstAdmin(fx.conf_dir);
  await userAdd(fx.conf_dir, 'alice', 'monitor', 'alice-password-1');
  await userAdd(fx.conf_dir, 'bob', 'control', 'bob-password-123');
  await userAdd(fx.conf_dir, 'carol', 'monitor', 'carol-password-1');
  await userAdd(fx.conf_dir, 'dave', 'monitor', 'dave-password-1');
  s = await startFakeApi(fx, { poll_ms: 100 });
}, 60_000);

afterAll(async () => {
  await s?.server.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function login(user: string, password: string): Promise<{ cookie: string; csrf: string; status: number }> {
  const a = await call(s.port, s.tls.ca, 'POST', `${API_BASE}/login`, { body: { user, password } });
  const sid = /hakit_session=([0-9a-f]{64})/.exec(String(a.headers['set-cookie']))?.[1] ?? '';
  return { cookie: `hakit_session=${sid}`, csrf: (a.body as { csrf_token?: string }).csrf_token ?? '', status: a.status };
}

const sessionStatus = async (cookie: string): Promise<number> => (await call(s.port, s.tls.ca, 'GET', `${API_BASE}/session`, { headers: { cookie } })).status;

test("a new password ends the user's other sessions; the session that changed it goes on", async () => {
  const a = await login('alice', 'alice-password-1');
  const b = await login('alice', 'alice-password-1');
  expect([a.status, b.status]).toEqual([200, 200]);
  const ch = await call(s.port, s.tls.ca, 'PUT', `${API_BASE}/session/password`, { body: { old_password: 'alice-password-1', new_password: 'alice-password-2' }, headers: { cookie: a.cookie, 'x-csrf-token': a.csrf } });
  expect(ch.status).toBe(200);
  expect(await sessionStatus(b.cookie)).toBe(401);
  expect(await sessionStatus(a.cookie)).toBe(200);
}, 60_000);

test('a password set from the CLI (the users file) ends the sessions made with the old one', async () => {
  const b = await login('bob', 'bob-password-123');
  expect(b.status).toBe(200);
  await userPasswd(s.conf_dir, 'bob', 'bob-password-456');
  await sleep(1200); // the file's stat is looked at once a second (users/runtime.ts)
  expect(await sessionStatus(b.cookie)).toBe(401);
  const cmd = await call(s.port, s.tls.ca, 'POST', `${API_BASE}/nodes/n1/modules/m1/commands`, { body: { kind: 'swap' }, headers: { cookie: b.cookie, 'x-csrf-token': b.csrf } });
  expect(cmd.status).toBe(401);
}, 60_000);

function connect(opts: object): Promise<Socket> {
  const c = ioClient(`https://127.0.0.1:${s.port}`, { path: EVENTS_PATH, transports: ['websocket'], ca: s.tls.ca ?? undefined, reconnection: false, ...opts } as never);
  return new Promise((resolve, reject) => {
    c.on('connect', () => resolve(c));
    c.on('connect_error', reject);
  });
}

async function closedWithin(c: Socket, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (c.connected && Date.now() < end) await sleep(50);
  return !c.connected;
}

test('event connections close once their session ends or their API key is revoked', async () => {
  const d = await login('dave', 'dave-password-1');
  const d2 = await login('dave', 'dave-password-1');
  expect([d.status, d2.status]).toEqual([200, 200]);
  const k = await apiKeyAdd(s.conf_dir, 'revoked', 'monitor');
  await sleep(1200);
  const byCookie = await connect({ extraHeaders: { cookie: d.cookie } });
  const byOtherCookie = await connect({ extraHeaders: { cookie: d2.cookie } });
  const byKey = await connect({ auth: { token: k.token } });
  try {
    await sleep(1500);
    expect([byCookie.connected, byOtherCookie.connected, byKey.connected]).toEqual([true, true, true]);
    const lo = await call(s.port, s.tls.ca, 'POST', `${API_BASE}/logout`, { body: {}, headers: { cookie: d.cookie, 'x-csrf-token': d.csrf } });
    expect(lo.status).toBe(200);
    expect(await closedWithin(byCookie, 3000)).toBe(true);
    expect(byOtherCookie.connected).toBe(true);
    await userDel(s.conf_dir, 'dave');
    expect(await closedWithin(byOtherCookie, 4000)).toBe(true);
    expect(byKey.connected).toBe(true);
    await apiKeyDel(s.conf_dir, 'revoked');
    expect(await closedWithin(byKey, 4000)).toBe(true);
  } finally {
    byCookie.close();
    byOtherCookie.close();
    byKey.close();
  }
}, 60_000);

test('a module package body is not read before its caller is known to be allowed to send it', async () => {
  const notJson = Buffer.alloc(12 * 1024 * 1024, 0x41);
  const anon = await call(s.port, s.tls.ca, 'POST', `${API_BASE}/modules/m1/install`, { raw: notJson, headers: { 'content-type': 'application/json' }, timeout_ms: 30_000 });
  expect([anon.status, codeOf(anon)]).toEqual([401, 'HAKIT_E_AUTH_REQUIRED']);
  const k = await apiKeyAdd(s.conf_dir, 'mon-big', 'monitor');
  await sleep(1200);
  const mon = await call(s.port, s.tls.ca, 'POST', `${API_BASE}/modules/m1/install`, { raw: notJson, headers: { 'content-type': 'application/json', authorization: `Bearer ${k.token}` }, timeout_ms: 30_000 });
  expect([mon.status, codeOf(mon)]).toEqual([403, 'HAKIT_E_AUTH_FORBIDDEN']);
  const forged = await call(s.port, s.tls.ca, 'POST', `${API_BASE}/modules/m1/install`, { raw: notJson, headers: { 'content-type': 'application/json', 'x-hakit-node': 'nosuchnode' }, timeout_ms: 30_000 });
  expect([forged.status, codeOf(forged)]).toEqual([401, 'HAKIT_E_AUTH_NODE']);
}, 60_000);

test('a query key named __proto__ is an unknown field like any other', async () => {
  const k = await apiKeyAdd(s.conf_dir, 'mon-q', 'monitor');
  await sleep(1200);
  const r = await call(s.port, s.tls.ca, 'GET', `${API_BASE}/nodes/n1/logs?__proto__=1&__proto__=2`, { headers: { authorization: `Bearer ${k.token}` } });
  expect([r.status, codeOf(r)]).toEqual([400, 'HAKIT_E_API_BAD_REQUEST']);
}, 30_000);

// Last: it empties the address's bucket (every test logs in from 127.0.0.1).
test('logins sent at once count as many attempts: at most the burst is checked, the rest wait (429)', async () => {
  const answers = await Promise.all(Array.from({ length: 12 }, (_x, i) => call(s.port, s.tls.ca, 'POST', `${API_BASE}/login`, { body: { user: 'carol', password: `wrong-guess-${i}` } })));
  const codes = answers.map((a) => codeOf(a));
  expect(codes.filter((c) => c === 'HAKIT_E_AUTH_BAD_LOGIN').length).toBe(LOGIN_BURST);
  expect(codes.filter((c) => c === 'HAKIT_E_AUTH_RATE_LIMITED').length).toBe(12 - LOGIN_BURST);
}, 60_000);

describe('session store', () => {
  const user = (name: string) => ({ name, role: 'monitor' as const, hash: `hash-of-${name}` });

  test(`one user holds at most ${MAX_SESSIONS_PER_USER} sessions: logging in again and again pushes out only their own`, () => {
    let now = 0;
    const st = new SessionStore(() => now);
    const admin = st.create({ ...user('admin'), role: 'admin' });
    const mallory: string[] = [];
    for (let i = 0; i < MAX_SESSIONS + 10; i++) {
      now++;
      mallory.push(st.create(user('mallory')).token);
    }
    expect(st.size).toBe(MAX_SESSIONS_PER_USER + 1);
    expect(st.use(admin.token).ok).toBe(true);
    expect(st.use(mallory[mallory.length - 1] as string).ok).toBe(true);
    expect(st.use(mallory[0] as string).ok).toBe(false);
  });

  test('when the node is full, expired sessions go before the least recently used live one', () => {
    let now = 0;
    const st = new SessionStore(() => now);
    const early = st.create(user('u0'));
    for (let i = 1; i < MAX_SESSIONS; i++) st.create(user(`u${i}`));
    now = SESSION_IDLE_TIMEOUT_MS / 2;
    st.use(early.token);
    now = SESSION_IDLE_TIMEOUT_MS + 1; // all but `early` idle too long
    st.create(user('late'));
    expect(st.size).toBe(2);
    expect(st.use(early.token).ok).toBe(true);
  });
});
