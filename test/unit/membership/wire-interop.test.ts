// Two real UdpTransports on loopback that speak different heartbeat wire versions (a rolling
// upgrade in miniature): they settle on the highest common version and hear each other; with
// no version in common each reports the other once (HAKIT_E_WIRE_INCOMPATIBLE), hears nothing
// of it and keeps running.
import dgram from 'node:dgram';
import { RecordingLog } from '../../../core/log/sink';
import { UdpTransport } from '../../../core/membership/transport/udp-transport';
import type { WireRange } from '../../../core/membership/wire/pure/negotiate';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const PERIOD_MS = 50;
/** Convergence takes a round trip or two; bounded generously for a loaded CI box. */
const SETTLE_MS = 5_000;
/** Heartbeats sent while incompatible (at 50 ms): many packets, one report each. */
const INCOMPATIBLE_RUN_MS = 1_000;

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind({ address: '127.0.0.1', port: 0 }, () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Node {
  readonly t: UdpTransport<unknown>;
  readonly log: RecordingLog;
  readonly heard: unknown[];
}

async function pair(a: WireRange, b: WireRange): Promise<[Node, Node]> {
  const [pa, pb] = [await freePort(), await freePort()];
  const make = (id: string, port: number, peer: string, peer_port: number, wire_range: WireRange): Node => {
    const log = new RecordingLog();
    const heard: unknown[] = [];
    const t = new UdpTransport<unknown>({
      node_id: id,
      incarnation: 1,
      key: KEY,
      lans: [{ index: 0, local_address: '127.0.0.1', port, peers: [{ node_id: peer, address: '127.0.0.1', port: peer_port }] }],
      period_ms: PERIOD_MS,
      parsePayload: (j) => j,
      log,
      wire_range,
    });
    t.onHeartbeat((hb) => heard.push(hb.payload));
    return { t, log, heard };
  };
  const na = make('node1', pa, 'node2', pb, a);
  const nb = make('node2', pb, 'node1', pa, b);
  await na.t.start();
  await nb.t.start();
  na.t.announce({ from: 'node1' });
  nb.t.announce({ from: 'node2' });
  return [na, nb];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, wait_ms: number): Promise<boolean> {
  const deadline = Date.now() + wait_ms;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

const incompatibleLines = (n: Node) => n.log.lines.filter((l) => (l.obj as { code?: string }).code === 'HAKIT_E_WIRE_INCOMPATIBLE');

describe('heartbeat wire versions between two transports on loopback', () => {
  let nodes: Node[] = [];
  afterEach(async () => {
    for (const n of nodes) await n.t.close();
    nodes = [];
  });

  it.each([
    ['a new node (2..3) and one that speaks 2 only', { min: 2, max: 3 }, { min: 2, max: 2 }, 2],
    ['two new nodes (2..3)', { min: 2, max: 3 }, { min: 2, max: 3 }, 3],
    ['a node that speaks 3 only and a new one', { min: 3, max: 3 }, { min: 2, max: 3 }, 3],
  ])('%s settle on the highest common version and hear each other', async (_name, a, b, version) => {
    nodes = await pair(a, b);
    const [na, nb] = nodes as [Node, Node];
    const settled = () => na.t.wireStatus().peers['node2']?.version === version && nb.t.wireStatus().peers['node1']?.version === version;
    expect(await until(settled, SETTLE_MS)).toBe(true);
    const [ha, hb] = [na.heard.length, nb.heard.length];
    // Both keep hearing each other at the settled version.
    expect(await until(() => na.heard.length > ha + 3 && nb.heard.length > hb + 3, SETTLE_MS)).toBe(true);
    expect(na.heard.at(-1)).toEqual({ from: 'node2' });
    expect(nb.heard.at(-1)).toEqual({ from: 'node1' });
    expect(incompatibleLines(na)).toEqual([]);
    expect(incompatibleLines(nb)).toEqual([]);
  });

  it('with no version in common: each reports the other once, hears nothing of it, keeps running', async () => {
    nodes = await pair({ min: 3, max: 3 }, { min: 2, max: 2 });
    const [na, nb] = nodes as [Node, Node];
    expect(await until(() => incompatibleLines(na).length > 0 && incompatibleLines(nb).length > 0, SETTLE_MS)).toBe(true);
    await sleep(INCOMPATIBLE_RUN_MS);
    expect(incompatibleLines(na)).toHaveLength(1);
    expect(incompatibleLines(nb)).toHaveLength(1);
    expect(incompatibleLines(na)[0]?.msg).toContain('node node2 speaks heartbeat wire version 2, this node 3');
    expect(na.heard).toEqual([]);
    expect(nb.heard).toEqual([]);
    expect(na.t.wireStatus()).toEqual({ own: { min: 3, max: 3 }, peers: { node2: { range: { min: 2, max: 2 }, version: null } } });
    expect(nb.t.wireStatus().peers['node1']).toEqual({ range: { min: 3, max: 3 }, version: null });
    // Many packets arrived, each counted as a version this node does not speak.
    expect(na.t.dropCounters().unsupported_version).toBeGreaterThan(5);
    expect(nb.t.dropCounters().unsupported_version).toBeGreaterThan(5);
    // The transports still work: announcing again does not throw.
    na.t.announce({ from: 'node1', again: true });
  });
});
