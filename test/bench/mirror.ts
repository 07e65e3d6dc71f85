// Mirror benchmark: PRIM + SECOND in one network namespace of ours (each node in its own
// mount namespace), every ratio measured side by side in one run.
//   npm run bench -- mirror [--full] [--files N] [--only throughput,reint,files,watch]
//   --full: re-integration data set of 1 GiB (default 256 MiB); --files: 100000 by default.
// Sections: throughput (1 MiB sequential writes buffered and durable, 4 KiB write+fsync;
// async "second" and "none" vs the local disk), reint (1 % of the data set changed while
// SECOND was down), files (time before a full re-integration starts shipping), watch (lag).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HarnessNode, TestNetns } from '../mirror/harness/netns';
import { distPath } from '../support/dist';
import { printFigures, quantile, type Figure } from './figures';

const ADDR = '198.18.77.9';
const PORT = 7819;
const KEY = 'ab'.repeat(32);
const SEQ_MIB = Number(process.env.HAKIT_BENCH_SEQ_MIB ?? 256);
const FSYNC_OPS = Number(process.env.HAKIT_BENCH_FSYNC_OPS ?? 1000);
const FSYNC_MAX_S = 15;
const WATCH_WRITES = 100;
const WAIT_MS = 120_000;

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

function writer(p: Pair, args: string[]): { buffered_s: number; durable_s: number; lat_us: number[]; changed_bytes: number } {
  return JSON.parse(p.ns.exec([...writerArgv(), ...args], p.prim.pid)) as ReturnType<typeof writer>;
}

async function throughput(asyncMode: 'second' | 'none'): Promise<Figure[]> {
  return withPair(`t${asyncMode[0]}`, { async: asyncMode }, () => undefined, async (p) => {
    await p.prim.call('prim', { ...p.spec('n1'), async: asyncMode, peer: { host: ADDR, port: PORT } });
    await p.prim.waitStatus('prim', 'in_sync', 20000);
    const localDir = path.join(p.base, 'local');
    const seqL = writer(p, ['seq', localDir, String(SEQ_MIB)]);
    const seqM = writer(p, ['seq', p.d1, String(SEQ_MIB)]);
    const latL = writer(p, ['fsync', localDir, String(FSYNC_OPS), String(FSYNC_MAX_S)]).lat_us;
    const latM = writer(p, ['fsync', p.d1, String(FSYNC_OPS), String(FSYNC_MAX_S)]).lat_us;
    if (!fs.readFileSync(path.join(p.d2, 'seq-durable.bin')).equals(fs.readFileSync(path.join(p.d1, 'seq-durable.bin')))) {
      throw new Error('benchmark copy differs from PRIM');
    }
    const mibs = (s: number) => +(SEQ_MIB / s).toFixed(1);
    const ops = (l: number[]) => l.length / (l.reduce((a, b) => a + b, 0) / 1e6);
    const a = `_async_${asyncMode}`;
    return [
      { figure: `seq_buffered_local_mib_s${a}`, value: mibs(seqL.buffered_s), unit: 'MiB/s', note: 'write N MiB, close' },
      { figure: `seq_buffered_mirror_mib_s${a}`, value: mibs(seqM.buffered_s), unit: 'MiB/s' },
      { figure: `seq_buffered_vs_local${a}`, value: +(seqL.buffered_s / seqM.buffered_s).toFixed(3), unit: 'x' },
      { figure: `seq_durable_local_mib_s${a}`, value: mibs(seqL.durable_s), unit: 'MiB/s', note: 'write N MiB, fdatasync, close' },
      { figure: `seq_durable_mirror_mib_s${a}`, value: mibs(seqM.durable_s), unit: 'MiB/s' },
      { figure: `seq_durable_vs_local${a}`, value: +(seqL.durable_s / seqM.durable_s).toFixed(3), unit: 'x', note: 'goal >= 0.8' },
      { figure: `fsync4k_local_ops_s${a}`, value: +ops(latL).toFixed(0), unit: 'ops/s' },
      { figure: `fsync4k_mirror_ops_s${a}`, value: +ops(latM).toFixed(0), unit: 'ops/s' },
      { figure: `fsync4k_vs_local${a}`, value: +(ops(latM) / ops(latL)).toFixed(3), unit: 'x', note: 'goal >= 0.5' },
      { figure: `fsync4k_mirror_p50_us${a}`, value: quantile(latM, 0.5), unit: 'us' },
      { figure: `fsync4k_mirror_p99_us${a}`, value: quantile(latM, 0.99), unit: 'us' },
      { figure: `fsync4k_local_p50_us${a}`, value: quantile(latL, 0.5), unit: 'us' },
      { figure: `fsync4k_local_p99_us${a}`, value: quantile(latL, 0.99), unit: 'us' },
    ];
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

function argValue(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Entry for test/bench/registry.ts: `mirror: mirrorBench`. */
export async function mirrorBench(args: readonly string[] = []): Promise<void> {
  const only = new Set((argValue(args, '--only') ?? 'throughput,reint,files,watch').split(','));
  const files = Number(argValue(args, '--files') ?? 100_000);
  const all: Figure[] = [];
  if (only.has('throughput')) all.push(...(await throughput('second')), ...(await throughput('none')));
  if (only.has('reint')) all.push(...(await reintegration(args.includes('--full') ? 1024 : 256)));
  if (only.has('files')) all.push(...(await manyFiles(files)));
  if (only.has('watch')) all.push(...(await watchLag()));
  printFigures('mirror', all);
}

if (require.main === module) {
  mirrorBench(process.argv.slice(2)).catch((e: unknown) => { process.stderr.write(`${String((e as Error).stack ?? e)}\n`); process.exit(1); });
}
