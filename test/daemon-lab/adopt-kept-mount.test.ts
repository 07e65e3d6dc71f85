// kill -9 of the mirror PRIM's hakitd under a write load, restarted the way hakitd.service does
// (Restart=on-failure, RestartSec=100ms) by fd-holder, the lab's stand-in for systemd's file
// descriptor store: the FUSE connection outlives the daemon, the restarted daemon serves it
// again, the application (same pid) only waits, no fsync-acknowledged write is missing on the
// SECOND, the VIP stays on the PRIM. (docs/adr/0009-fuse-mount-survives-daemon.md,
// docs/architecture.md "Restart and adoption".)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Lab } from '../lab';
import { hasAddr, hostPid, processAlive } from '../lab/testkit';
import { clusterXml, configureCluster, DAEMON, moduleState, mustHakit, NODE, packageAndInstall, ROOT, setMacro, startDetached, until, waitDaemon } from '../lab/demo/cluster-setup';

const LAB = 'adoptmount';
const NODES = ['node1', 'node2'] as const;
const MODULE = 'mirror_http';
const DATA = '/srv/mirror_http/data';
const WAIT_MS = 40_000;
/** Bounds of the load and of the kill rounds. */
const ROUNDS = 3;
const LOAD_S = 9;
const KILL_AFTER_MS = 3_000;
const HOLDER = path.join(ROOT, 'dist', 'lab-bin', 'fd-holder');
let lab: Lab;

const notifySocket = (host: string): string => `/run/hakit-lab-${host}.notify`;
const pidFile = (host: string): string => `/run/hakit-lab-${host}.hakitd.pid`;

/** What the PRIM's daemon said, for a failure message. */
async function diagnostics(): Promise<string> {
  const out = (await lab.exec('node1', ['sh', '-c', 'tail -n 40 /var/log/hakit/hakitd.out; grep -h -i -E "adopt|capture|mount|fuse|engine" /var/log/hakit/modules/mirror_http.log | tail -n 30; ls -la /run/hakit/fuse']));
  return out.stdout + out.stderr;
}

/** hakitd under fd-holder: NOTIFY_SOCKET, the fd store, restart on failure after 100 ms (hakitd.service). */
function startUnderHolder(host: string): Promise<number> {
  return startDetached(lab, host, [HOLDER, '--socket', notifySocket(host), '--pidfile', pidFile(host), '--restart-ms', '100', '--max-starts', '10', '--',
    NODE, DAEMON, '--node', host, '--log-level', 'info'], '/var/log/hakit/hakitd.out');
}

/**
 * The application side's load: appends 64-byte records "seq N" to a file in the mirror
 * directory, each followed by fsync; every fsync that returned is logged (seq, latency ms) in
 * a file outside the mount. Bounded by LOAD_S seconds.
 */
const WRITER = `
import os, sys, time
f = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
out = open(sys.argv[2], 'w')
start, end, seq = int(sys.argv[3]), time.time() + float(sys.argv[4]), int(sys.argv[3])
while time.time() < end:
    t = time.time()
    os.write(f, (b'seq %d' % seq).ljust(63) + b'\\n')
    os.fsync(f)
    out.write('%d %.1f\\n' % (seq, (time.time() - t) * 1000)); out.flush()
    seq += 1
    time.sleep(0.005)
os.close(f)
out.write('done %d\\n' % seq); out.flush()
`;

beforeAll(async () => {
  fs.mkdirSync(path.dirname(HOLDER), { recursive: true });
  execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', HOLDER, path.join(__dirname, 'fd-holder.c')]);
  await Lab.destroy(LAB);
  lab = await Lab.up({ name: LAB, nodes: 2, client: true, lans: 1 });
  await configureCluster(lab, NODES, clusterXml(lab, 'adoptmount', NODES, [{ name: 'default', lan: 0 }]), NODES);
  // The default heartbeat profile (timeout 2.5 s): a restart (RestartSec=100ms + start) comes
  // back before the SECOND counts its PRIM lost (with "fast", 800 ms, it would fail over).
  await packageAndInstall(lab, NODES, path.join(ROOT, 'modules', 'examples', MODULE), MODULE,
    (x) => setMacro(x, 'VIRTUAL_IP', lab.spareAddr(0, 52)).replace('<heart profile="fast">', '<heart profile="default">'));
  for (const n of NODES) expect((await lab.exec(n, ['mkdir', '-p', DATA])).code).toBe(0);
  for (const n of NODES) await startUnderHolder(n);
  for (const n of NODES) expect(await waitDaemon(lab, n, WAIT_MS)).toBe(true);
  for (const n of NODES) await mustHakit(lab, n, ['start', '-m', MODULE]);
  await mustHakit(lab, 'node1', ['prim', '-m', MODULE]);
  await mustHakit(lab, 'node2', ['second', '-m', MODULE]);
  expect(await until(async () => (await moduleState(lab, 'node1', MODULE))?.state === 'PRIM' && (await moduleState(lab, 'node2', MODULE))?.status === 'Ready' && (await moduleState(lab, 'node2', MODULE))?.state === 'SECOND', WAIT_MS)).toBe(true);
}, 180_000);

afterAll(async () => {
  await Lab.destroy(LAB);
}, 60_000);

test('kill -9 of the mirror PRIM\'s hakitd under load: mount kept, application untouched, nothing acknowledged lost', async () => {
  const vip = lab.spareAddr(0, 52);
  const appPid = await hostPid(lab, 'node1', `/run/hakit/${MODULE}/${MODULE}.pid`);
  expect(await processAlive(lab, 'node1', appPid)).toBe(true);
  const pauses_ms: number[] = [];
  let seq = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const ack = `/var/tmp/hakit-adoptmount-acks-${round}.txt`;
    const writer = lab.exec('node1', ['python3', '-c', WRITER, `${DATA}/load.log`, ack, String(seq), String(LOAD_S)], { timeout_ms: (LOAD_S + 30) * 1000 });
    await new Promise((r) => setTimeout(r, KILL_AFTER_MS));
    const daemon = await hostPid(lab, 'node1', pidFile('node1'));
    expect((await lab.exec('node1', ['kill', '-9', String(daemon)])).code).toBe(0);
    const w = await writer;
    if (w.code !== 0) throw new Error(`round ${round}: the writer failed: ${w.stderr.trim()}\n${await diagnostics()}`);
    const lines = (await lab.exec('node1', ['cat', ack])).stdout.trim().split('\n');
    const done = lines.pop() ?? '';
    expect(done).toMatch(/^done \d+$/);
    const latencies = lines.map((l) => Number(l.split(' ')[1]));
    pauses_ms.push(Math.max(...latencies));
    seq = Number(done.split(' ')[1]);
    // A new daemon serves the module again: still PRIM here, the SECOND back in sync.
    expect(await hostPid(lab, 'node1', pidFile('node1'))).not.toBe(daemon);
    const settled = async (): Promise<boolean> =>
      (await moduleState(lab, 'node1', MODULE))?.state === 'PRIM' &&
      (await moduleState(lab, 'node2', MODULE))?.state === 'SECOND' && (await moduleState(lab, 'node2', MODULE))?.status === 'Ready';
    if (!(await until(settled, WAIT_MS))) throw new Error(`round ${round}: not back to PRIM/SECOND\n${await diagnostics()}`);
    const log = (await lab.exec('node1', ['cat', `/var/log/hakit/modules/${MODULE}.log`])).stdout;
    expect(log).toMatch(/the capture mount outlived hakitd, application left running/);
    expect(await processAlive(lab, 'node1', appPid)).toBe(true);
    expect(await hostPid(lab, 'node1', `/run/hakit/${MODULE}/${MODULE}.pid`)).toBe(appPid);
  }
  // Every acknowledged record is on the SECOND, and both copies are the same bytes.
  expect(await until(async () => {
    const a = await lab.exec('node1', ['sha256sum', `${DATA}/load.log`]);
    const b = await lab.exec('node2', ['sha256sum', `${DATA}/load.log`]);
    return a.code === 0 && a.stdout.split(' ')[0] === b.stdout.split(' ')[0];
  }, WAIT_MS)).toBe(true);
  const second = (await lab.exec('node2', ['cat', `${DATA}/load.log`])).stdout.split('\n').filter((l) => l.length > 0);
  expect(second.length).toBe(seq);
  second.forEach((l, i) => expect(l.trimEnd()).toBe(`seq ${i}`));
  // The VIP stayed with the PRIM.
  expect(await hasAddr(lab, 'node1', vip)).toBe(true);
  expect(await hasAddr(lab, 'node2', vip)).toBe(false);
  const sorted = [...pauses_ms].sort((x, y) => x - y);
  process.stdout.write(`kept mount: ${ROUNDS} kill -9 of the PRIM's hakitd under fsync load; longest fsync per round ${pauses_ms.map((p) => p.toFixed(0)).join(', ')} ms (median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)}, max ${sorted[sorted.length - 1]!.toFixed(0)}); ${seq} records, all on the SECOND\n`);
}, 300_000);
