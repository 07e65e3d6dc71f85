// The ALONE fence during a hand-over, on real hakitd (docs/mirror.md, "The ALONE fence": "A
// session lost while the application stops"). node1's stop_prim makes the application's last
// writes (an fsync'd record every 100 ms for a while, as a database flushing at shutdown) and
// the replication LAN is cut just after `swap`, while the nodes still see each other on a
// heartbeat-only LAN:
//   - the module machine no longer hears its engine during the stop, but the fence holds:
//     the fsyncs made after the cut return only once node2 marked its copy out of date;
//   - node2 therefore does not take over with its older copy: the swap gives way and node1,
//     the only complete copy, serves again;
//   - the LAN healed, node2 is re-integrated and every acknowledged record is on both nodes.
// The module sets <rfs acktimeout="2s">: the pause is bounded by it, not by the 5 s default.
// Before the fix, the fence was released at once: node2 took over without the records whose
// fsync had returned after the cut.
import { DATA_DIR, MirrorLab, MODULE, NODE, PAD, until } from './helpers';

const LAB = 'tsw';
const MODULE_BIN = `/var/lib/hakit/modules/${MODULE}/bin`;
const SHUTDOWN_LOG = `${DATA_DIR}/shutdown.log`;
/** Node-local, outside the replicated directory: one line per record whose fsync returned. */
const ACKS = '/var/log/hakit/shutdown-acks.log';
/** The shutdown writes last longer than PRIM's link takes to give its session up (its ack
 *  timeout, then the resume window) plus the fence's heartbeats. */
const SHUTDOWN_RECORDS = 120;
const SHUTDOWN_PERIOD_MS = 100;
/** `<rfs acktimeout>` of this lab: shorter than the link's default (5 s), so the pause below
 *  shows the option reaches the engine. */
const ACK_TIMEOUT_MS = 2_000;

let m: MirrorLab | undefined;

jest.setTimeout(10 * 60_000);

beforeAll(async () => {
  m = await MirrorLab.withDaemons(LAB, { heartbeatLan: true, rfsAttrs: `acktimeout="${ACK_TIMEOUT_MS / 1000}s"` });
  // node1's stop_prim: the application's shutdown writes first, then the example's stop.
  const writer = `const fs = require('fs');
let i = 0;
const t = setInterval(() => {
  if (++i > ${SHUTDOWN_RECORDS}) { clearInterval(t); return; }
  try {
    const fd = fs.openSync('${SHUTDOWN_LOG}', 'a');
    fs.writeSync(fd, 'sd-' + i + '-${PAD}\\n');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.appendFileSync('${ACKS}', 'ack ' + i + ' ' + Date.now() + '\\n');
  } catch (e) {
    fs.appendFileSync('${ACKS}', 'err ' + i + ' ' + e.code + '\\n');
  }
}, ${SHUTDOWN_PERIOD_MS});
`;
  const wrapper = `#!/bin/bash
[ "\${1:-}" = "-force" ] || ${NODE} ${MODULE_BIN}/shutdown-writes.js
exec ${MODULE_BIN}/stop_prim.example "$@"
`;
  const r = await m.sh('node1', `mv ${MODULE_BIN}/stop_prim ${MODULE_BIN}/stop_prim.example && cat > ${MODULE_BIN}/shutdown-writes.js <<'EOF'
${writer}EOF
cat > ${MODULE_BIN}/stop_prim <<'EOF'
${wrapper}EOF
chmod 755 ${MODULE_BIN}/stop_prim`);
  if (r.code !== 0) throw new Error(`installing the shutdown writer: ${r.err}`);
}, 120_000);

afterAll(async () => {
  await m?.down();
}, 120_000);

const fail = (): Promise<string> => m!.failureReport();

it('swap with the replication LAN cut during stop_prim: the shutdown fsyncs return only once node2 marked its copy out of date; node2 does not take over; nothing acknowledged lost', async () => {
  await m!.startPrimOnNode1(fail);

  expect((await m!.hakit('node1', ['swap', '-m', MODULE, '--no-wait'])).code).toBe(0);
  await until('the shutdown writes began', async () => /^ack /m.test((await m!.sh('node1', `cat ${ACKS} 2>/dev/null || true`)).out), 10_000, fail);
  const t_cut = Date.now();
  await m!.lab.cut('node1', 'node2', { lan: 0 });

  // The swap gives way: node2's copy is marked out of date, it never serves; node1 serves again.
  let node2Served = '';
  await until('node1 serves again', async () => {
    const s2 = await m!.state('node2');
    if (s2?.state === 'ALONE' || s2?.state === 'PRIM') node2Served = `${s2.state}/${s2.status}`;
    return (await m!.is('node1', 'ALONE')) || (await m!.is('node1', 'PRIM'));
  }, 90_000, fail);
  expect(node2Served).toBe('');
  expect((await m!.state('node2'))?.copyComplete).toBe(false);
  const why = (await m!.sh('node1', `grep -a "WAIT -> ALONE" /var/log/hakit/modules/${MODULE}.log | tail -n 1`)).out.trim();

  const acks = (await m!.sh('node1', `cat ${ACKS}`)).out.split('\n').filter((l) => l.startsWith('ack '));
  const acked = acks.map((l) => Number(l.split(' ')[1]));
  const acked_at_ms = acks.map((l) => Number(l.split(' ')[2]));
  const afterCut = acked_at_ms.filter((t) => t > t_cut).length;
  // The cut took effect during the stop: the fsyncs were held (PRIM's link gave its session
  // up, then the fence's heartbeats), then went on returning once the fence held.
  const held_ms = Math.max(...acked_at_ms.slice(1).map((t, i) => t - acked_at_ms[i]!));
  expect(held_ms).toBeGreaterThan(ACK_TIMEOUT_MS);
  // <rfs acktimeout> took effect: with the default 5 s ack timeout the pause alone would be longer.
  expect(held_ms).toBeLessThan(5_000);
  expect(afterCut).toBeGreaterThan(0);
  expect(acked_at_ms[acked_at_ms.length - 1]!).toBeGreaterThan(t_cut + held_ms);

  await m!.lab.heal();
  expect(await m!.primAndSecond()).toEqual(['node1', 'node2']);
  for (const h of ['node1', 'node2']) {
    const have = await m!.recordsOf(h, 'sd-', SHUTDOWN_LOG);
    expect({ host: h, missing: acked.filter((n) => !have.has(n)) }).toEqual({ host: h, missing: [] });
  }
  expect((await m!.hakit('node1', ['rfsverify', '-m', MODULE])).code).toBe(0);
  process.stdout.write(`swap, replication LAN cut during stop_prim at ${new Date(t_cut).toISOString()}: ${acked.length} shutdown fsyncs acknowledged (${afterCut} after the cut; the longest pause ${held_ms} ms), all on both nodes; node2 never served\n${why}\n`);
});
