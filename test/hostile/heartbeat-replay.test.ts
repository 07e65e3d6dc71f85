// Hostile peer, issue 15 item 3: heartbeats of node1 recorded on the wire and replayed to
// node2 after node2's daemon restarted (its replay window is empty then). Real UdpTransports
// on loopback addresses (127.0.0.x); the recording is what node1's socket sent to node2.
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UdpTransport } from '../../core/membership/transport/udp-transport';
import { SILENT_LOG } from '../../core/log/sink';

const KEY = Buffer.from('hostile-replay-key-0123456789abcdef');
const N1 = '127.0.0.71';
const N2 = '127.0.0.72';
const ATTACKER = '127.0.0.73';
const PORT = 17_471;
const PERIOD_MS = 20;
const REPLAYED = 300;

interface Peer {
  readonly t: UdpTransport<unknown>;
  readonly heard: { node_id: string; incarnation: number; at_ms: number }[];
}

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-hostile-hb-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function peer(node_id: string, local: string, other: string, other_addr: string, incarnation: number): Promise<Peer> {
  const t = new UdpTransport<unknown>({
    node_id,
    incarnation,
    key: KEY,
    lans: [{ index: 0, local_address: local, port: PORT, peers: [{ node_id: other, address: other_addr, port: PORT }] }],
    period_ms: PERIOD_MS,
    parsePayload: (j) => j,
    log: SILENT_LOG,
    floors_file: path.join(dir, `${node_id}-floors.json`),
  });
  const heard: Peer['heard'] = [];
  t.onHeartbeat((hb) => heard.push({ node_id: hb.node_id, incarnation: hb.incarnation, at_ms: Date.now() }));
  await t.start();
  t.announce({ from: node_id, modules: [{ module: 'm', state: 'PRIM' }] });
  return { t, heard };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Records every datagram node1's sockets send to node2 while `run` runs. */
async function recordTo(address: string, run: () => Promise<void>): Promise<Buffer[]> {
  const got: Buffer[] = [];
  const real = dgram.Socket.prototype.send;
  const spy = jest.spyOn(dgram.Socket.prototype, 'send').mockImplementation(function (this: dgram.Socket, ...args: unknown[]) {
    if (args[2] === address && Buffer.isBuffer(args[0])) got.push(Buffer.from(args[0]));
    return (real as (...a: unknown[]) => void).apply(this, args);
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return got;
}

async function replay(packets: readonly Buffer[], from: string): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind({ address: from, port: 0 }, () => r()));
  for (const [i, p] of packets.entries()) {
    await new Promise<void>((r) => s.send(p, PORT, N2, () => r()));
    if (i % 16 === 15) await sleep(2); // paced: the receiver's socket buffer must not overflow (drops would hide the figure)
  }
  await sleep(300);
  await new Promise<void>((r) => s.close(() => r()));
}

it(`refuses ${REPLAYED} recorded heartbeats replayed after the receiver restarted, from any address; the real sender is heard again at once`, async () => {
  let n1 = await peer('node1', N1, 'node2', N2, 1000);
  let n2 = await peer('node2', N2, 'node1', N1, 2000);
  const recorded = await recordTo(N2, () => sleep(REPLAYED * PERIOD_MS + 1500));
  expect(n2.heard.length).toBeGreaterThan(50); // the pair was talking while we recorded
  await n1.t.close(); // node1 is gone: whatever node2 hears of it now is a replay
  await n2.t.close();
  n2 = await peer('node2', N2, 'node1', N1, 2001);
  const packets = recorded.slice(-REPLAYED);

  await replay(packets, ATTACKER);
  const from_attacker = n2.heard.length;
  await replay(packets, N1); // node1's own address (a spoofed source is as easy on a LAN)
  const from_node1_address = n2.heard.length - from_attacker;
  process.stdout.write(`replayed ${packets.length} recorded heartbeats after node2 restarted: accepted ${from_attacker} from the attacker's address, ${from_node1_address} from node1's address\n`);
  const drops = n2.t.dropCounters();
  process.stdout.write(`node2 drop counters: ${JSON.stringify(Object.fromEntries(Object.entries(drops).filter(([, v]) => v > 0)))}\n`);
  expect(from_attacker).toBe(0);
  expect(from_node1_address).toBe(0);
  expect(drops.wrong_source).toBeGreaterThanOrEqual(packets.length);

  // node1 comes back (new incarnation): node2 hears it within a few periods.
  const back_at = Date.now();
  n1 = await peer('node1', N1, 'node2', N2, 1001);
  for (let i = 0; i < 50 && n2.heard.length === 0; i++) await sleep(PERIOD_MS);
  const first = n2.heard[0];
  expect(first).toMatchObject({ node_id: 'node1', incarnation: 1001 });
  process.stdout.write(`node1 restarted: heard by node2 after ${first!.at_ms - back_at} ms\n`);

  // node2 restarts again: node1's earlier life is below the durable floor.
  await n2.t.close();
  n2 = await peer('node2', N2, 'node1', N1, 2002);
  await n1.t.close();
  await replay(packets, N1);
  expect(n2.heard).toEqual([]);
  expect(n2.t.dropCounters().stale_incarnation).toBe(packets.length);
  await n2.t.close();
}, 30_000);
