// Test peer: runs a real UdpTransport in the current network namespace for a bounded time,
// prints each received heartbeat and, at the end, the drop counters, as JSON lines.
// argv: node_id local_addr peer_id peer_addr port run_ms key [mode]
// mode "garbage": instead of a transport, send garbage and wrong-key packets to the peer.
import dgram from 'node:dgram';
import { UdpTransport } from '../../../core/membership/transport/udp-transport';
import { HeartbeatEncoder } from '../../../core/membership/wire/codec';
import { SILENT_LOG } from '../../../core/log/sink';

const [node_id = '', local_address = '', peer_id = '', peer_addr = '', port_s = '0', run_ms_s = '0', key_s = '', mode = 'transport'] = process.argv.slice(2);
const port = Number(port_s);
const run_ms = Number(run_ms_s);

async function garbage(): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind({ address: local_address, port: port + 1 }, () => r()));
  const wrong = new HeartbeatEncoder(Buffer.from('wrong-key-wrong-key-wrong-key!!'), node_id, 1);
  for (let i = 0; i < 50; i++) {
    s.send(Buffer.from(`garbage ${i}`), port, peer_addr);
    s.send(wrong.encode(0, { modules: [] }), port, peer_addr);
  }
  await new Promise((r) => setTimeout(r, 200));
  s.close();
}

async function transport(): Promise<void> {
  const t = new UdpTransport<unknown>({
    node_id,
    incarnation: 1,
    key: Buffer.from(key_s),
    lans: [{ index: 0, local_address, port, peers: [{ node_id: peer_id, address: peer_addr, port }] }],
    period_ms: 50,
    parsePayload: (j) => j,
    log: SILENT_LOG,
  });
  t.onHeartbeat((hb) => process.stdout.write(JSON.stringify({ hb }) + '\n'));
  await t.start();
  t.announce({ from: node_id, modules: [{ name: 'm1', state: 'PRIM' }] });
  await new Promise((r) => setTimeout(r, run_ms));
  process.stdout.write(JSON.stringify({ drops: t.dropCounters() }) + '\n');
  await t.close();
}

(mode === 'garbage' ? garbage() : transport()).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(String(e instanceof Error ? e.stack : e));
    process.exit(1);
  },
);
