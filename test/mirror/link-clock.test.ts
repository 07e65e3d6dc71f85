// The replication link keeps time with the monotonic Clock port, never the wall clock
// (issue: NTP or a VM resume stepping the clock must neither cut a healthy link nor hide a
// dead one), and a refusal that retrying cannot cure is reported with its code.
// Real sender and receiver in this process over loopback TCP (no namespace needed).
import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { MirrorSender, type SenderStatus } from '../../core/mirror/sender';
import { MirrorReceiver } from '../../core/mirror/receiver';

const KEY = randomBytes(32);
const ACK_TIMEOUT_MS = 600;
const HOUR_MS = 3_600_000;
let port = 17_000 + (process.pid % 2000);

interface Link { base: string; sender: MirrorSender; receiver: MirrorReceiver; statuses: SenderStatus[] }
const links: Link[] = [];
const realNow = Date.now.bind(Date);

afterEach(async () => {
  Date.now = realNow;
  for (const l of links.splice(0)) {
    await l.sender.stop().catch(() => undefined);
    await l.receiver.stop().catch(() => undefined);
    fs.rmSync(l.base, { recursive: true, force: true });
  }
});

async function until(what: string, f: () => boolean, timeout_ms: number): Promise<void> {
  const end = realNow() + timeout_ms;
  while (!f()) {
    if (realNow() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function link(opts: { receiverProtection?: 'auth' | 'encrypt' } = {}): Promise<Link> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-link-clock-'));
  for (const d of ['prim/0', 'prim-state', 'second/0', 'second-state']) fs.mkdirSync(path.join(base, d), { recursive: true });
  port++;
  const receiver = new MirrorReceiver({ module: 'mclock', dir: path.join(base, 'second'), state_dir: path.join(base, 'second-state'), key: KEY, host: '127.0.0.1', port, async: 'none', roots: 1, protection: opts.receiverProtection });
  await receiver.start();
  const sender = new MirrorSender({ module: 'mclock', real_dir: path.join(base, 'prim'), state_dir: path.join(base, 'prim-state'), key: KEY, peer: { host: '127.0.0.1', port }, ack_timeout_ms: ACK_TIMEOUT_MS, reconnect_ms: 100 });
  const statuses: SenderStatus[] = [];
  sender.on('status', (s) => statuses.push(s));
  const l = { base, sender, receiver, statuses };
  links.push(l);
  await sender.start();
  return l;
}

/** A replicated write of `text` to /0/f (the local part is done by the test itself). */
async function write(l: Link, offset: number, text: string): Promise<void> {
  const data = Buffer.from(text);
  fs.writeFileSync(path.join(l.base, 'prim/0/f'), data, { flag: offset === 0 ? 'w' : 'r+' });
  await l.sender.write({ kind: 'write', path: '/0/f', offset, data }, async () => data.length, true, () => undefined);
}

test.each([['+1 h', HOUR_MS], ['-1 h', -HOUR_MS]])('a wall clock stepped %s: the healthy link stays in sync while writes flow', async (_name, step_ms) => {
  const l = await link();
  await until('in sync', () => l.sender.phase === 'in_sync', 10_000);
  const seen = l.statuses.length;
  Date.now = () => realNow() + step_ms;
  // Writes for several ack timeouts: a wall-clock watchdog would have cut the link at once.
  const end = realNow() + 4 * ACK_TIMEOUT_MS;
  let n = 0;
  while (realNow() < end) {
    await write(l, n * 8, `rec${String(n).padStart(4, '0')}\n`.slice(0, 8));
    n++;
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(l.statuses.slice(seen).map((s) => s.state)).toEqual([]);
  expect(l.sender.phase).toBe('in_sync');
  expect(fs.readFileSync(path.join(l.base, 'second/0/f')).length).toBe(n * 8);
}, 30_000);

test('a wall clock stepped back 1 h does not hide a silent SECOND: the stalled write is released within the ack timeout', async () => {
  const l = await link();
  await until('in sync', () => l.sender.phase === 'in_sync', 10_000);
  Date.now = () => realNow() - HOUR_MS;
  // SECOND stops reading (as if stopped): nothing is acknowledged any more.
  const sock = (l.receiver as unknown as { channel: { socket: net.Socket } }).channel.socket;
  sock.pause();
  const t0 = realNow();
  await write(l, 0, 'stalled\n');
  const waited_ms = realNow() - t0;
  expect(l.statuses.some((s) => s.state === 'lost')).toBe(true);
  // ack timeout + one watchdog period + the resume window, with slack for a loaded machine.
  expect(waited_ms).toBeLessThan(ACK_TIMEOUT_MS + ACK_TIMEOUT_MS / 4 + 1000 + 1500);
}, 30_000);

test('PRIM states why it stays ALONE when the nodes\' frame protection differs (HAKIT_E_MIRROR_PROTECTION)', async () => {
  const l = await link({ receiverProtection: 'encrypt' });
  const refusals = (): Array<Extract<SenderStatus, { state: 'alone' }>> => l.statuses.filter((s): s is Extract<SenderStatus, { state: 'alone' }> => s.state === 'alone' && s.code === 'HAKIT_E_MIRROR_PROTECTION');
  await until('a coded alone', () => refusals().length > 0, 10_000);
  expect(refusals()[0]!.reason).toMatch(/encrypt/);
  // Said once, not at every retry.
  await new Promise((r) => setTimeout(r, 500));
  expect(refusals()).toHaveLength(1);
}, 30_000);
