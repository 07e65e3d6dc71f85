// The last verify on a real two-node mirror cluster (built hakitd, the example mirror_http,
// real FUSE and replication in the lab's namespaces): `hakit rfsverify` on the PRIM keeps its
// result in the module's state folder, `hakit state -v` and the daemon's mirrorstatus show it,
// and it survives hakitd being killed (-9) and started again.
import { MirrorLab, MODULE, DATA_DIR, until } from '../mirror-lab/helpers';

const LAB = 'tv1';
const RECORD = `/var/lib/hakit/mirror/${MODULE}/last-verify.json`;
let m: MirrorLab | undefined;

jest.setTimeout(5 * 60_000);

beforeAll(async () => {
  m = await MirrorLab.withDaemons(LAB);
}, 120_000);

afterAll(async () => {
  await m?.down();
}, 120_000);

const fail = (): Promise<string> => m!.bothLogs();

test('rfsverify on the PRIM is kept, shown by state -v, and still there after hakitd is killed and restarted', async () => {
  for (const h of ['node1', 'node2']) expect((await m!.hakit(h, ['start', '-m', MODULE])).code).toBe(0);
  expect((await m!.hakit('node1', ['prim', '-m', MODULE])).out).toMatch(/accepted|ALONE|PRIM/);
  await until('node1 ALONE or PRIM', async () => (await m!.is('node1', 'ALONE')) || (await m!.is('node1', 'PRIM')), 30_000, fail);
  expect((await m!.hakit('node2', ['second', '-m', MODULE])).out).toMatch(/accepted|SECOND/);
  await until('node1 PRIM, node2 SECOND with a complete copy', async () => (await m!.is('node1', 'PRIM')) && (await m!.state('node2'))?.copyComplete === true, 60_000, fail);
  expect((await m!.sh('node1', `head -c 100000 /dev/urandom > ${DATA_DIR}/blob.bin && printf 'abc' > ${DATA_DIR}/small.txt && sync`)).code).toBe(0);

  // None yet, then the one run.
  expect((await m!.hakit('node1', ['state', '-v', '-m', MODULE])).out).not.toMatch(/last verify/);
  const t0 = Date.now();
  expect(await m!.hakit('node1', ['rfsverify', '-m', MODULE])).toMatchObject({ code: 0 });
  const verify_ms = Date.now() - t0;
  const st = await m!.hakit('node1', ['state', '-v', '-m', MODULE]);
  expect(st.out).toMatch(/^ {2}last verify: identical, \d+ files \(\d+ bytes\) in \d+ ms, \d{4}-/m);
  const line = /last verify: .*/.exec(st.out)?.[0] ?? '';
  const kept = (await m!.mirrorStatus('node1'))['last_verify'] as { outcome: string; files_compared: number; bytes_compared: number; duration_ms: number; at: string };
  expect(kept.outcome).toBe('identical');
  expect(kept.files_compared).toBeGreaterThanOrEqual(2);
  expect(kept.bytes_compared).toBeGreaterThanOrEqual(100_003);
  expect(kept.duration_ms).toBeLessThanOrEqual(verify_ms);
  process.stdout.write(`rfsverify of ${kept.files_compared} files (${kept.bytes_compared} bytes): ${kept.duration_ms} ms in hakitd, ${verify_ms} ms for the CLI\n`);
  expect(JSON.parse((await m!.sh('node1', `cat ${RECORD}; stat -c %a ${RECORD} >&2`)).out)).toEqual(kept);
  // The SECOND ran none: nothing kept there.
  expect((await m!.mirrorStatus('node2'))['last_verify']).toBeNull();

  // hakitd killed: the record is what it answered, and the restarted daemon serves it.
  const d = m!.daemons.get('node1');
  d?.kill('SIGKILL');
  await until('hakitd on node1 gone', async () => d?.exitCode !== null || d?.signalCode !== null, 10_000);
  m!.startDaemon('node1');
  await until('hakitd on node1 answers again', async () => (await m!.state('node1')) !== null, 30_000, fail);
  expect((await m!.mirrorStatus('node1'))['last_verify']).toEqual(kept);
  expect((await m!.hakit('node1', ['state', '-v', '-m', MODULE])).out).toContain(line);
});
