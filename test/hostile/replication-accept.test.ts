// Hostile peer, issue 15 item 1 (receiver side): connections from many source addresses
// churning against SECOND's replication listener must not keep the PRIM out. A real
// MirrorReceiver on a loopback address; the attack opens and holds handshake-less connections
// from 48 loopback addresses (127.0.1.x), re-opening each as soon as it is closed; the PRIM
// connects from its configured address (127.0.0.92) with the real handshake.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MirrorReceiver } from '../../core/mirror/receiver';
import { senderHandshake } from '../../core/mirror/stream/channel';
import type { HakitError } from '../../core/errors/catalogue';

const KEY = Buffer.from('hostile-accept-key-0123456789abcdef');
const SECOND = '127.0.0.91';
const PRIM = '127.0.0.92';
const PORT = 17_491;
const ATTACK_ADDRESSES = 48;
const ATTACK_MS = 4000;
const TRY_EVERY_MS = 250;

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-hostile-acc-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Holds one handshake-less connection per address, re-opened whenever it is closed, until stop(). */
function flood(addresses: readonly string[]): { stop(): void; opened(): number } {
  let stopped = false;
  let opened = 0;
  const live = new Set<net.Socket>();
  const open = (from: string): void => {
    if (stopped) return;
    opened++;
    const s = net.connect({ host: SECOND, port: PORT, localAddress: from });
    live.add(s);
    s.on('error', () => undefined);
    s.on('close', () => {
      live.delete(s);
      setTimeout(() => open(from), 10);
    });
  };
  for (const a of addresses) open(a);
  return {
    stop: () => {
      stopped = true;
      for (const s of live) s.destroy();
    },
    opened: () => opened,
  };
}

async function primConnects(): Promise<boolean> {
  try {
    const ch = await senderHandshake(net.connect({ host: SECOND, port: PORT, localAddress: PRIM }), 'test prim', { key: KEY, module: 'm', timeout_ms: TRY_EVERY_MS * 2 });
    ch.close();
    return true;
  } catch {
    return false;
  }
}

it(`keeps room for the PRIM while ${ATTACK_ADDRESSES} other addresses churn connections, and counts only the peer's`, async () => {
  const receiver = new MirrorReceiver({ module: 'm', dir: path.join(dir, 'copy'), state_dir: path.join(dir, 'state'), key: KEY, host: SECOND, port: PORT, async: 'second', roots: 1, peers: [PRIM] } as ConstructorParameters<typeof MirrorReceiver>[0]);
  const refused: HakitError[] = [];
  receiver.on('refused', (e) => refused.push(e));
  await receiver.start();
  const attack = flood(Array.from({ length: ATTACK_ADDRESSES }, (_, i) => `127.0.1.${i + 1}`));
  let tries = 0;
  let ok = 0;
  let first_ok_ms: number | null = null;
  const t0 = Date.now();
  try {
    await sleep(300); // the flood holds its connections
    while (Date.now() - t0 < ATTACK_MS) {
      tries++;
      if (await primConnects()) {
        ok++;
        first_ok_ms ??= Date.now() - t0;
      }
      await sleep(TRY_EVERY_MS);
    }
  } finally {
    attack.stop();
    await receiver.stop();
  }
  const foreign = refused.filter((e) => e.code === 'HAKIT_E_MIRROR_NOT_PEER').length;
  process.stdout.write(`flood from ${ATTACK_ADDRESSES} addresses (${attack.opened()} connections opened): the PRIM connected ${ok}/${tries} times, first after ${first_ok_ms ?? 'never'} ms; ${foreign} foreign connections refused\n`);
  expect(ok).toBe(tries);
  expect(foreign).toBeGreaterThanOrEqual(ATTACK_ADDRESSES);
}, 30_000);
