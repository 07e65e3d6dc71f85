// Issue 16, item 5, in the lab with the real hakitd: a PRIM holding a few GiB is power-cut;
// its SECOND takes over and changes a little; the cut node is powered on and its hakitd
// started. Its re-integration is an 'activity' pass (docs/mirror.md, "Activity record"):
// names reconciled by listing, content compared only for the files its record calls hot and
// what the survivor changed. It must be SECOND, in sync, within 10 s of its daemon starting
// (HAKIT_ACTIVITY_GIB, default 2: the data set; the time is dominated by the listing and the
// hot files, not by the size).
import { MirrorLab, MODULE, DATA_DIR, until } from './helpers';

const LAB = 'tma';
const GIB = Math.max(1, Math.min(16, Number(process.env['HAKIT_ACTIVITY_GIB'] ?? 2) || 2));
const FILE_MIB = 256;
const BACK_IN_SYNC_MAX_MS = 10_000;

let m: MirrorLab | undefined;

jest.setTimeout(20 * 60_000);

const fail = (): Promise<string> => m!.bothLogs();

beforeAll(async () => {
  m = await MirrorLab.withDaemons(LAB);
}, 120_000);

afterAll(async () => {
  await m?.down();
}, 120_000);

async function roles(prim: string, second: string, max_ms: number): Promise<number> {
  return until(
    `${prim} PRIM and ${second} SECOND with a complete copy`,
    async () => {
      const [p, s] = [await m!.state(prim), await m!.state(second)];
      return p?.state === 'PRIM' && p.status === 'Ready' && s?.state === 'SECOND' && s.status === 'Ready' && s.copyComplete;
    },
    max_ms,
    fail,
  );
}

it(`a power-cut PRIM holding ${GIB} GiB is SECOND again within ${BACK_IN_SYNC_MAX_MS / 1000} s when little changed`, async () => {
  for (const h of ['node1', 'node2']) expect((await m!.hakit(h, ['boot', 'on', '-m', MODULE])).code).toBe(0);
  for (const h of ['node1', 'node2']) expect((await m!.hakit(h, ['start', '-m', MODULE])).code).toBe(0);
  await m!.hakit('node1', ['prim', '-m', MODULE]);
  await until('node1 ALONE or PRIM', async () => (await m!.is('node1', 'ALONE')) || (await m!.is('node1', 'PRIM')), 30_000, fail);
  await m!.hakit('node2', ['second', '-m', MODULE]);
  await roles('node1', 'node2', 90_000);

  // The data set, written through the mirror (replicated live), then made durable.
  const files = Math.ceil((GIB * 1024) / FILE_MIB);
  const t_fill = Date.now();
  const fill = await m!.sh('node1', `mkdir -p ${DATA_DIR}/big && for i in $(seq 1 ${files}); do dd if=/dev/urandom of=${DATA_DIR}/big/f$i.bin bs=1M count=${FILE_MIB} status=none || exit 1; done; sync ${DATA_DIR}/big ${DATA_DIR} && echo ok`, 20 * 60_000);
  expect(fill.out.trim()).toBe('ok');
  const fill_s = (Date.now() - t_fill) / 1000;
  // Idle files cool (two ticks of COOL_IDLE_MS): the record then names only what is busy.
  await new Promise((r) => setTimeout(r, 12_000));
  // A little activity right before the cut: a small file and one 4 KiB block of a big one.
  expect((await m!.sh('node1', `echo hot > ${DATA_DIR}/hot.txt && dd if=/dev/urandom of=${DATA_DIR}/big/f1.bin bs=4096 count=1 seek=100 conv=notrunc status=none && echo ok`)).out.trim()).toBe('ok');

  await m!.powerCut('node1');
  await until('node2 ALONE after the power cut', () => m!.is('node2', 'ALONE'), 30_000, fail);
  expect((await m!.sh('node2', `echo by-survivor > ${DATA_DIR}/survivor.txt && sync ${DATA_DIR} && echo ok`)).out.trim()).toBe('ok');

  await m!.powerOnAndStart('node1');
  const back_ms = await roles('node2', 'node1', 5 * 60_000);
  const log = (await m!.sh('node2', `grep -a 're-integration started' /var/log/hakit/modules/${MODULE}.log | tail -n 1`)).out;
  const started = JSON.parse(log.trim() || '{}') as { mode?: string; pending_bytes?: number; pending_files?: number };
  const applied = (await m!.mirrorStatus('node1'))['bytes_applied'];
  // Where the time went: the pass itself (node2's log) against the whole return.
  const times = async (host: string, pattern: string): Promise<number> => {
    const line = (await m!.sh(host, `grep -a '${pattern}' /var/log/hakit/modules/${MODULE}.log | tail -n 1`)).out.trim();
    const t = (JSON.parse(line || '{}') as { time?: string | number }).time;
    return typeof t === 'number' ? t : Date.parse(String(t));
  };
  const pass_ms = (await times('node2', 'SECOND in sync')) - (await times('node2', 're-integration started'));
  const listening_ms = (await times('node1', 'SECOND engine listening')) - (await times('node2', 're-integration started'));
  const v = await m!.hakit('node2', ['rfsverify', '-m', MODULE], 10 * 60_000);
  process.stdout.write(
    `activity return: ${GIB} GiB in ${files} files (filled in ${fill_s.toFixed(0)} s); cut node SECOND in sync ${back_ms} ms after its hakitd started; ` +
      `pass mode ${String(started.mode)} lasting ${pass_ms} ms (node1's receiver listening ${-listening_ms} ms before it started), pending at start ${String(started.pending_bytes)} B in ${String(started.pending_files)} files, applied on return ${String(applied)} B; rfsverify exit ${v.code}\n`,
  );
  expect(started.mode).toBe('activity');
  expect(v.code).toBe(0);
  expect(back_ms).toBeLessThanOrEqual(BACK_IN_SYNC_MAX_MS);
});
