// Checkers against a real network: ICMP echo and TCP connects from lab host node1 to the
// client, a cut path making a ping rule act (wait: stop) and undo itself (start) on heal.
import readline from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { Lab } from '../lab';
import { closed } from '../lab/testkit';
import { mirrorWith } from './config-text';
import { distPath, REPO_ROOT } from '../support/dist';

const NAME = 'tc1';

const DRIVER = ['node', distPath('test/checkers/driver.ts')];
/** Bound on every wait for a driver line. */
const LINE_WAIT_MS = 15_000;

let lab: Lab;
const children: ChildProcess[] = [];

beforeAll(async () => {
  await Lab.destroy(NAME);
  lab = await Lab.up({ name: NAME, nodes: 1, client: true });
}, 30_000);

afterAll(async () => {
  for (const c of children) {
    c.kill('SIGKILL');
    await closed(c, 2_000);
  }
  await Lab.destroy(NAME);
}, 30_000);

async function probe(args: object): Promise<{ ok: boolean; detail: string }> {
  const r = await lab.exec('node1', [...DRIVER, 'probe', JSON.stringify(args)], { timeout_ms: 20_000, cwd: REPO_ROOT });
  const { ok, detail } = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { ok: boolean; detail: string };
  return { ok, detail };
}

/** Follows a driver's JSON lines; `next(pred)` resolves with the first matching line (bounded). */
function follow(child: ChildProcess): { next: (pred: (o: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>; seen: Record<string, unknown>[] } {
  const seen: Record<string, unknown>[] = [];
  const waiters: Array<{ pred: (o: Record<string, unknown>) => boolean; resolve: (o: Record<string, unknown>) => void }> = [];
  let from = 0;
  readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(l) as Record<string, unknown>;
    } catch {
      return;
    }
    seen.push(o);
    for (const w of [...waiters]) {
      if (w.pred(o)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(o);
      }
    }
  });
  const next = (pred: (o: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    const hit = seen.slice(from).find(pred);
    if (hit) {
      from = seen.indexOf(hit) + 1;
      return Promise.resolve(hit);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching line within ${LINE_WAIT_MS} ms; seen: ${JSON.stringify(seen.slice(-8))}`)), LINE_WAIT_MS);
      waiters.push({
        pred,
        resolve: (o) => {
          clearTimeout(t);
          from = seen.length;
          resolve(o);
        },
      });
    });
  };
  return { next, seen };
}

test('ping: echo reply from a live host; no reply from a missing one (raw socket, no ping binary)', async () => {
  expect(await probe({ kind: 'ping', addr: lab.addr('client'), timeout_ms: 1_000 })).toEqual({ ok: true, detail: 'echo reply' });
  const miss = await probe({ kind: 'ping', addr: lab.spareAddr(0, 7), timeout_ms: 300 });
  expect(miss.ok).toBe(false);
}, 60_000);

test('tcp: connected to a listener, refused on a closed port, timeout through a cut path', async () => {
  const server = lab.spawn('client', ['node', '-e', `require('node:net').createServer((s)=>s.end()).listen(8080, '${lab.addr('client')}', ()=>console.log('listening'))`]);
  children.push(server);
  await new Promise<void>((resolve) => server.stdout?.once('data', () => resolve()));
  expect(await probe({ kind: 'tcp', addr: lab.addr('client'), port: 8080, timeout_ms: 1_000 })).toEqual({ ok: true, detail: 'connected' });
  expect(await probe({ kind: 'tcp', addr: lab.addr('client'), port: 8081, timeout_ms: 1_000 })).toEqual({ ok: false, detail: 'connect ECONNREFUSED' });
  await lab.cut('node1', 'client');
  try {
    const t = await probe({ kind: 'tcp', addr: lab.addr('client'), port: 8080, timeout_ms: 500 });
    expect(t).toEqual({ ok: false, detail: 'connect timeout after 500 ms' });
  } finally {
    await lab.heal();
  }
}, 90_000);

test('cut path to a ping target: the wait rule stops the module, and starts it again when the target returns', async () => {
  const xml = mirrorWith(`<check><ping ident="gw"><to addr="${lab.addr('client')}" interval="200ms" timeout="200ms" rise="1" fall="2"/></ping></check>`);
  const child = lab.spawn('node1', [...DRIVER, 'monitor', JSON.stringify({ xml, module: 'app' })], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const f = follow(child);
  await f.next((o) => o['ready'] === true);
  await f.next((o) => o['resource'] === 'ping.gw' && o['to'] === 'up');
  await lab.cut('node1', 'client');
  const downAt = await f.next((o) => o['resource'] === 'ping.gw' && o['to'] === 'down');
  const stop = await f.next((o) => o['command'] === 'stop');
  expect(Number(stop['t_ms']) - Number(downAt['t_ms'])).toBeLessThan(300);
  await lab.heal();
  await f.next((o) => o['resource'] === 'ping.gw' && o['to'] === 'up');
  await f.next((o) => o['command'] === 'start');
  child.stdin?.end();
  await closed(child, 5_000);
}, 90_000);
