// Mirror benchmark: PRIM + SECOND in one network namespace of ours (each node in its own
// mount namespace), every ratio measured side by side in one run.
//   npm run bench -- mirror [--full] [--files N] [--rounds R] [--only throughput,reint,files,watch,alone,side,gluster,db]
//   --full: re-integration data set of 1 GiB (default 256 MiB); --files: 100000 by default;
//   --rounds: timed throughput rounds (default 5). Env: HAKIT_BENCH_SEQ_MIB (256, size of one
//   sequential file), HAKIT_BENCH_FSYNC_OPS (1000 4 KiB fsync'd writes per target in all),
//   HAKIT_BENCH_SIDE_ROUNDS (3, rounds of `side`), HAKIT_BENCH_SIDE_ASYNC ("none,second": the
//   async modes `side` runs, also "writeback" and "sync_secondary": async "none" with that
//   <rfs> attribute on; the database runs with "none" only).
// Sections: throughput (1 MiB sequential writes buffered and durable, 4 KiB write+fsync;
// async "second" and "none" vs the local disk, in rounds: see rounds.ts; plus PRIM ALONE as
// a diagnostic), reint (1 % of the data set changed while SECOND was down), files (time
// before a full re-integration starts shipping), watch (lag), side (local, the C wire limit,
// the FUSE floor of fuse-floor.ts, the mirror, PostgreSQL on each).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { HarnessNode, TestNetns } from '../mirror/harness/netns';
import { distPath } from '../support/dist';
import { sh } from '../support/netns';
import { median, printFigures, quantile, type Figure } from './figures';
import { perRoundRatios, roundFits, roundOrder, spread } from './rounds';
import { glusterBench } from './mirror-gluster';
import { FuseFloor } from './fuse-floor';
import { machineCpuTicks, processCpuTicks, TICKS_PER_S } from './cpu-time';

const ADDR = '198.18.77.9';
const PORT = 7819;
const KEY = 'ab'.repeat(32);
// (Checked by mirrorBench, not here: registry.ts imports this file for every benchmark.)
const SEQ_MIB = Number(process.env.HAKIT_BENCH_SEQ_MIB ?? 256);
/** 4 KiB write+fsync ops per target over all timed rounds (one block per round). */
const FSYNC_OPS = Number(process.env.HAKIT_BENCH_FSYNC_OPS ?? 1000);
const DEFAULT_ROUNDS = 5;
const WATCH_WRITES = 100;
const WAIT_MS = 120_000;

function positiveInt(name: string, text: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) throw new Error(`mirror bench: ${name} wants a positive integer, got '${text}'`);
  return v;
}

/** The application-side writer, built (dist/). */
function writerArgv(): string[] {
  return [process.execPath, distPath('test/bench/mirror-writer.ts')];
}

interface Pair { base: string; ns: TestNetns; prim: HarnessNode; second: HarnessNode; d1: string; d2: string; spec: (n: string) => Record<string, unknown> }

/** Runs `body` with a fresh PRIM/SECOND pair; `prepare` fills the directories first. */
async function withPair<T>(tag: string, extra: Record<string, unknown>, prepare: (d1: string, d2: string) => void, body: (p: Pair) => Promise<T>): Promise<T> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `hakit-hm-bench-${tag}-`));
  const ns = new TestNetns(`b${tag}`, ADDR);
  let prim: HarnessNode | undefined;
  let second: HarnessNode | undefined;
  try {
    const d1 = path.join(base, 'n1', 'data');
    const d2 = path.join(base, 'n2', 'data');
    for (const d of [d1, d2, path.join(base, 'local')]) fs.mkdirSync(d, { recursive: true });
    prepare(d1, d2);
    ns.up();
    const spec = (n: string) => ({ module: 'mbench', dirs: [path.join(base, n, 'data')], work_dir: path.join(base, n, 'work'), key: KEY, async: 'none', ...extra });
    second = await HarnessNode.spawn(ns);
    await second.call('second', { ...spec('n2'), listen: { host: ADDR, port: PORT } });
    prim = await HarnessNode.spawn(ns);
    return await body({ base, ns, prim, second, d1, d2, spec });
  } finally {
    await prim?.close();
    await second?.close();
    ns.down();
    fs.rmSync(base, { recursive: true, force: true });
  }
}

function writer(p: Pair, args: string[]): { changed_bytes: number } {
  return JSON.parse(p.ns.exec([...writerArgv(), ...args], p.prim.pid)) as ReturnType<typeof writer>;
}

// ---- throughput: rounds of local / mirror / PRIM-alone writes, side by side ----

/** local: the plain disk; mirror: PRIM's capture with SECOND in sync; alone: a second PRIM
 *  whose SECOND never answers (capture + local write + ALONE journal, no network). */
type Target = 'local' | 'mirror' | 'alone';
const PAIR: readonly Target[] = ['local', 'mirror'];
const ALL: readonly Target[] = ['local', 'mirror', 'alone'];

/** Nobody listens there: the diagnostic PRIM stays ALONE for the whole run. */
const ALONE_PORT = PORT + 1;
/** Time budget for the rounds of one async mode, warm-up included: the default
 *  `--only throughput` (two modes plus set-up) stays under ~4 minutes. Rounds that do not fit
 *  are not run, and the figure throughput_rounds says how many were. */
const THROUGHPUT_BUDGET_MS = 100_000;
/** At most this many rounds, whatever --rounds says. */
const MAX_ROUNDS = 50;
/** The 4 KiB fsync loop runs in slices of this many ops, the targets taking turns: the local
 *  disk's fsync rate drifts 10x within seconds here, so only close interleaving compares. */
const FSYNC_SLICE_OPS = 20;
const FSYNC_SLICE_MAX_S = 2;
const FSYNC_PHASE_MAX_MS = 20_000;
/** Bound on one writer command (256 MiB through a slow capture), and on its exit. */
const WRITER_CALL_TIMEOUT_MS = 300_000;
const WRITER_EXIT_MS = 5_000;
/** Settling before each measurement: SECOND's apply counters unchanged for QUIET polls. */
const SETTLE_POLL_MS = 20;
const SETTLE_QUIET_POLLS = 4;
const SETTLE_MAX_MS = 30_000;
const SYNC_TIMEOUT_MS = 120_000;

/** A `mirror-writer serve` process (the application) in one PRIM's mount view. */
class Writer {
  private readonly lines: string[] = [];
  private wake: (() => void) | undefined;
  private exited = false;
  private stderr = '';

  private constructor(private readonly proc: ChildProcess) {
    readline.createInterface({ input: proc.stdout! }).on('line', (l) => { this.lines.push(l); this.wake?.(); });
    proc.stderr!.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-2000); });
    proc.on('exit', () => { this.exited = true; this.wake?.(); });
  }

  static start(mountPid: number): Writer {
    return new Writer(spawn('nsenter', ['-t', String(mountPid), '-m', '-n', '--', ...writerArgv(), 'serve'], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  async run(argv: readonly string[]): Promise<Record<string, unknown>> {
    this.proc.stdin!.write(`${JSON.stringify(argv)}\n`);
    const deadline = performance.now() + WRITER_CALL_TIMEOUT_MS;
    while (this.lines.length === 0) {
      if (this.exited) throw new Error(`writer exited during ${argv.join(' ')}: ${this.stderr}`);
      const left = deadline - performance.now();
      if (left <= 0) { this.proc.kill('SIGKILL'); throw new Error(`writer: ${argv.join(' ')} took over ${WRITER_CALL_TIMEOUT_MS} ms`); }
      await new Promise<void>((r) => { const t = setTimeout(r, left); this.wake = () => { clearTimeout(t); r(); }; });
      this.wake = undefined;
    }
    const reply = JSON.parse(this.lines.shift()!) as Record<string, unknown>;
    if (typeof reply.error === 'string') throw new Error(`writer: ${argv.join(' ')}: ${reply.error}`);
    return reply;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    this.proc.stdin!.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), WRITER_EXIT_MS);
    await new Promise<void>((r) => (this.exited ? r() : this.proc.on('exit', () => r())));
    clearTimeout(t);
  }
}

interface Rig { p: Pair; dir: Record<Target, string>; writer: Record<Target, Writer> }

/** Per target, one value per timed round (latencies: every op of every timed round). */
interface Series {
  buffered_s: Record<Target, number[]>;
  durable_s: Record<Target, number[]>;
  /** The part of durable_s spent in the final fdatasync (the rest is the writes). */
  fdatasync_s: Record<Target, number[]>;
  fsync_ops_s: Record<Target, number[]>;
  lat_us: Record<Target, number[]>;
}

function perTarget(): Record<Target, number[]> {
  return { local: [], mirror: [], alone: [] };
}

function emptySeries(): Series {
  return { buffered_s: perTarget(), durable_s: perTarget(), fdatasync_s: perTarget(), fsync_ops_s: perTarget(), lat_us: perTarget() };
}

/**
 * Each measurement starts from the same quiet state: SECOND has applied everything it
 * received (async="second" acknowledges before applying) and no dirty page of an earlier
 * writer is left to be flushed during this one.
 */
async function settle(rig: Rig): Promise<void> {
  const t0 = performance.now();
  let last = -1;
  let quiet = 0;
  for (let i = 0; quiet < SETTLE_QUIET_POLLS && i < SETTLE_MAX_MS / SETTLE_POLL_MS; i++) {
    const ops = Number((await rig.p.second.call('applied')).ops_applied);
    quiet = ops === last ? quiet + 1 : 0;
    last = ops;
    await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
  }
  if (quiet < SETTLE_QUIET_POLLS) process.stderr.write(`mirror bench: SECOND still applying after ${Math.round(performance.now() - t0)} ms; measuring anyway\n`);
  sh(['sync'], false, SYNC_TIMEOUT_MS);
}

async function seq(rig: Rig, target: Target, kind: 'buffered' | 'durable'): Promise<{ seconds: number; sync_seconds: number }> {
  await settle(rig);
  const r = await rig.writer[target].run(['seq', rig.dir[target], String(SEQ_MIB), kind]);
  return { seconds: Number(r.seconds), sync_seconds: Number(r.sync_seconds) };
}

/** `ops` 4 KiB write+fsync per target into a new file, in slices taken in turns
 *  (L M A, A M L, ...); one ops/s value per target for the round. */
async function fsyncPhase(rig: Rig, r: number, ops: number, into: Series): Promise<void> {
  await settle(rig);
  const lat = perTarget();
  const t_end = performance.now() + FSYNC_PHASE_MAX_MS;
  for (let k = 0; k * FSYNC_SLICE_OPS < ops && performance.now() < t_end; k++) {
    const n = Math.min(FSYNC_SLICE_OPS, ops - k * FSYNC_SLICE_OPS);
    for (const t of roundOrder(ALL, r + k)) {
      const got = (await rig.writer[t].run(['fsync', rig.dir[t], String(lat[t].length), String(n), String(FSYNC_SLICE_MAX_S)])).lat_us as number[];
      for (const l of got) lat[t].push(l);
    }
  }
  for (const t of ALL) {
    into.fsync_ops_s[t].push(lat[t].length / (lat[t].reduce((a, b) => a + b, 0) / 1e6));
    for (const l of lat[t]) into.lat_us[t].push(l);
  }
}

/** One round: buffered local/mirror, durable local/mirror/alone (each in this round's
 *  order, each after a settle), then the interleaved 4 KiB fsync phase. */
async function round(rig: Rig, r: number, fsync_ops: number, into: Series): Promise<void> {
  for (const t of roundOrder(PAIR, r)) into.buffered_s[t].push((await seq(rig, t, 'buffered')).seconds);
  for (const t of roundOrder(ALL, r)) {
    const d = await seq(rig, t, 'durable');
    into.durable_s[t].push(d.seconds);
    into.fdatasync_s[t].push(d.sync_seconds);
  }
  await fsyncPhase(rig, r, fsync_ops, into);
}

/** An untimed warm-up round, then up to `rounds` timed rounds within the time budget. */
async function measureRounds(rig: Rig, rounds: number, label: string): Promise<Series> {
  const fsync_ops = Math.max(1, Math.ceil(FSYNC_OPS / rounds));
  const t0 = performance.now();
  // Warm-up: the first writes into never-touched guest memory fault on the host (this is a
  // VM) and would make whichever target writes first look slow.
  await round(rig, 0, fsync_ops, emptySeries());
  let slowest_ms = performance.now() - t0;
  const series = emptySeries();
  for (let r = 0; r < rounds; r++) {
    if (!roundFits(r, 1, performance.now() - t0, slowest_ms, THROUGHPUT_BUDGET_MS)) {
      process.stderr.write(`mirror bench: time budget ${THROUGHPUT_BUDGET_MS / 1000} s reached after ${r} of ${rounds} rounds\n`);
      break;
    }
    const r0 = performance.now();
    await round(rig, r, fsync_ops, series);
    slowest_ms = Math.max(slowest_ms, performance.now() - r0);
    process.stderr.write(`mirror bench ${label} ${roundLine(series, r)}\n`);
  }
  return series;
}

/** The raw values of round r, on stderr: the medians hide how noisy a run was. */
function roundLine(s: Series, r: number): string {
  const ms = (v: number | undefined): string => (v === undefined ? '-' : String(Math.round(v * 1000)));
  const ops = (v: number | undefined): string => (v === undefined ? '-' : String(Math.round(v)));
  const order = roundOrder(ALL, r).map((t) => t[0]).join('');
  return `round ${r} (${order}): buffered ms L ${ms(s.buffered_s.local[r])} M ${ms(s.buffered_s.mirror[r])}`
    + ` | durable ms (of which fdatasync) L ${ms(s.durable_s.local[r])} (${ms(s.fdatasync_s.local[r])})`
    + ` M ${ms(s.durable_s.mirror[r])} (${ms(s.fdatasync_s.mirror[r])}) A ${ms(s.durable_s.alone[r])} (${ms(s.fdatasync_s.alone[r])})`
    + ` | fsync ops/s L ${ops(s.fsync_ops_s.local[r])} M ${ops(s.fsync_ops_s.mirror[r])} A ${ops(s.fsync_ops_s.alone[r])}`;
}

function seqFigures(s: Series, kind: 'buffered' | 'durable', a: string, goal?: string): Figure[] {
  const mibs = (sec: number): number => SEQ_MIB / sec;
  // mirror speed / local speed = local time / mirror time, in each round.
  const ratio = spread(perRoundRatios(s[`${kind}_s`].local, s[`${kind}_s`].mirror));
  const what = kind === 'durable' ? 'write N MiB, fdatasync, close' : 'write N MiB, close';
  return [
    { figure: `seq_${kind}_local_mib_s${a}`, value: spread(s[`${kind}_s`].local.map(mibs)).median, unit: 'MiB/s', note: `${what}; median of rounds` },
    { figure: `seq_${kind}_mirror_mib_s${a}`, value: spread(s[`${kind}_s`].mirror.map(mibs)).median, unit: 'MiB/s', note: 'median of rounds' },
    { figure: `seq_${kind}_vs_local${a}`, value: ratio.median, unit: 'x', note: `median of per-round ratios${goal ? `; ${goal}` : ''}` },
    { figure: `seq_${kind}_vs_local_min${a}`, value: ratio.min, unit: 'x' },
    { figure: `seq_${kind}_vs_local_max${a}`, value: ratio.max, unit: 'x' },
  ];
}

function aloneFigures(s: Series, a: string): Figure[] {
  const durable = spread(perRoundRatios(s.durable_s.local, s.durable_s.alone));
  const fsync = spread(perRoundRatios(s.fsync_ops_s.alone, s.fsync_ops_s.local));
  return [
    { figure: `seq_durable_alone_mib_s${a}`, value: spread(s.durable_s.alone.map((sec) => SEQ_MIB / sec)).median, unit: 'MiB/s', note: 'PRIM ALONE: capture + local write, no network' },
    { figure: `seq_durable_alone_vs_local${a}`, value: durable.median, unit: 'x', note: `median of per-round ratios (min ${round3(durable.min)}, max ${round3(durable.max)})` },
    { figure: `fsync4k_alone_vs_local${a}`, value: fsync.median, unit: 'x', note: `PRIM ALONE; median of per-round ratios (min ${round3(fsync.min)}, max ${round3(fsync.max)})` },
  ];
}

function fsyncFigures(s: Series, a: string): Figure[] {
  const ratio = spread(perRoundRatios(s.fsync_ops_s.mirror, s.fsync_ops_s.local));
  return [
    { figure: `fsync4k_local_ops_s${a}`, value: Math.round(spread(s.fsync_ops_s.local).median), unit: 'ops/s', note: 'median of rounds' },
    { figure: `fsync4k_mirror_ops_s${a}`, value: Math.round(spread(s.fsync_ops_s.mirror).median), unit: 'ops/s', note: 'median of rounds' },
    { figure: `fsync4k_vs_local${a}`, value: ratio.median, unit: 'x', note: 'median of per-round ratios; goal >= 0.5' },
    { figure: `fsync4k_vs_local_min${a}`, value: ratio.min, unit: 'x' },
    { figure: `fsync4k_vs_local_max${a}`, value: ratio.max, unit: 'x' },
    { figure: `fsync4k_mirror_p50_us${a}`, value: quantile(s.lat_us.mirror, 0.5), unit: 'us', note: 'all ops of all rounds' },
    { figure: `fsync4k_mirror_p99_us${a}`, value: quantile(s.lat_us.mirror, 0.99), unit: 'us' },
    { figure: `fsync4k_local_p50_us${a}`, value: quantile(s.lat_us.local, 0.5), unit: 'us' },
    { figure: `fsync4k_local_p99_us${a}`, value: quantile(s.lat_us.local, 0.99), unit: 'us' },
  ];
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** The copies SECOND holds must equal PRIM's, or the figures measured a broken mirror. */
function checkCopies(p: Pair): void {
  for (const name of ['seq-buffered.bin', 'seq-durable.bin', 'fsync.bin']) {
    if (!fs.readFileSync(path.join(p.d2, name)).equals(fs.readFileSync(path.join(p.d1, name)))) {
      throw new Error(`benchmark copy ${name} on SECOND differs from PRIM`);
    }
  }
}

/** A PRIM over its own directory whose SECOND never answers; closed by the caller. */
async function startAlonePrim(p: Pair, asyncMode: 'second' | 'none'): Promise<{ node: HarnessNode; dir: string }> {
  const node = await HarnessNode.spawn(p.ns);
  try {
    await node.call('prim', { ...p.spec('n3'), module: 'mbalone', async: asyncMode, peer: { host: ADDR, port: ALONE_PORT } });
    const phase = (await node.call('phase')).phase;
    if (phase !== 'alone') throw new Error(`diagnostic PRIM is '${String(phase)}', not alone`);
    return { node, dir: path.join(p.base, 'n3', 'data') };
  } catch (e) {
    await node.close();
    throw e;
  }
}

async function throughput(asyncMode: 'second' | 'none', rounds: number): Promise<Figure[]> {
  return withPair(`t${asyncMode[0]}`, { async: asyncMode }, () => undefined, async (p) => {
    await p.prim.call('prim', { ...p.spec('n1'), async: asyncMode, peer: { host: ADDR, port: PORT } });
    await p.prim.waitStatus('prim', 'in_sync', 20000);
    const alone = await startAlonePrim(p, asyncMode);
    const writer: Record<Target, Writer> = { local: Writer.start(p.prim.pid), mirror: Writer.start(p.prim.pid), alone: Writer.start(alone.node.pid) };
    try {
      const rig: Rig = { p, dir: { local: path.join(p.base, 'local'), mirror: p.d1, alone: alone.dir }, writer };
      const s = await measureRounds(rig, rounds, `async=${asyncMode}`);
      await settle(rig);
      checkCopies(p);
      const a = `_async_${asyncMode}`;
      return [
        { figure: `throughput_rounds${a}`, value: s.durable_s.local.length, unit: 'rounds', note: `timed, ABBA order, after 1 warm-up round; ${SEQ_MIB} MiB per file` },
        ...seqFigures(s, 'buffered', a),
        ...seqFigures(s, 'durable', a, 'goal >= 0.8'),
        ...fsyncFigures(s, a),
        ...aloneFigures(s, a),
      ];
    } finally {
      for (const w of Object.values(writer)) await w.close();
      await alone.node.close();
    }
  });
}

/** 1 % of a data set changed (scattered 4 KiB blocks) while SECOND was down. */
async function reintegration(set_mib: number): Promise<Figure[]> {
  const fill = (d1: string, d2: string): void => {
    // Both copies start equal (made directly, not shipped): one file per 64 MiB.
    const block = Buffer.alloc(1 << 20);
    for (let f = 0; f * 64 < set_mib; f++) {
      const name = `set-${f}.bin`;
      const fd = fs.openSync(path.join(d1, name), 'w');
      for (let i = 0; i < Math.min(64, set_mib - f * 64); i++) { block.fill((f * 64 + i) & 0xff); fs.writeSync(fd, block); }
      fs.closeSync(fd);
      fs.copyFileSync(path.join(d1, name), path.join(d2, name));
    }
  };
  return withPair('r', {}, fill, async (p) => {
    await p.prim.call('prim', { ...p.spec('n1'), peer: { host: ADDR, port: PORT } });
    await p.prim.waitStatus('prim', 'in_sync', WAIT_MS);
    let from = p.prim.events.length;
    p.second.kill9();
    p.ns.exec(['sh', '-c', `echo x > ${p.d1}/wake.txt`], p.prim.pid);
    await p.prim.waitStatus('prim', 'alone', 10000, from);
    let changed = 0;
    const files = fs.readdirSync(p.d1).filter((n) => n.startsWith('set-'));
    for (const n of files) {
      const size = fs.statSync(path.join(p.d1, n)).size;
      changed += writer(p, ['scatter', path.join(p.d1, n), String(Math.round((size * 0.01) / 4096))]).changed_bytes;
    }
    const before = Number((await p.prim.call('phase')).shipped_bytes);
    from = p.prim.events.length;
    const t0 = performance.now();
    const second = await HarnessNode.spawn(p.ns);
    await second.call('second', { ...p.spec('n2'), listen: { host: ADDR, port: PORT } });
    p.second = second;
    await p.prim.waitStatus('prim', 'in_sync', WAIT_MS, from);
    const seconds = (performance.now() - t0) / 1000;
    const shipped = Number((await p.prim.call('phase')).shipped_bytes) - before;
    await second.close();
    return [
      { figure: `reint_${set_mib}mib_changed_bytes`, value: changed, unit: 'B', note: '1 % in 4 KiB blocks' },
      { figure: `reint_${set_mib}mib_shipped_vs_changed`, value: +(shipped / changed).toFixed(3), unit: 'x', note: 'goal <= 1.1' },
      { figure: `reint_${set_mib}mib_seconds`, value: +seconds.toFixed(2), unit: 's', note: 'SECOND start -> in sync' },
    ];
  });
}

/** Time from PRIM start to the first shipping of a full comparison over N files. */
async function manyFiles(n: number): Promise<Figure[]> {
  const fill = (d1: string, d2: string): void => {
    for (let i = 0; i < n; i++) {
      const dir = `d${Math.floor(i / 1000)}`;
      if (i % 1000 === 0) { fs.mkdirSync(path.join(d1, dir)); fs.mkdirSync(path.join(d2, dir)); }
      fs.writeFileSync(path.join(d1, dir, `f${i}`), `${i}\n`);
      fs.writeFileSync(path.join(d2, dir, `f${i}`), `${i}\n`);
    }
  };
  return withPair('f', {}, fill, async (p) => {
    const t0 = performance.now();
    await p.prim.call('prim', { ...p.spec('n1'), peer: { host: ADDR, port: PORT } });
    await p.prim.waitStatus('prim', 'syncing', WAIT_MS);
    const start_s = (performance.now() - t0) / 1000;
    await p.prim.waitStatus('prim', 'in_sync', 10 * WAIT_MS);
    const total_s = (performance.now() - t0) / 1000;
    return [
      { figure: `files_${n}_start_shipping_s`, value: +start_s.toFixed(2), unit: 's', note: 'goal < 5 (first sync: full comparison)' },
      { figure: `files_${n}_full_compare_s`, value: +total_s.toFixed(2), unit: 's', note: 'until in sync, nothing differed' },
    ];
  });
}

/** Watch mode: write -> identical on SECOND, polled every 1 ms. */
async function watchLag(): Promise<Figure[]> {
  return withPair('w', { mode: 'watch', async: 'second' }, () => undefined, async (p) => {
    await p.prim.call('prim', { ...p.spec('n1'), mode: 'watch', async: 'second', peer: { host: ADDR, port: PORT } });
    await p.prim.waitStatus('prim', 'in_sync', 20000);
    const lags: number[] = [];
    for (let i = 0; i < WATCH_WRITES; i++) {
      const body = Buffer.from(`record ${i}\n`.repeat(100));
      const t0 = performance.now();
      fs.writeFileSync(path.join(p.d1, `w${i % 10}.txt`), body);
      for (;;) {
        let got: Buffer | undefined;
        try { got = fs.readFileSync(path.join(p.d2, `w${i % 10}.txt`)); } catch { got = undefined; }
        if (got?.equals(body)) break;
        if (performance.now() - t0 > 10_000) throw new Error(`watch write ${i} not replicated in 10 s`);
        await new Promise((r) => setTimeout(r, 1));
      }
      lags.push(performance.now() - t0);
    }
    return [
      { figure: 'watch_lag_p50_ms', value: +quantile(lags, 0.5).toFixed(1), unit: 'ms' },
      { figure: 'watch_lag_p95_ms', value: +quantile(lags, 0.95).toFixed(1), unit: 'ms', note: 'recovery point of watch mode' },
    ];
  });
}

// ---- side by side: local, the physical limit, hakit (one async mode), PostgreSQL ----

/** The FUSE floor's figures (test/bench/fuse-floor.ts). */
const FLOOR_NOTE = 'FUSE floor: bindfs (C, libfuse, one thread) over a local dir, no replication';
/** Side-by-side rounds (each workload, targets in ABBA order per round). */
const SIDE_ROUNDS = Number(process.env.HAKIT_BENCH_SIDE_ROUNDS ?? 3);
const SIDE_OPS = 400;
const SIDE_FILES = 5000;
const WIRE_PORT = PORT + 2;
const PG_SCALE = 10;
const PG_SECONDS = 20;

/** Builds the physical-limit program (test/bench/mirror-wire-limit.c) into `dir`. */
function buildWireLimit(dir: string): string {
  const src = path.join(__dirname, '..', '..', '..', 'test', 'bench', 'mirror-wire-limit.c');
  const bin = path.join(dir, 'mirror-wire-limit');
  sh(['cc', '-O2', '-o', bin, src]);
  return bin;
}

function opsPerS(lat_us: readonly number[]): number {
  return lat_us.length / (lat_us.reduce((a, b) => a + b, 0) / 1e6);
}

/** PostgreSQL in `mountPid`'s view (0: the host's), data in `dir`, socket in `sock`. */
class Pg {
  constructor(private readonly p: Pair, private readonly mountPid: number, readonly dir: string, readonly sock: string, readonly port: number) {}
  private run(argv: string[], timeout_ms = 600_000): string {
    const pre = this.mountPid ? ['nsenter', '-t', String(this.mountPid), '-m', '-n', '--'] : ['ip', 'netns', 'exec', this.p.ns.name];
    return sh([...pre, 'runuser', '-u', 'postgres', '--', ...argv], false, timeout_ms).stdout + '';
  }
  start(): void {
    const pre = this.mountPid ? ['nsenter', '-t', String(this.mountPid), '-m', '-n', '--'] : ['ip', 'netns', 'exec', this.p.ns.name];
    sh([...pre, 'sh', '-c', `mkdir -p ${this.dir} ${this.sock} && chown postgres ${this.dir} ${this.sock}`]);
    this.run(['initdb', '-A', 'trust', '-D', this.dir], 300_000);
    this.run(['pg_ctl', '-D', this.dir, '-w', '-l', path.join(this.sock, 'log'), '-o', `-p ${this.port} -k ${this.sock} -c listen_addresses=''`, 'start']);
  }
  stop(): void {
    try { this.run(['pg_ctl', '-D', this.dir, '-w', '-m', 'fast', 'stop']); } catch { /* not running */ }
  }
  /** pgbench -i: seconds of the bulk load (COPY, index build, vacuum; durable at commit). */
  init(): number {
    const t0 = performance.now();
    this.run(['pgbench', '-q', '-i', '-s', String(PG_SCALE), '-h', this.sock, '-p', String(this.port), 'postgres']);
    return (performance.now() - t0) / 1000;
  }
  /** pgbench -c 4: its TPS, and the transactions it made (for CPU per transaction). */
  pgbench(): { tps: number; txns: number } {
    const out = this.run(['pgbench', '-c', '4', '-j', '2', '-T', String(PG_SECONDS), '-h', this.sock, '-p', String(this.port), 'postgres']);
    const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(out);
    const n = /number of transactions actually processed: (\d+)/.exec(out);
    if (!m || !n) throw new Error(`pgbench output without tps: ${out.slice(-500)}`);
    return { tps: Number(m[1]), txns: Number(n[1]) };
  }
}

async function sideBySide(asyncMode: 'second' | 'none', withDb: boolean, rounds = SIDE_ROUNDS, writeback = false, sync_secondary = false): Promise<Figure[]> {
  return withPair(`s${asyncMode[0]}${writeback ? 'w' : ''}${sync_secondary ? 'd' : ''}`, { async: asyncMode, sync_secondary }, () => undefined, async (p) => {
    await p.prim.call('prim', { ...p.spec('n1'), async: asyncMode, writeback, peer: { host: ADDR, port: PORT } });
    await p.prim.waitStatus('prim', 'in_sync', 20000);
    const bin = buildWireLimit(p.base);
    const wireDir = { local: path.join(p.base, 'wire-local'), remote: path.join(p.base, 'wire-remote') };
    for (const d of Object.values(wireDir)) fs.mkdirSync(d, { recursive: true });
    const recv = spawn('ip', ['netns', 'exec', p.ns.name, bin, 'recv', String(WIRE_PORT), wireDir.remote], { stdio: ['ignore', 'pipe', 'pipe'] });
    const alone = await startAlonePrim(p, asyncMode);
    let floor: FuseFloor;
    try {
      floor = await FuseFloor.start(p.prim.pid, path.join(p.base, 'fuse-src'), path.join(p.base, 'fuse'));
    } catch (e) {
      await alone.node.close();
      throw e;
    }
    const w = { local: Writer.start(p.prim.pid), fuse: Writer.start(p.prim.pid), mirror: Writer.start(p.prim.pid), alone: Writer.start(alone.node.pid) };
    const dirs = { local: path.join(p.base, 'local'), fuse: floor.dir, mirror: p.d1, alone: alone.dir };
    const wire = (args: string[]): Record<string, number> => JSON.parse(p.ns.exec([bin, ...args])) as Record<string, number>;
    const v: Record<string, number[]> = {};
    const put = (k: string, x: number): void => { (v[k] ??= []).push(x); };
    try {
      await new Promise((r) => setTimeout(r, 300)); // the receiver listens
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? (['local', 'fuse', 'wire', 'mirror'] as const) : (['mirror', 'wire', 'fuse', 'local'] as const);
        for (const t of order) {
          sh(['sync'], false, SYNC_TIMEOUT_MS);
          if (t === 'wire') put('seq_wire', SEQ_MIB / wire(['seq', ADDR, String(WIRE_PORT), wireDir.local, String(SEQ_MIB)]).seconds!);
          else put(`seq_${t}`, SEQ_MIB / Number((await w[t].run(['seq', dirs[t], String(SEQ_MIB), 'durable'])).seconds));
        }
        for (const t of order) {
          if (t === 'wire') put('fdsync_wire', wire(['ops', ADDR, String(WIRE_PORT), wireDir.local, String(SIDE_OPS)]).ops_per_s!);
          else {
            put(`fdsync_${t}`, opsPerS((await w[t].run(['fdsync', dirs[t], '0', String(SIDE_OPS), '10'])).lat_us as number[]));
            put(`dsync_${t}`, opsPerS((await w[t].run(['dsync', dirs[t], '0', String(SIDE_OPS), '10'])).lat_us as number[]));
            // Diagnostic: where a write+fdatasync spends its time (each call timed apart).
            const parts = await w[t].run(['fdsyncparts', dirs[t], String(SIDE_OPS / 2)]);
            put(`partw_${t}`, Number(parts.write_4k_us));
            put(`partf_${t}`, Number(parts.fdatasync_dirty_us));
          }
        }
        for (const t of order) if (t !== 'wire') put(`files_${t}`, SIDE_FILES / Number((await w[t].run(['files', dirs[t], String(SIDE_FILES)])).seconds));
        // The capture while ALONE (no network): 4 KiB write + fdatasync, and a database's
        // start-up sync (open, fsync, close of 1000 files), against the local disk.
        for (const t of r % 2 === 0 ? (['local', 'fuse', 'alone'] as const) : (['alone', 'fuse', 'local'] as const)) {
          put(`fdsyncA_${t}`, opsPerS((await w[t].run(['fdsync', dirs[t], '0', String(SIDE_OPS), '10'])).lat_us as number[]));
          put(`fsyncfiles_${t}`, Number((await w[t].run(['fsyncfiles', dirs[t], '1000'])).seconds));
        }
        process.stderr.write(`mirror bench side async=${asyncMode} round ${r}: ${JSON.stringify(Object.fromEntries(Object.entries(v).map(([k, x]) => [k, Math.round(x[r]!)])))}\n`);
      }
      if (withDb) {
        fs.chmodSync(p.base, 0o755); // the postgres user must reach its directories
        const pgs = {
          local: new Pg(p, p.prim.pid, path.join(dirs.local, 'pg'), path.join(p.base, 'pgsock-l'), 5433),
          fuse: new Pg(p, p.prim.pid, path.join(dirs.fuse, 'pg'), path.join(p.base, 'pgsock-f'), 5435),
          mirror: new Pg(p, p.prim.pid, path.join(dirs.mirror, 'pg'), path.join(p.base, 'pgsock-m'), 5434),
        };
        try {
          const from = p.prim.events.length;
          for (const t of ['local', 'fuse', 'mirror'] as const) { pgs[t].start(); put(`pginit_${t}`, pgs[t].init()); }
          // CPU per transaction besides TPS: the machine's (everything on its 2 vCPUs), and that
          // of the FUSE daemon serving the run (bindfs; hakit's PRIM) and of SECOND, which on
          // real servers runs on its own machine.
          const daemons: Record<'local' | 'fuse' | 'mirror', Readonly<Record<string, number | undefined>>> = { local: {}, fuse: { bindfs: floor.pid }, mirror: { prim: p.prim.pid, second: p.second.pid } };
          for (let r = 0; r < 2; r++) {
            for (const t of r === 0 ? (['local', 'fuse', 'mirror'] as const) : (['mirror', 'fuse', 'local'] as const)) {
              const ticks = (): Map<string, number | null> => new Map(Object.entries(daemons[t]).map(([name, pid]) => [name, pid === undefined ? null : processCpuTicks(pid)]));
              const m0 = machineCpuTicks();
              const d0 = ticks();
              const run = pgs[t].pgbench();
              const m1 = machineCpuTicks();
              const d1 = ticks();
              const usPerTxn = (dticks: number): number => (dticks * 1e6) / TICKS_PER_S / run.txns;
              put(`pgtps_${t}`, run.tps);
              put(`pgcpu_${t}`, usPerTxn(m1.busy - m0.busy));
              put(`pgbusy_${t}`, (100 * (m1.busy - m0.busy)) / Math.max(1, m1.all - m0.all));
              // A daemon gone during the run has no figure (a 0 would read as free).
              for (const [name, end] of d1) {
                const start = d0.get(name);
                if (end !== null && start !== null && start !== undefined) put(`pgcpu_${t}_${name}`, usPerTxn(end - start));
              }
            }
          }
          // A link lost meanwhile leaves PRIM ALONE (no replication) for part of the run: count it.
          put('pg_losses', p.prim.events.slice(from).filter((e) => e.event === 'status' && (e.status as { state?: string }).state === 'lost').length);
          process.stderr.write(`mirror bench side pg: ${JSON.stringify(Object.fromEntries(Object.entries(v).filter(([k]) => k.startsWith('pg'))))}\n`);
        } finally {
          for (const g of Object.values(pgs)) g.stop();
        }
      }
    } finally {
      recv.kill('SIGKILL');
      for (const x of Object.values(w)) await x.close();
      await floor.stop();
      await alone.node.close();
    }
    const a = `_async_${asyncMode}${writeback ? '_writeback' : ''}${sync_secondary ? '_sync_secondary' : ''}`;
    const m = (k: string): number => +median(v[k] ?? []).toFixed(1);
    const figs: Figure[] = rounds === 0 ? [] : [
      { figure: `side_seq_durable_local_mib_s${a}`, value: m('seq_local'), unit: 'MiB/s', note: `${SEQ_MIB} x 1 MiB + fdatasync; median of ${SIDE_ROUNDS}` },
      { figure: `side_seq_durable_wire_limit_mib_s${a}`, value: m('seq_wire'), unit: 'MiB/s', note: 'minimal C program: pwrite + sendfile, splice + fdatasync on the peer' },
      { figure: `side_seq_durable_mirror_mib_s${a}`, value: m('seq_mirror'), unit: 'MiB/s' },
      { figure: `side_seq_durable_mirror_vs_limit${a}`, value: +(m('seq_mirror') / m('seq_wire')).toFixed(3), unit: 'x', note: 'goal >= 0.8' },
      { figure: `side_seq_durable_fuse_floor_mib_s${a}`, value: m('seq_fuse'), unit: 'MiB/s', note: FLOOR_NOTE },
      { figure: `side_4k_fdatasync_local_ops_s${a}`, value: m('fdsync_local'), unit: 'ops/s' },
      { figure: `side_4k_fdatasync_wire_limit_ops_s${a}`, value: m('fdsync_wire'), unit: 'ops/s' },
      { figure: `side_4k_fdatasync_mirror_ops_s${a}`, value: m('fdsync_mirror'), unit: 'ops/s' },
      { figure: `side_4k_fdatasync_mirror_vs_local${a}`, value: +(m('fdsync_mirror') / m('fdsync_local')).toFixed(3), unit: 'x', note: 'goal >= 0.9' },
      { figure: `side_4k_fdatasync_fuse_floor_vs_local${a}`, value: +(m('fdsync_fuse') / m('fdsync_local')).toFixed(3), unit: 'x', note: `${m('fdsync_fuse')} ops/s; ${FLOOR_NOTE}` },
      { figure: `side_4k_fdatasync_mirror_vs_fuse_floor${a}`, value: +(m('fdsync_mirror') / m('fdsync_fuse')).toFixed(3), unit: 'x', note: 'what replication costs over the floor' },
      { figure: `side_4k_write_us_fuse_floor${a}`, value: m('partw_fuse'), unit: 'µs', note: `the 4 KiB write of write+fdatasync through bindfs, median (its fdatasync ${m('partf_fuse')} µs)` },
      { figure: `side_4k_write_us_mirror${a}`, value: m('partw_mirror'), unit: 'µs', note: `the 4 KiB write of write+fdatasync, median (local ${m('partw_local')} µs)` },
      { figure: `side_4k_fdatasync_us_mirror${a}`, value: m('partf_mirror'), unit: 'µs', note: `the fdatasync of write+fdatasync, median (local ${m('partf_local')} µs)` },
      { figure: `side_4k_dsync_local_ops_s${a}`, value: m('dsync_local'), unit: 'ops/s' },
      { figure: `side_4k_dsync_mirror_ops_s${a}`, value: m('dsync_mirror'), unit: 'ops/s' },
      { figure: `side_4k_dsync_mirror_vs_local${a}`, value: +(m('dsync_mirror') / m('dsync_local')).toFixed(3), unit: 'x', note: 'goal >= 0.9' },
      { figure: `side_4k_dsync_fuse_floor_vs_local${a}`, value: +(m('dsync_fuse') / m('dsync_local')).toFixed(3), unit: 'x', note: `${m('dsync_fuse')} ops/s; ${FLOOR_NOTE}` },
      { figure: `side_files_local_per_s${a}`, value: m('files_local'), unit: 'files/s', note: `${SIDE_FILES} x (create, 4 KiB, close), fsync dir` },
      { figure: `side_files_fuse_floor_per_s${a}`, value: m('files_fuse'), unit: 'files/s', note: FLOOR_NOTE },
      { figure: `side_files_mirror_per_s${a}`, value: m('files_mirror'), unit: 'files/s' },
      { figure: `side_alone_4k_fdatasync_vs_local${a}`, value: +(m('fdsyncA_local') / m('fdsyncA_alone')).toFixed(3), unit: 'x time', note: `PRIM ALONE: capture cost per write+fdatasync (${m('fdsyncA_alone')} vs ${m('fdsyncA_local')} ops/s); goal <= 1.2` },
      { figure: `side_fuse_floor_4k_fdatasync_vs_local_time${a}`, value: +(m('fdsyncA_local') / m('fdsyncA_fuse')).toFixed(3), unit: 'x time', note: `the floor of the ALONE figure: bindfs, ${m('fdsyncA_fuse')} ops/s` },
      { figure: `side_fuse_floor_fsync_1000_files_vs_local${a}`, value: +(median(v.fsyncfiles_fuse ?? []) / median(v.fsyncfiles_local ?? [])).toFixed(3), unit: 'x time', note: 'the floor of the ALONE figure below: bindfs' },
      { figure: `side_alone_fsync_1000_files_vs_local${a}`, value: +(median(v.fsyncfiles_alone ?? []) / median(v.fsyncfiles_local ?? [])).toFixed(3), unit: 'x time', note: `open+fsync+close of 1000 files (${(median(v.fsyncfiles_alone ?? []) * 1000).toFixed(0)} vs ${(median(v.fsyncfiles_local ?? []) * 1000).toFixed(0)} ms)` },
    ];
    if (withDb) {
      figs.push(
        { figure: `side_pg_init_local_s${a}`, value: m('pginit_local'), unit: 's', note: `pgbench -i -s ${PG_SCALE}` },
        { figure: `side_pg_init_mirror_s${a}`, value: m('pginit_mirror'), unit: 's', note: 'goal <= 2x local' },
        { figure: `side_pg_tps_local${a}`, value: m('pgtps_local'), unit: 'tps', note: `pgbench -c 4 -j 2 -T ${PG_SECONDS}, median of 2` },
        { figure: `side_pg_tps_mirror${a}`, value: m('pgtps_mirror'), unit: 'tps' },
        { figure: `side_pg_tps_mirror_vs_local${a}`, value: +(m('pgtps_mirror') / m('pgtps_local')).toFixed(3), unit: 'x', note: 'goal >= 0.7' },
        { figure: `side_pg_init_fuse_floor_s${a}`, value: m('pginit_fuse'), unit: 's', note: FLOOR_NOTE },
        { figure: `side_pg_tps_fuse_floor_vs_local${a}`, value: +(m('pgtps_fuse') / m('pgtps_local')).toFixed(3), unit: 'x', note: `${m('pgtps_fuse')} tps; ${FLOOR_NOTE}` },
        { figure: `side_pg_cpu_us_per_txn_local${a}`, value: m('pgcpu_local'), unit: 'µs', note: `busy CPU of the whole machine per transaction (2 vCPUs shared by everything; ${m('pgbusy_local')} % busy)` },
        { figure: `side_pg_cpu_us_per_txn_fuse_floor${a}`, value: m('pgcpu_fuse'), unit: 'µs', note: `of which bindfs ${m('pgcpu_fuse_bindfs')} µs; ${m('pgbusy_fuse')} % busy` },
        { figure: `side_pg_cpu_us_per_txn_mirror${a}`, value: m('pgcpu_mirror'), unit: 'µs', note: `of which PRIM's capture ${m('pgcpu_mirror_prim')} µs, SECOND ${m('pgcpu_mirror_second')} µs (its own machine on real servers); ${m('pgbusy_mirror')} % busy` },
        { figure: `side_pg_link_losses${a}`, value: m('pg_losses'), unit: 'count', note: 'link lost during the database runs (PRIM ALONE meanwhile: figures not comparable unless 0)' },
      );
    }
    return figs;
  });
}

// ---- ALONE: what the capture adds to a sync call when there is no SECOND ----

const ALONE_ROUNDS = 5;
const ALONE_FILES = 1000;

/**
 * PRIM ALONE (capture and journal, no network) against the local disk, side by side in one
 * run, ABBA order per round: 4 KiB write + fdatasync, a database's start-up sync (open +
 * fsync + close of 1000 clean files), and its parts (open + close; fdatasync of a clean
 * descriptor held open). Ratios are time through the capture ÷ local time (goal <= 1.2).
 */
async function aloneSync(): Promise<Figure[]> {
  return withPair('al', {}, () => undefined, async (p) => {
    const alone = await startAlonePrim(p, 'none');
    const w = { local: Writer.start(p.prim.pid), alone: Writer.start(alone.node.pid) };
    const dirs = { local: path.join(p.base, 'local'), alone: alone.dir };
    const v: Record<string, number[]> = {};
    const put = (k: string, x: number): void => { (v[k] ??= []).push(x); };
    try {
      for (let r = 0; r <= ALONE_ROUNDS; r++) {
        const order = r % 2 === 0 ? (['local', 'alone'] as const) : (['alone', 'local'] as const);
        for (const t of order) {
          const lat = (await w[t].run(['fdsync', dirs[t], '0', String(SIDE_OPS), '10'])).lat_us as number[];
          const parts = await w[t].run(['syncparts', dirs[t], String(ALONE_FILES)]);
          const files_s = Number((await w[t].run(['fsyncfiles', dirs[t], String(ALONE_FILES)])).seconds);
          if (r === 0) continue; // warm-up round
          put(`fdsync_us_${t}`, median(lat));
          put(`files_ms_${t}`, files_s * 1000);
          for (const k of ['open_close_us', 'open_fsync_close_us', 'fdatasync_clean_us', 'write_4k_us', 'fdatasync_dirty_us']) put(`${k}_${t}`, Number(parts[k]));
        }
        if (r > 0) process.stderr.write(`mirror bench alone round ${r}: ${JSON.stringify(Object.fromEntries(Object.entries(v).map(([k, x]) => [k, Math.round(x[r - 1]!)])))}\n`);
      }
    } finally {
      for (const x of Object.values(w)) await x.close();
      await alone.node.close();
    }
    const ratio = (k: string): { value: number; note: string } => {
      const rs = perRoundRatios(v[`${k}_alone`] ?? [], v[`${k}_local`] ?? []);
      const sp = spread(rs);
      return { value: +sp.median.toFixed(3), note: `median of ${rs.length} per-round ratios (min ${sp.min.toFixed(2)}, max ${sp.max.toFixed(2)}); ${median(v[`${k}_alone`] ?? []).toFixed(0)} vs ${median(v[`${k}_local`] ?? []).toFixed(0)} local` };
    };
    return [
      { figure: 'alone_4k_write_fdatasync_vs_local', unit: 'x time', ...ratio('fdsync_us'), note: `${ratio('fdsync_us').note} (µs, median op); goal <= 1.2` },
      { figure: 'alone_fsync_1000_files_vs_local', unit: 'x time', ...ratio('files_ms'), note: `${ratio('files_ms').note} (ms, open+fsync+close of ${ALONE_FILES} files); goal <= 1.2` },
      { figure: 'alone_open_fsync_close_vs_local', unit: 'x time', ...ratio('open_fsync_close_us'), note: `${ratio('open_fsync_close_us').note} (µs, median)` },
      { figure: 'alone_open_close_vs_local', unit: 'x time', ...ratio('open_close_us'), note: `${ratio('open_close_us').note} (µs, median)` },
      { figure: 'alone_fdatasync_clean_vs_local', unit: 'x time', ...ratio('fdatasync_clean_us'), note: `${ratio('fdatasync_clean_us').note} (µs, median; descriptor held open)` },
      { figure: 'alone_write_4k_vs_local', unit: 'x time', ...ratio('write_4k_us'), note: `${ratio('write_4k_us').note} (µs, median; the write of write+fdatasync)` },
      { figure: 'alone_fdatasync_dirty_vs_local', unit: 'x time', ...ratio('fdatasync_dirty_us'), note: `${ratio('fdatasync_dirty_us').note} (µs, median; the fdatasync of write+fdatasync)` },
    ];
  });
}

function argValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Entry for test/bench/registry.ts: `mirror: mirrorBench`. */
export async function mirrorBench(args: readonly string[] = []): Promise<void> {
  const only = new Set((argValue(args, '--only') ?? 'throughput,reint,files,watch').split(','));
  const files = Number(argValue(args, '--files') ?? 100_000);
  positiveInt('HAKIT_BENCH_SEQ_MIB', String(SEQ_MIB));
  positiveInt('HAKIT_BENCH_SIDE_ROUNDS', String(SIDE_ROUNDS));
  positiveInt('HAKIT_BENCH_FSYNC_OPS', String(FSYNC_OPS));
  const rounds = positiveInt('--rounds', argValue(args, '--rounds') ?? String(DEFAULT_ROUNDS));
  if (rounds > MAX_ROUNDS) throw new Error(`mirror bench: --rounds is at most ${MAX_ROUNDS}, got ${rounds}`);
  const all: Figure[] = [];
  if (only.has('throughput')) all.push(...(await throughput('second', rounds)), ...(await throughput('none', rounds)));
  if (only.has('reint')) all.push(...(await reintegration(args.includes('--full') ? 1024 : 256)));
  if (only.has('files')) all.push(...(await manyFiles(files)));
  if (only.has('watch')) all.push(...(await watchLag()));
  if (only.has('gluster')) all.push(...(await glusterBench(SEQ_MIB)));
  if (only.has('alone')) all.push(...(await aloneSync()));
  if (only.has('side')) {
    const modes = (process.env.HAKIT_BENCH_SIDE_ASYNC ?? 'none,second').split(',');
    if (modes.includes('none')) all.push(...(await sideBySide('none', !args.includes('--no-db'))));
    if (modes.includes('second')) all.push(...(await sideBySide('second', false)));
    // "writeback": async "none" with <rfs writeback="on"> (no database: --only db has it).
    if (modes.includes('writeback')) all.push(...(await sideBySide('none', false, SIDE_ROUNDS, true)));
    // "sync_secondary": async "none" with <rfs sync_secondary="on"> (SECOND's disk at each sync call).
    if (modes.includes('sync_secondary')) all.push(...(await sideBySide('none', false, SIDE_ROUNDS, false, true)));
  }
  // The database alone (PostgreSQL local vs mirror, async "none"): as configured by default,
  // with <rfs sync_secondary="on">, and with <rfs writeback="on">: ~6 minutes.
  if (only.has('db')) all.push(...(await sideBySide('none', true, 0)), ...(await sideBySide('none', true, 0, false, true)), ...(await sideBySide('none', true, 0, true)));
  printFigures('mirror', all);
}

if (require.main === module) {
  mirrorBench(process.argv.slice(2)).catch((e: unknown) => { process.stderr.write(`${String((e as Error).stack ?? e)}\n`); process.exit(1); });
}
