// Hostile peer, issue 15 item 4: lease requests of node1 recorded on the wire and replayed to
// the witness after the witness restarted. A real WitnessServer and UdpWitnessClient on
// loopback addresses (127.0.0.x); the recording is what node1's client socket sent.
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WitnessServer } from '../../core/witness/server';
import { UdpWitnessClient } from '../../core/witness/client';
import { SILENT_LOG } from '../../core/log/sink';
import { HeartbeatDecoder } from '../../core/membership/wire/codec';
import { parseWitnessReply, WITNESS_CHANNEL } from '../../core/witness/protocol';

const KEY = Buffer.from('hostile-witness-key-0123456789abcdef');
const WITNESS = '127.0.0.81';
const ATTACKER = '127.0.0.83';
const NODE1 = '127.0.0.1'; // the client socket binds the wildcard: loopback traffic leaves from 127.0.0.1
const PORT = 17_481;
const REQUESTS = 40;

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-hostile-wit-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function witness(nodes?: Record<string, string[]>): Promise<WitnessServer> {
  const w = new WitnessServer({ address: WITNESS, port: PORT, key: KEY, lease_ms: 3000, state_file: path.join(dir, 'witness.json'), log: SILENT_LOG, ...(nodes ? { nodes } : {}) });
  await w.start();
  return w;
}

/** Replays the packets from `from` and returns the replies it received (decoded loosely: any authentic reply counts). */
async function replay(packets: readonly Buffer[], from: string): Promise<{ replies: number; decisions: number }> {
  const s = dgram.createSocket('udp4');
  const dec = new HeartbeatDecoder(KEY, 'node1', parseWitnessReply);
  let replies = 0;
  let decisions = 0;
  s.on('message', (buf) => {
    replies++;
    const r = dec.decode(buf, WITNESS_CHANNEL);
    const reply = r.ok ? r.heartbeat.payload : r.unverified?.payload;
    if (reply && reply.reason !== 'challenge') decisions++;
  });
  await new Promise<void>((r) => s.bind({ address: from, port: 0 }, () => r()));
  for (const p of packets) {
    await new Promise<void>((r) => s.send(p, PORT, WITNESS, () => r()));
    await sleep(2);
  }
  await sleep(300);
  await new Promise<void>((r) => s.close(() => r()));
  return { replies, decisions };
}

it(`answers none of ${REQUESTS} recorded lease requests replayed after a witness restart; the real node is granted at once`, async () => {
  let w = await witness({ node1: [NODE1] });
  const client = new UdpWitnessClient({ node_id: 'node1', incarnation: 500, key: KEY, address: WITNESS, port: PORT, log: SILENT_LOG });
  await client.start();
  const recorded: Buffer[] = [];
  const real = dgram.Socket.prototype.send;
  const spy = jest.spyOn(dgram.Socket.prototype, 'send').mockImplementation(function (this: dgram.Socket, ...args: unknown[]) {
    if (args[2] === WITNESS && Buffer.isBuffer(args[0])) recorded.push(Buffer.from(args[0]));
    return (real as (...a: unknown[]) => void).apply(this, args);
  });
  try {
    for (let id = 1; id <= REQUESTS; id++) expect((await client.request('m', { request_id: id, epoch: 1, force: false, bump: false, lease_ms: 3000 })).granted).toBe(true);
  } finally {
    spy.mockRestore();
  }
  await client.close(); // node1 dies; its lease must run out
  await w.close();
  w = await witness({ node1: [NODE1] });

  const from_attacker = await replay(recorded, ATTACKER);
  const from_node1 = await replay(recorded, NODE1);
  process.stdout.write(`replayed ${recorded.length} recorded requests after the witness restarted: attacker's address got ${from_attacker.replies} replies (${from_attacker.decisions} decisions), node1's address ${from_node1.replies} replies (${from_node1.decisions} decisions)\n`);
  process.stdout.write(`witness drop counters: ${JSON.stringify(Object.fromEntries(Object.entries(w.dropCounters()).filter(([, v]) => v > 0)))}\n`);
  expect(from_attacker.replies).toBe(0);
  expect(from_node1.decisions).toBe(0);

  // node1 restarts (new incarnation): its first request is decided after one challenge round.
  const again = new UdpWitnessClient({ node_id: 'node1', incarnation: 501, key: KEY, address: WITNESS, port: PORT, log: SILENT_LOG });
  await again.start();
  const t0 = Date.now();
  const g = await again.request('m', { request_id: 1, epoch: 1, force: false, bump: false, lease_ms: 3000 });
  process.stdout.write(`node1 restarted: first request answered in ${Date.now() - t0} ms (granted ${g.granted})\n`);
  expect(typeof g.granted).toBe('boolean');
  await again.close();
  await w.close();

  // The witness restarts again: node1's first life is below its durable floor.
  w = await witness({ node1: [NODE1] });
  await replay(recorded, NODE1);
  expect(w.dropCounters().stale_incarnation).toBe(recorded.length);
  await w.close();
}, 30_000);
