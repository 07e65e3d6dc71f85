// The ALONE fence on real hakitd, through the heartbeats (docs/mirror.md, "The ALONE fence"):
// the replication LAN is cut while the nodes still see each other on a heartbeat-only LAN.
//   - PRIM keeps serving; its link goes ALONE and says why; the application's fsyncs are held
//     only until the SECOND announced its copy out of date (it persisted that first), then
//     acknowledged on PRIM alone;
//   - the SECOND says its copy is incomplete, and gives the silent connection up;
//   - PRIM then loses power: the SECOND, whose copy lacks acknowledged writes, does not take
//     over (WAIT: peer lost, copy incomplete); nobody serves a stale copy;
//   - the LAN healed and PRIM back: it serves its own (newest) copy, the SECOND is
//     re-integrated, and every acknowledged record is on both nodes.
import { MirrorLab, MODULE, until } from './helpers';

const LAB = 'tr';
/** The example's "fast" heartbeat profile declares a peer lost after 800 ms; the link's own
 *  timeouts (5 s ack, resume window) and the two heartbeats of the fence come on top. */
const FENCE_WAIT_MS = 30_000;
/** How long the SECOND is watched not taking over after PRIM's power cut: many heartbeat
 *  timeouts. */
const NO_TAKEOVER_WATCH_MS = 8_000;

let m: MirrorLab | undefined;

jest.setTimeout(10 * 60_000);

beforeAll(async () => {
  m = await MirrorLab.withDaemons(LAB, { heartbeatLan: true });
}, 120_000);

afterAll(async () => {
  await m?.down();
}, 120_000);

const fail = (): Promise<string> => m!.failureReport();

it('replication LAN cut: PRIM serves ALONE once the SECOND marked its copy out of date; PRIM power-cut then: the SECOND does not take over; PRIM back: nothing acknowledged lost', async () => {
  await m!.startPrimOnNode1(fail);

  const w = m!.startWriter('tr-');
  await until('writer acknowledged 20 records', async () => w.acked.length >= 20, 30_000, fail);

  // The replication link (LAN 0) cut both ways between the nodes; heartbeats go on over LAN 1.
  const before = w.acked.length;
  const t_cut = Date.now();
  await m!.lab.cut('node1', 'node2', { lan: 0 });
  await until('node2 says its copy is incomplete', async () => (await m!.state('node2'))?.copyComplete === false, FENCE_WAIT_MS, fail);
  await until('the writer acknowledged 20 records after the cut', async () => w.acked.length >= before + 20, FENCE_WAIT_MS, fail);
  // The longest pause between two acknowledgements around the cut: PRIM's link gives the
  // session up (its 5 s ack timeout, then the resume window), then the fence's heartbeats.
  const around = w.acked_at_ms.slice(before - 1);
  const held_ms = Math.max(...around.slice(1).map((t, i) => t - around[i]!));
  expect(held_ms).toBeLessThan(FENCE_WAIT_MS);
  const n1 = await m!.state('node1');
  expect(n1?.state === 'PRIM' || n1?.state === 'ALONE').toBe(true);
  // The SECOND says so too: its engine gave the silent connection up, and its copy is the
  // module's word (out of date), not the engine's last in_sync.
  await until('node2 state -v: copy incomplete, no PRIM connected', async () => /replication: copy incomplete, waiting for the PRIM to connect/.test((await m!.hakit('node2', ['state', '-m', MODULE, '-v'])).out), FENCE_WAIT_MS, fail);
  // PRIM says why it replicates nothing: the link's connection attempts meet the cut.
  const verbose = (await m!.hakit('node1', ['state', '-m', MODULE, '-v'])).out;
  expect(verbose).toMatch(/replication: (ALONE \(.+\), changes journaled for the SECOND|link to the SECOND lost \(.+\), trying to resume)/);

  // PRIM loses power, with acknowledged writes the SECOND lacks.
  const acked = [...w.acked];
  await m!.powerCut('node1');
  await m!.stopWriter(w);
  await until('node2 WAIT', async () => (await m!.state('node2'))?.state === 'WAIT', 30_000, fail);
  const t_watch = Date.now();
  while (Date.now() - t_watch < NO_TAKEOVER_WATCH_MS) {
    const s = await m!.state('node2');
    expect(s?.state).not.toBe('ALONE');
    expect(s?.state).not.toBe('PRIM');
    await new Promise((r) => setTimeout(r, 500));
  }
  const why = (await m!.sh('node2', `grep -a "SECOND -> WAIT" /var/log/hakit/modules/${MODULE}.log | tail -n 1`)).out.trim();
  expect(why).toMatch(/copy incomplete/);

  // The LAN healed, PRIM back: it serves its own copy; the SECOND is re-integrated.
  await m!.lab.heal();
  await m!.powerOnAndStart('node1');
  await until('hakitd on node1 answers', async () => (await m!.state('node1')) !== null, 30_000, fail);
  expect((await m!.hakit('node1', ['start', '-m', MODULE])).code).toBe(0);
  expect(await m!.primAndSecond()).toEqual(['node1', 'node2']);
  for (const h of ['node1', 'node2']) {
    const have = await m!.recordsOf(h, 'tr-');
    expect({ host: h, missing: acked.filter((n) => !have.has(n)) }).toEqual({ host: h, missing: [] });
  }
  expect((await m!.hakit('node1', ['rfsverify', '-m', MODULE])).code).toBe(0);
  process.stdout.write(`replication LAN cut at ${new Date(t_cut).toISOString()}: longest pause between acknowledgements ${held_ms} ms; ${acked.length} acknowledged in all, all on both nodes after PRIM's return\n${why}\n`);
});
