// The real HTTPS server on 127.0.0.1 with a fake daemon behind the control dispatch: TLS only,
// login/cookies/CSRF/rate limit, fuzzed bodies and paths (coded 4xx, server alive), huge
// bodies, slow and many clients (bounded), live events within 1 s, metrics that parse,
// the audit trail.
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import fc from 'fast-check';
import { io as ioClient } from 'socket.io-client';
import { ROUTES } from '../../core/api/contract/routes';
import { API_BASE, EVENTS_PATH } from '../../core/api/contract/version';
import type { StateEvent } from '../../core/api/contract/events';
import { apiKeyAdd, createFirstAdmin } from '../../core/api/users/store';
import { LOGIN_BURST } from '../../core/api/pure/login-limiter';
import { HEADERS_TIMEOUT_MS, MAX_CONNECTIONS_PER_ADDRESS } from '../../core/api/server/api-server';
import { call, codeOf, makeTls, startFakeApi, type Answer, type Started } from './helpers';
import { parsePrometheusText } from './prom-parse';

let s: Started;
let admin: { user: string; password: string };
let key = '';
const bearer = () => ({ authorization: `Bearer ${key}` });

beforeAll(async () => {
  const fx = await makeTls();
  admin = await createFirstAdmin(fx.conf_dir);
  key = (await apiKeyAdd(fx.conf_dir, 'tests', 'admin')).token;
  s = await startFakeApi(fx, { poll_ms: 100 });
}, 60_000);

afterAll(async () => {
  await s?.server.close();
});

async function alive(): Promise<void> {
  const a = await call(s.port, s.tls.ca, 'GET', `${API_BASE}/session`, { headers: bearer() });
  expect(a.status).toBe(200);
}

test('TLS only: plain HTTP gets no HTTP answer; TLS 1.1 is refused; TLS 1.2+ works', async () => {
  const plain = await new Promise<string>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: s.port, path: '/', timeout: 5000 }, (res) => resolve(`answered ${res.statusCode}`));
    req.on('error', (e) => resolve(`refused: ${e.message}`));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
  expect(plain).toMatch(/^refused/);
  const old = await new Promise<string>((resolve) => {
    const c = tls.connect({ host: '127.0.0.1', port: s.port, ca: s.tls.ca ?? undefined, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }, () => resolve(`connected ${c.getProtocol()}`));
    c.on('error', (e) => resolve(`refused: ${e.message}`));
  });
  expect(old).toMatch(/^refused/);
  const a = await call(s.port, s.tls.ca, 'GET', '/');
  expect(a.status).toBe(200);
  expect(a.headers['strict-transport-security']).toBeDefined();
  expect(a.text).toMatch(/openapi\.json/);
});

test('login: Secure HttpOnly SameSite cookie, CSRF needed for changes, logout ends the session', async () => {
  const bad = await call(s.port, s.tls.ca, 'POST', `${API_BASE}/login`, { body: { user: 'admin', password: 'wrong' } });
  expect(bad.status).toBe(401);
  expect(codeOf(bad)).toBe('HAKIT_E_AUTH_BAD_LOGIN');
  const ok = await call(s.port, s.tls.ca, 'POST', `${API_BASE}/login`, { body: admin });
  expect(ok.status).toBe(200);
  const cookie = String(ok.headers['set-cookie']);
  expect(cookie).toMatch(/hakit_session=[0-9a-f]{64}; Path=\/; Secure; HttpOnly; SameSite=Strict/);
  const sid = /hakit_session=([0-9a-f]{64})/.exec(cookie)?.[1] as string;
  const csrf = (ok.body as { csrf_token: string }).csrf_token;
  const h = { cookie: `hakit_session=${sid}` };
  const noCsrf = await call(s.port, s.tls.ca, 'POST', `${API_BASE}/nodes/n1/modules/m1/commands`, { body: { kind: 'swap' }, headers: h });
  expect(codeOf(noCsrf)).toBe('HAKIT_E_AUTH_CSRF');
  const withCsrf = await call(s.port, s.tls.ca, 'POST', `${API_BASE}/nodes/n1/modules/m1/commands`, { body: { kind: 'swap' }, headers: { ...h, 'x-csrf-token': csrf } });
  expect(withCsrf.status).toBe(200);
  expect(withCsrf.body).toMatchObject({ node: 'n1', module: 'm1', command: 'swap', ok: true });
  const refused = await call(s.port, s.tls.ca, 'POST', `${API_BASE}/nodes/n1/modules/m1/commands`, { body: { kind: 'start' }, headers: { ...h, 'x-csrf-token': csrf } });
  expect(refused.status).toBe(409);
  expect(codeOf(refused)).toBe('HAKIT_E_MODULE_ALREADY_STARTED');
  await call(s.port, s.tls.ca, 'POST', `${API_BASE}/logout`, { body: {}, headers: { ...h, 'x-csrf-token': csrf } });
  const after = await call(s.port, s.tls.ca, 'GET', `${API_BASE}/session`, { headers: h });
  expect(after.status).toBe(401);
}, 30_000);

test('audit: the command, who, from where, the result; never a password', async () => {
  const a = await call(s.port, s.tls.ca, 'GET', `${API_BASE}/nodes/n1/audit?lines=50`, { headers: bearer() });
  const recs = (a.body as { records: Array<{ action: string; user: string; from: string; ok: boolean; args: Record<string, unknown>; error: { code: string } | null }> }).records;
  const swap = recs.find((r) => r.action === 'command' && r.args['kind'] === 'swap');
  expect(swap).toMatchObject({ user: 'admin', ok: true });
  expect(swap?.from).toMatch(/^api 127\.0\.0\.1/);
  expect(recs.find((r) => r.action === 'command' && r.args['kind'] === 'start')?.error?.code).toBe('HAKIT_E_MODULE_ALREADY_STARTED');
  expect(recs.some((r) => r.action === 'login' && !r.ok)).toBe(true);
  expect(JSON.stringify(recs)).not.toContain(admin.password);
});

test('fuzzed bodies on every route: a coded 4xx, never a 5xx, and the server stays up', async () => {
  const withBody = ROUTES.filter((r) => r.body !== undefined && r.access !== 'public' && r.access !== 'node');
  const paths: Record<string, string> = {};
  for (const r of withBody) paths[r.id] = API_BASE + r.path.replace(':node', 'n1').replace(':module', 'm1').replace(':resource', 'ping.router').replace(':user', 'nosuch').replace(':name', 'nosuch');
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...withBody),
      fc.oneof(
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc.dictionary(fc.string(), fc.jsonValue()).map((v) => JSON.stringify({ ...v, zz_unknown: 1 })),
        fc.string().map((t) => `{${t}`),
        fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
      ),
      async (r, raw) => {
        const a = await call(s.port, s.tls.ca, r.method, paths[r.id] as string, { raw, headers: { ...bearer(), 'content-type': 'application/json' } });
        if (a.status >= 200 && a.status < 300) return; // a valid body by chance
        expect(a.status).toBeGreaterThanOrEqual(400);
        expect(a.status).toBeLessThan(500);
        expect(codeOf(a)).toMatch(/^HAKIT_E_[A-Z_]+$/);
      },
    ),
    { numRuns: 300 },
  );
  await alive();
}, 120_000);

test('path tricks in module and node names: 4xx with a code', async () => {
  const tricks = ['..', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', 'm1%00', 'a%20b', 'x'.repeat(300), '%C0%AE', 'm1;rm'];
  for (const t of tricks) {
    for (const p of [`${API_BASE}/nodes/n1/modules/${t}/logs`, `${API_BASE}/nodes/${t}/state`]) {
      const a = await call(s.port, s.tls.ca, 'GET', p, { headers: bearer() });
      expect(a.status).toBeGreaterThanOrEqual(400);
      expect(a.status).toBeLessThan(500);
      expect(codeOf(a)).toMatch(/^HAKIT_E_/);
    }
  }
  const wrongType = await call(s.port, s.tls.ca, 'POST', `${API_BASE}/nodes/n1/modules/m1/commands`, { raw: 'kind=swap', headers: { ...bearer(), 'content-type': 'application/x-www-form-urlencoded' } });
  expect([400, 415]).toContain(wrongType.status);
  await alive();
});

test('a huge body is refused with 413 without being read whole', async () => {
  const big = Buffer.alloc(20 * 1024 * 1024, 0x20);
  const t0 = Date.now();
  const a: Answer | string = await call(s.port, s.tls.ca, 'POST', `${API_BASE}/nodes/n1/modules/m1/commands`, { raw: big, headers: { ...bearer(), 'content-type': 'application/json' } }).catch((e: Error) => `cut: ${e.message}`);
  if (typeof a !== 'string') {
    expect(a.status).toBe(413);
    expect(codeOf(a)).toBe('HAKIT_E_API_BODY_TOO_BIG');
  }
  expect(Date.now() - t0).toBeLessThan(10_000);
  await alive();
}, 30_000);

test(`many connections from one address: the server holds at most ${MAX_CONNECTIONS_PER_ADDRESS}, memory stays bounded, the API answers after`, async () => {
  const socks: net.Socket[] = [];
  const N = 2000;
  const rss0 = process.memoryUsage.rss();
  let held = 0;
  try {
    await Promise.all(
      Array.from({ length: N }, () =>
        new Promise<void>((resolve) => {
          const c = net.connect(s.port, '127.0.0.1', () => resolve());
          c.on('error', () => resolve());
          c.on('close', () => resolve());
          socks.push(c);
        }),
      ),
    );
    // Let the server accept what the kernel queued.
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      held = Math.max(held, s.server.connections);
    }
    expect(held).toBeLessThanOrEqual(MAX_CONNECTIONS_PER_ADDRESS);
    expect(process.memoryUsage.rss() - rss0).toBeLessThan(200 * 1024 * 1024);
  } finally {
    for (const c of socks) c.destroy();
  }
  process.stdout.write(`flood: ${N} connections, server held at most ${held}\n`);
  await new Promise((r) => setTimeout(r, 500));
  await alive();
}, 60_000);

test('a slow client (headers never finished) is cut off', async () => {
  const t0 = Date.now();
  const closed = await new Promise<number>((resolve) => {
    const c = tls.connect({ host: '127.0.0.1', port: s.port, ca: s.tls.ca ?? undefined }, () => c.write('GET /api/v1/session HTTP/1.1\r\nHost: x\r\n'));
    c.on('close', () => resolve(Date.now() - t0));
    c.on('data', (d: Buffer) => process.stdout.write(`slow client got: ${String(d).split('\r\n')[0]}\n`));
    c.on('error', () => undefined);
    setTimeout(() => {
      c.destroy();
      resolve(-1);
    }, HEADERS_TIMEOUT_MS + 20_000).unref();
  });
  expect(closed).toBeGreaterThan(0);
  expect(closed).toBeLessThan(HEADERS_TIMEOUT_MS + 20_000);
  await alive();
}, 60_000);

test('events: a state change reaches a socket.io client within 1 s; no login, no events', async () => {
  const refused = await new Promise<string>((resolve) => {
    const c = ioClient(`https://127.0.0.1:${s.port}`, { path: EVENTS_PATH, transports: ['websocket'], ca: s.tls.ca ?? undefined, reconnection: false } as never);
    c.on('connect', () => {
      c.close();
      resolve('connected');
    });
    c.on('connect_error', (e) => {
      c.close();
      resolve(e.message);
    });
  });
  expect(refused).toBe('HAKIT_E_AUTH_REQUIRED');
  const c = ioClient(`https://127.0.0.1:${s.port}`, { path: EVENTS_PATH, transports: ['websocket'], ca: s.tls.ca ?? undefined, auth: { token: key }, reconnection: false } as never);
  await new Promise<void>((resolve, reject) => {
    c.on('connect', () => resolve());
    c.on('connect_error', reject);
  });
  const latencies: number[] = [];
  try {
    for (const st of ['STOP', 'WAIT', 'PRIM', 'STOP', 'PRIM'] as const) {
      const got = new Promise<number>((resolve) => {
        const on = (e: StateEvent) => {
          if (e.current?.state === st) {
            c.off('state', on);
            resolve(Date.now());
          }
        };
        c.on('state', on);
      });
      const t0 = Date.now();
      s.daemon.state = st;
      latencies.push((await got) - t0);
    }
  } finally {
    c.close();
  }
  process.stdout.write(`event latency (fake daemon, poll ${100} ms): ${latencies.join(', ')} ms\n`);
  expect(Math.max(...latencies)).toBeLessThan(1000);
}, 30_000);

test('/metrics: refused without a key, Prometheus text with one', async () => {
  expect((await call(s.port, s.tls.ca, 'GET', '/metrics')).status).toBe(401);
  const a = await call(s.port, s.tls.ca, 'GET', '/metrics', { headers: bearer() });
  expect(a.status).toBe(200);
  expect(String(a.headers['content-type'])).toMatch(/^text\/plain; version=0\.0\.4/);
  const f = parsePrometheusText(a.text);
  expect(f.get('hakit_module_state')?.samples.some((x) => x.labels['module'] === 'm1' && x.value === 1)).toBe(true);
  expect(f.get('hakit_resource_state')?.samples.length).toBeGreaterThan(0);
  expect(f.get('hakit_replication_pending_bytes')?.samples[0]?.value).toBe(1000);
  // The fake PRIM is in a pass: its phase, one-hot, from the served replication status.
  expect(f.get('hakit_replication_phase')?.samples.filter((x) => x.value === 1).map((x) => x.labels['phase'])).toEqual(['reintegrating']);
});

test('login rate limit: after the burst, 429 with Retry-After, even with the right password', async () => {
  for (let i = 0; i < LOGIN_BURST; i++) await call(s.port, s.tls.ca, 'POST', `${API_BASE}/login`, { body: { user: 'admin', password: `wrong-${i}` } });
  const a = await call(s.port, s.tls.ca, 'POST', `${API_BASE}/login`, { body: admin });
  expect(a.status).toBe(429);
  expect(codeOf(a)).toBe('HAKIT_E_AUTH_RATE_LIMITED');
  expect(Number(a.headers['retry-after'])).toBeGreaterThan(0);
}, 30_000);
