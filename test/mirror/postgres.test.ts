// A real database on the capture: PostgreSQL's bulk load and pgbench through a synchronous
// mirror pair, as users run it. Its backends are signalled all the time (every signal to one
// waiting in a FUSE request makes the kernel INTERRUPT it), it writes WAL with O_DSYNC or
// fdatasync, and it PANICs on any failed write or fsync: the run must end without one, and
// SECOND must hold the same tables. Bounded: scale 5, 15 s of pgbench.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { MirrorPair } from './harness/pair';

const pair = new MirrorPair({ tag: 'pg', addr: '198.18.77.17', port: 7827, key: 'ea'.repeat(32), module: 'mpg' });
const PG_BIN = ['15', '16', '17'].map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => fs.existsSync(path.join(d, 'initdb')));
const PORT = 5441;
const PGBENCH_S = 15;

function inPrim(argv: string[], timeout_ms = 300_000): { code: number; out: string } {
  const r = spawnSync('nsenter', ['-t', String(pair.prim.pid), '-m', '-n', '--', 'runuser', '-u', 'postgres', '--', ...argv], { encoding: 'utf8', timeout: timeout_ms });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

const data = (): string => path.join(pair.d1, 'pg');
const sock = (): string => path.join(pair.base, 'pgsock');

beforeAll(async () => {
  if (!PG_BIN) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (installers/ensure-system-packages.sh installs them)');
  pair.prepare();
  fs.chmodSync(pair.base, 0o755);
  await pair.startSecond();
  await pair.startPrim();
  pair.app(`mkdir -p ${data()} ${sock()} && chown postgres ${data()} ${sock()}`);
}, 60000);

afterAll(async () => {
  if (PG_BIN) inPrim([path.join(PG_BIN, 'pg_ctl'), '-D', data(), '-w', '-m', 'immediate', 'stop'], 60_000);
  await pair.stop();
}, 90000);

test('initdb, pgbench -i and pgbench run on the mirror without a PANIC', () => {
  const bin = PG_BIN!;
  expect(inPrim([path.join(bin, 'initdb'), '-A', 'trust', '-D', data()]).code).toBe(0);
  expect(inPrim([path.join(bin, 'pg_ctl'), '-D', data(), '-w', '-l', path.join(sock(), 'log'), '-o', `-p ${PORT} -k ${sock()} -c listen_addresses=''`, 'start']).code).toBe(0);
  const t0 = performance.now();
  const init = inPrim(['pgbench', '-q', '-i', '-s', '5', '-h', sock(), '-p', String(PORT), 'postgres']);
  const init_s = (performance.now() - t0) / 1000;
  const run = inPrim(['pgbench', '-c', '4', '-j', '2', '-T', String(PGBENCH_S), '-h', sock(), '-p', String(PORT), 'postgres'], (PGBENCH_S + 120) * 1000);
  const log = fs.existsSync(path.join(sock(), 'log')) ? fs.readFileSync(path.join(sock(), 'log'), 'utf8') : '';
  const tps = /tps = ([\d.]+)/.exec(run.out)?.[1];
  process.stdout.write(`postgres on the mirror: pgbench -i -s 5 ${init_s.toFixed(1)} s, pgbench -c 4 -T ${PGBENCH_S}: ${tps ?? '?'} tps\n`);
  const panic = log.split('\n').filter((l) => /PANIC|FATAL|Transport endpoint|connection abort/.test(l));
  expect({ init: init.code, run: run.code, panic: panic.slice(0, 5), harness: panic.length ? `${pair.prim.stderr.slice(-2000)} ${JSON.stringify(pair.prim.events.filter((e) => e.event === 'problem').slice(0, 5))} exited=${pair.prim.exited}` : '' }).toEqual({ init: 0, run: 0, panic: [], harness: '' });
}, 300000);
