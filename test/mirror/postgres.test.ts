// A real database on the capture: PostgreSQL's bulk load and pgbench through a synchronous
// mirror pair, as users run it, without and with <rfs writeback="on">. Its backends are
// signalled all the time (every signal to one waiting in a FUSE request makes the kernel
// INTERRUPT it), it writes WAL with O_DSYNC or fdatasync, and it PANICs on any failed write
// or fsync: the run must end without one. Then PRIM dies (its daemon killed: the FUSE
// connection ends and whatever the kernel still held for it is gone, as in a power cut of
// the capture) and SECOND's copy must start as a database holding every transaction pgbench
// saw committed. Bounded: scale 5, 10 s of pgbench per pair.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { inSyncPair } from './harness/in-sync-pair';
import type { MirrorPair } from './harness/pair';

const PG_BIN = ['15', '16', '17'].map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => fs.existsSync(path.join(d, 'initdb')));
const PGBENCH_S = 10;

function asPostgres(argv: string[], mountPid: number | undefined, timeout_ms = 300_000): { code: number; out: string } {
  const enter = mountPid === undefined ? [] : ['nsenter', '-t', String(mountPid), '-m', '-n', '--'];
  const all = [...enter, 'runuser', '-u', 'postgres', '--', ...argv];
  const r = spawnSync(all[0]!, all.slice(1), { encoding: 'utf8', timeout: timeout_ms });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** Kills a postmaster and its children by the pid its data directory records (read from
 *  the real directory: the mount above it may be dead). */
async function killPostmaster(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l !== '').map(Number);
  for (const p of [pid, ...children]) {
    try { process.kill(p, 'SIGKILL'); } catch { /* gone already */ }
  }
  // A database started on the copy takes a postmaster still exiting for a live one.
  const end = Date.now() + 10_000;
  while (fs.existsSync(`/proc/${pid}`) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

const MODES = [
  { name: 'write-through', tag: 'pg', addr: '198.18.77.17', port: 7827, pg_port: 5441, spec: {} },
  { name: 'writeback', tag: 'pgw', addr: '198.18.77.19', port: 7829, pg_port: 5443, spec: { writeback: true } },
] as const;

for (const mode of MODES) {
  describe(`PostgreSQL on the mirror (${mode.name})`, () => {
    let primAlive = true;
    let committed = -1;
    const data = (): string => path.join(pair.d1, 'pg');
    const sock = (): string => path.join(pair.base, 'pgsock');
    const sock2 = (): string => path.join(pair.base, 'pgsock2');
    const pair: MirrorPair = inSyncPair({ tag: mode.tag, addr: mode.addr, port: mode.port, key: 'ea'.repeat(32), module: `m${mode.tag}`, spec: mode.spec }, {
      whenInSync: (p) => {
        if (!PG_BIN) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (installers/ensure-system-packages.sh installs them)');
        fs.chmodSync(p.base, 0o755);
        p.app(`mkdir -p ${path.join(p.d1, 'pg')} ${path.join(p.base, 'pgsock')} && chown postgres ${path.join(p.d1, 'pg')} ${path.join(p.base, 'pgsock')}`);
      },
      beforeStop: async () => {
        if (!PG_BIN) return;
        if (primAlive) asPostgres([path.join(PG_BIN, 'pg_ctl'), '-D', data(), '-w', '-m', 'immediate', 'stop'], pair.prim.pid, 60_000);
        else await killPostmaster(path.join(data(), 'postmaster.pid'));
        await killPostmaster(path.join(pair.d2, 'pg', 'postmaster.pid'));
      },
    });

    test('initdb, pgbench -i and pgbench run without a PANIC', () => {
      const bin = PG_BIN!;
      const prim = pair.prim.pid;
      expect(asPostgres([path.join(bin, 'initdb'), '-A', 'trust', '-D', data()], prim).code).toBe(0);
      expect(asPostgres([path.join(bin, 'pg_ctl'), '-D', data(), '-w', '-l', path.join(sock(), 'log'), '-o', `-p ${mode.pg_port} -k ${sock()} -c listen_addresses=''`, 'start'], prim).code).toBe(0);
      const t0 = performance.now();
      const init = asPostgres(['pgbench', '-q', '-i', '-s', '5', '-h', sock(), '-p', String(mode.pg_port), 'postgres'], prim);
      const init_s = (performance.now() - t0) / 1000;
      const run = asPostgres(['pgbench', '-c', '4', '-j', '2', '-T', String(PGBENCH_S), '-h', sock(), '-p', String(mode.pg_port), 'postgres'], prim, (PGBENCH_S + 120) * 1000);
      const log = fs.existsSync(path.join(sock(), 'log')) ? fs.readFileSync(path.join(sock(), 'log'), 'utf8') : '';
      const tps = /tps = ([\d.]+)/.exec(run.out)?.[1];
      committed = Number(/number of transactions actually processed: (\d+)/.exec(run.out)?.[1] ?? -1);
      process.stdout.write(`postgres on the mirror (${mode.name}): pgbench -i -s 5 ${init_s.toFixed(1)} s, pgbench -c 4 -T ${PGBENCH_S}: ${tps ?? '?'} tps, ${committed} transactions\n`);
      const panic = log.split('\n').filter((l) => /PANIC|FATAL|Transport endpoint|connection abort/.test(l));
      expect({ init: init.code, run: run.code, panic: panic.slice(0, 5), harness: panic.length ? `${pair.prim.stderr.slice(-2000)} ${JSON.stringify(pair.prim.events.filter((e) => e.event === 'problem').slice(0, 5))} exited=${pair.prim.exited}` : '' }).toEqual({ init: 0, run: 0, panic: [], harness: '' });
      expect(committed).toBeGreaterThan(0);
      // SECOND applied every op: none was refused (an fsync PRIM shipped for a file renamed
      // since used to be, making PRIM go ALONE and compare everything again).
      const refused = pair.prim.events.filter((e) => e.event === 'status' && (e.status as { code?: string }).code === 'HAKIT_E_MIRROR_APPLY');
      expect(refused.map((e) => JSON.stringify(e.status))).toEqual([]);
    }, 300_000);

    test('PRIM dies: SECOND\'s copy starts as a database holding every committed transaction', async () => {
      expect(committed).toBeGreaterThan(0);
      const bin = PG_BIN!;
      // A failover only ever goes to a SECOND whose copy is complete: PRIM in sync.
      if ((await pair.prim.call('phase')).phase !== 'in_sync') await pair.prim.waitStatus('prim', 'in_sync', 120_000, pair.prim.events.length);
      // The daemon dies first (the kernel ends its FUSE connection and drops what it still
      // cached for it), then the database it served.
      pair.prim.kill9();
      await pair.prim.close();
      primAlive = false;
      await killPostmaster(path.join(data(), 'postmaster.pid'));
      fs.mkdirSync(sock2(), { recursive: true });
      fs.chmodSync(sock2(), 0o777);
      const copy = path.join(pair.d2, 'pg');
      const start = asPostgres([path.join(bin, 'pg_ctl'), '-D', copy, '-w', '-t', '120', '-l', path.join(sock2(), 'log'), '-o', `-p ${mode.pg_port + 100} -k ${sock2()} -c listen_addresses=''`, 'start'], undefined, 180_000);
      const log = fs.existsSync(path.join(sock2(), 'log')) ? fs.readFileSync(path.join(sock2(), 'log'), 'utf8') : '';
      expect({ code: start.code, out: start.code === 0 ? '' : `${start.out}\n${log.slice(-2000)}` }).toEqual({ code: 0, out: '' });
      const count = asPostgres(['psql', '-At', '-h', sock2(), '-p', String(mode.pg_port + 100), '-c', 'select count(*) from pgbench_history', 'postgres'], undefined);
      expect(count.code).toBe(0);
      process.stdout.write(`postgres on SECOND's copy (${mode.name}): ${count.out.trim()} rows in pgbench_history, ${committed} transactions committed on PRIM\n`);
      // Every transaction pgbench saw committed inserted one history row.
      expect(Number(count.out.trim())).toBeGreaterThanOrEqual(committed);
      asPostgres([path.join(bin, 'pg_ctl'), '-D', copy, '-w', '-m', 'fast', 'stop'], undefined, 60_000);
    }, 300_000);
  });
}
