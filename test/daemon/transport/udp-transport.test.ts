// Real UDP heartbeats between two network namespaces joined by a veth pair.
import { collectJsonLines, makePair, spawnIn, type NsPair } from '../helpers/netns';

const KEY = 'transport-test-key-0123456789abcdef';
const PORT = 7471;
let pair: NsPair | undefined;

beforeAll(() => {
  pair = makePair('tp', 201);
});
afterAll(() => pair?.destroy());

interface Line {
  hb?: { node_id: string; lan: number; seq: number; payload: { from: string } };
  drops?: Record<string, number>;
}

it('delivers authenticated heartbeats each period and counts garbage and wrong-key packets', async () => {
  const p = pair!;
  const n1 = spawnIn(p.a, 'test/daemon/helpers/transport-peer.ts', ['n1', p.addrA, 'n2', p.addrB, String(PORT), '4000', KEY]);
  const n2 = spawnIn(p.b, 'test/daemon/helpers/transport-peer.ts', ['n2', p.addrB, 'n1', p.addrA, String(PORT), '4000', KEY]);
  const c1 = collectJsonLines(n1);
  const c2 = collectJsonLines(n2);
  try {
    await new Promise((r) => setTimeout(r, 1200)); // both bound and exchanging
    const g = collectJsonLines(spawnIn(p.a, 'test/daemon/helpers/transport-peer.ts', ['n1', p.addrA, 'n2', p.addrB, String(PORT), '0', KEY, 'garbage']));
    expect(await g.exited).toBe(0);
    expect(await c1.exited).toBe(0);
    expect(await c2.exited).toBe(0);
  } finally {
    n1.kill('SIGKILL');
    n2.kill('SIGKILL');
  }
  const got2 = c2.lines as Line[];
  const hbs = got2.filter((l) => l.hb).map((l) => l.hb!);
  expect(hbs.length).toBeGreaterThan(5);
  expect(hbs.every((h) => h.node_id === 'n1' && h.lan === 0 && h.payload.from === 'n1')).toBe(true);
  const seqs = hbs.map((h) => h.seq);
  expect(new Set(seqs).size).toBe(seqs.length);
  const drops = got2.find((l) => l.drops)!.drops!;
  expect(drops.bad_magic).toBe(50);
  expect(drops.bad_mac).toBe(50);
  expect((c1.lines as Line[]).filter((l) => l.hb).length).toBeGreaterThan(5);
}, 30_000);
