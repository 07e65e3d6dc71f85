// Re-integration is visible (issue 16, item 6), in the lab with the real hakitd: the SECOND is
// stopped, the PRIM (now ALONE) writes a few hundred MiB, the SECOND comes back. From the
// first second of the pass `hakit state -v`, `hakit collect` and the API (`hakit -H node1`,
// which goes through node1's HTTPS API and its replication route) show bytes pending > 0,
// then shipped bytes rising, a rate and an ETA, and at the end pending 0.
// The module's <rfs bandwidth="64M"> caps re-integration (a documented knob), so the pass
// lasts a few seconds whatever the machine, long enough to sample it several times.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { MirrorLab, MODULE, DATA_DIR, NODE, REPO_ROOT, onLines, until } from './helpers';
import { provisionApi } from '../api/lab/provision';

const LAB = 'tmr';
const WRITE_MIB = 320;
const CAP = '64M';
/** How often the in-node poller asks the control socket. */
const POLL_MS = 100;
/** The poller's bound (the pass takes ~5 s at the cap). */
const POLL_MAX_MS = 90_000;

let m: MirrorLab | undefined;
let poller: ChildProcess | undefined;

jest.setTimeout(10 * 60_000);

const fail = (): Promise<string> => (async () => `node1:\n${await m!.logTail('node1')}\nnode2:\n${await m!.logTail('node2')}`)();

beforeAll(async () => {
  m = await MirrorLab.up(LAB);
  await provisionApi(m.lab, ['node1', 'node2'], [0], 'tm');
  for (const h of ['node1', 'node2']) {
    const file = `/var/lib/hakit/modules/${MODULE}/conf/userconfig.xml`;
    const text = (await m.sh(h, `cat ${file}`)).out;
    await m.write(h, file, text.replace('<rfs async="none"', `<rfs bandwidth="${CAP}" async="none"`));
    m.startDaemon(h);
  }
  await until('daemons answer', async () => (await m!.state('node1')) !== null && (await m!.state('node2')) !== null, 30_000, async () => (await m!.sh('node1', 'tail -n 30 /var/log/hakit/hakitd.log; ls -la /etc/hakit /etc/hakit/tls')).out);
}, 180_000);

afterAll(async () => {
  if (poller && poller.exitCode === null) poller.kill('SIGKILL');
  await m?.down();
}, 120_000);

interface Sample {
  readonly t: number;
  readonly link: string | null;
  readonly last: { state?: string; pending_bytes?: number; shipped_bytes?: number; rate_bytes_per_s?: number; eta_s?: number | null } | null;
}

/** Polls node1's control socket every POLL_MS; one JSON line per answer. */
function startPoller(): { samples: Sample[]; child: ChildProcess } {
  const client = JSON.stringify(path.join(REPO_ROOT, 'dist/core/control/client.js'));
  const paths = JSON.stringify(path.join(REPO_ROOT, 'dist/core/control/paths.js'));
  const js = `const c=require(${client});const p=require(${paths});const t0=Date.now();
async function loop(){while(Date.now()-t0<${POLL_MAX_MS}){try{const r=await c.controlRequest(p.controlSocketPath(process.env),'mirrorstatus',{module:'${MODULE}'},2000);console.log(JSON.stringify({t:Date.now(),link:r.link,last:r.last}))}catch(e){}await new Promise((r)=>setTimeout(r,${POLL_MS}))}}
loop();`;
  const child = m!.lab.spawn('node1', [NODE, '-e', js], { stdio: ['ignore', 'pipe', 'ignore'] });
  const samples: Sample[] = [];
  onLines(child.stdout!, (l) => {
    try {
      samples.push(JSON.parse(l) as Sample);
    } catch {
      /* a torn line: skip */
    }
  });
  return { samples, child };
}

/** "pending 1.2 GiB in 3 files, shipped 10 MiB  rate 64 MiB/s  eta 5 s" -> bytes of pending and shipped. */
function parseLine(out: string): { pending: number; shipped: number; eta: string; rate: boolean } | null {
  const x = /re-integrating[^:]*: pending ([\d.]+) (B|KiB|MiB|GiB)[^,]*, shipped ([\d.]+) (B|KiB|MiB|GiB)( {2}rate [^ ]+ [^ ]+)? {2}eta (\S+)/.exec(out);
  if (!x) return null;
  const unit = (u: string): number => ({ B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 })[u] ?? 1;
  return { pending: Number(x[1]) * unit(x[2]!), shipped: Number(x[3]) * unit(x[4]!), rate: x[5] !== undefined, eta: x[6]! };
}

it('shows pending bytes within 1 s of the SECOND coming back, then shipped bytes rising, rate and ETA, then pending 0', async () => {
  for (const h of ['node1', 'node2']) expect((await m!.hakit(h, ['boot', 'on', '-m', MODULE])).code).toBe(0);
  for (const h of ['node1', 'node2']) expect((await m!.hakit(h, ['start', '-m', MODULE])).code).toBe(0);
  await m!.hakit('node1', ['prim', '-m', MODULE]);
  await until('node1 ALONE or PRIM', async () => (await m!.is('node1', 'ALONE')) || (await m!.is('node1', 'PRIM')), 30_000, fail);
  await m!.hakit('node2', ['second', '-m', MODULE]);
  await until('node1 PRIM, node2 SECOND', async () => (await m!.is('node1', 'PRIM')) && (await m!.is('node2', 'SECOND')), 90_000, fail);

  // SECOND away; PRIM writes WRITE_MIB while ALONE (journaled as dirty ranges).
  expect((await m!.hakit('node2', ['stop', '-m', MODULE])).code).toBe(0);
  await until('node1 ALONE', () => m!.is('node1', 'ALONE'), 30_000, fail);
  const wr = await m!.sh('node1', `dd if=/dev/urandom of=${DATA_DIR}/big.bin bs=1M count=${WRITE_MIB} conv=fsync status=none && echo ok`, 120_000);
  expect(wr.out.trim()).toBe('ok');
  expect((await m!.hakit('node1', ['state', '-v', '-m', MODULE])).out).toMatch(/replication: ALONE/);

  const p = startPoller();
  poller = p.child;
  const t_start = Date.now();
  expect((await m!.hakit('node2', ['start', '-m', MODULE, '--no-wait'])).code).toBe(0);

  // While the pass runs: the CLI (local control socket), the API (-H node1) and collect.
  const cli: Array<NonNullable<ReturnType<typeof parseLine>>> = [];
  const api: Array<NonNullable<ReturnType<typeof parseLine>>> = [];
  let collected: { pending_bytes: number | null; shipped_bytes: number | null; phase: string } | null = null;
  await until(
    'node1 back in sync (SECOND Ready)',
    async () => {
      const [local, remote] = await Promise.all([m!.hakit('node1', ['state', '-v', '-m', MODULE], 10_000), m!.hakit('node1', ['-H', 'node1', 'state', '-v', '-m', MODULE], 10_000)]);
      const a = parseLine(local.out);
      const b = parseLine(remote.out);
      if (a) cli.push(a);
      if (b) api.push(b);
      if (!collected && a) {
        const c = await m!.hakit('node1', ['collect', '-m', MODULE], 10_000);
        const j = JSON.parse(c.out) as { modules: Array<{ replication?: { pending_bytes: number | null; shipped_bytes: number | null; phase: string } }> };
        collected = j.modules[0]?.replication ?? null;
      }
      return (await m!.is('node2', 'SECOND')) && (await m!.is('node1', 'PRIM'));
    },
    120_000,
    fail,
  );
  const resync_ms = Date.now() - t_start;
  await new Promise((r) => setTimeout(r, 3 * POLL_MS));
  p.child.kill('SIGTERM');

  const total = WRITE_MIB * 1024 * 1024;
  const up = p.samples.findIndex((s) => s.last?.state === 'connected' || s.last?.state === 'syncing');
  expect(up).toBeGreaterThanOrEqual(0);
  const syncing = p.samples.filter((s) => s.last?.state === 'syncing');
  expect(syncing.length).toBeGreaterThan(3);
  const first = syncing[0]!;
  // Known before the first byte ships: the first progress already counts everything to send.
  expect(first.last!.pending_bytes!).toBeGreaterThanOrEqual(total);
  expect(first.t - p.samples[up]!.t).toBeLessThanOrEqual(1000);
  // Shipped bytes rise while pending falls; a rate and an ETA appear.
  const shipped = syncing.map((s) => s.last!.shipped_bytes ?? 0);
  for (let i = 1; i < shipped.length; i++) expect(shipped[i]!).toBeGreaterThanOrEqual(shipped[i - 1]!);
  expect(shipped[shipped.length - 1]!).toBeGreaterThan(shipped[0]!);
  expect(syncing.some((s) => (s.last!.rate_bytes_per_s ?? 0) > 0 && typeof s.last!.eta_s === 'number' && s.last!.eta_s > 0)).toBe(true);
  const after = p.samples[p.samples.length - 1]!;
  expect(after.last?.state).toBe('in_sync');

  // The operator's views saw the same pass.
  expect(cli.length).toBeGreaterThan(0);
  expect(api.length).toBeGreaterThan(0);
  expect(cli.some((x) => x.pending > 0)).toBe(true);
  expect(api.some((x) => x.pending > 0)).toBe(true);
  expect([...cli, ...api].some((x) => x.rate && x.eta !== '?')).toBe(true);
  expect(collected).not.toBeNull();
  expect(collected!.phase).toBe('reintegrating');
  expect(collected!.pending_bytes!).toBeGreaterThan(0);
  const end = await m!.hakit('node1', ['state', '-v', '-m', MODULE]);
  expect(end.out).toMatch(/replication: in sync/);
  const endApi = await m!.hakit('node1', ['-H', 'node1', 'state', '-v', '-m', MODULE]);
  expect(endApi.out).toMatch(/replication: in sync/);

  const rates = syncing.map((s) => s.last!.rate_bytes_per_s ?? 0).filter((r) => r > 0);
  process.stdout.write(
    `re-integration progress: ${WRITE_MIB} MiB pending, first progress ${first.t - p.samples[up]!.t} ms after the link came up with pending ${first.last!.pending_bytes} B; ` +
      `${syncing.length} progress samples, shipped ${shipped[0]} -> ${shipped[shipped.length - 1]} B, rate ${Math.min(...rates)}-${Math.max(...rates)} B/s (cap ${CAP}), ` +
      `back in sync ${resync_ms} ms after start; CLI samples ${cli.length}, API samples ${api.length}\n`,
  );
});
