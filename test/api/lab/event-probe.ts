// Runs inside the lab (on the client host): logs in to one node's API, listens to its events,
// and measures how long an operator change on ANOTHER node takes to reach this console:
// checkers of module M on node B are switched off/on through node A (proxied), and the time
// from sending the request to the 'resource' event (relayed by A) is recorded. Prints JSON.
import fs from 'node:fs';
import https from 'node:https';
import { io } from 'socket.io-client';
import type { ResourceEvent } from '../../../core/api/contract/events';

interface Args {
  readonly addr: string;
  readonly port: number;
  readonly ca: string;
  readonly password: string;
  readonly via: string;
  readonly node: string;
  readonly module: string;
  readonly cycles: number;
}

const EVENT_WAIT_MS = 5_000;

function req(a: Args, method: string, p: string, body: unknown, cookie: string, csrf: string): Promise<{ status: number; body: unknown; cookie: string }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    const r = https.request(
      { host: a.addr, port: a.port, method, path: p, ca: a.ca, headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf, ...(text ? { 'content-length': String(Buffer.byteLength(text)) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const sc = res.headers['set-cookie']?.[0] ?? '';
          resolve({ status: res.statusCode ?? 0, body: raw ? (JSON.parse(raw) as unknown) : null, cookie: sc.split(';')[0] ?? '' });
        });
      },
    );
    r.on('error', reject);
    r.end(text || undefined);
  });
}

async function main(a: Args): Promise<void> {
  const login = await req(a, 'POST', '/api/v1/login', { user: 'admin', password: a.password }, '', '');
  if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`);
  const cookie = login.cookie;
  const csrf = (login.body as { csrf_token: string }).csrf_token;
  const sock = io(`https://${a.addr}:${a.port}`, { path: '/api/v1/socket.io', transports: ['websocket'], ca: a.ca, extraHeaders: { cookie }, reconnection: false } as never);
  await new Promise<void>((resolve, reject) => {
    sock.on('connect', () => resolve());
    sock.on('connect_error', reject);
  });
  const state = await req(a, 'GET', '/api/v1/state', undefined, cookie, csrf);
  const latencies: number[] = [];
  const path = `/api/v1/nodes/${a.node}/modules/${a.module}/monitor`;
  for (let i = 0; i < a.cycles; i++) {
    for (const on of [false, true]) {
      const want = on ? 'up' : 'init';
      const got = new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no resource event (${want}) from ${a.node} within ${EVENT_WAIT_MS} ms`)), EVENT_WAIT_MS);
        const onEv = (e: ResourceEvent) => {
          if (e.node === a.node && e.module === a.module && e.change.to === want) {
            clearTimeout(t);
            sock.off('resource', onEv);
            resolve(Date.now());
          }
        };
        sock.on('resource', onEv);
      });
      const t0 = Date.now();
      const r = await req(a, 'PUT', path, { what: 'checkers', on }, cookie, csrf);
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
      const at = await got;
      // Switching on: the checker's first answer comes after its interval; only "off" is a pure pipeline figure.
      if (!on) latencies.push(at - t0);
    }
  }
  sock.close();
  process.stdout.write(JSON.stringify({ latencies, state: state.body }) + '\n');
}

const [addr, port, caFile, password, via, node, moduleName, cycles] = process.argv.slice(2);
main({ addr: addr as string, port: Number(port), ca: fs.readFileSync(caFile as string, 'utf8'), password: password as string, via: via as string, node: node as string, module: moduleName as string, cycles: Number(cycles) }).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
