// Mirror benchmark: the sync FUSE mirror (PRIM + SECOND in one network namespace of ours,
// each in its own mount namespace) against the same workload on the local disk.
//   npm run bench -- mirror   (once registered)   or   node dist/test/bench/mirror.js
// Prints a table, then one JSON line per figure (test/bench/figures.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HarnessNode, TestNetns } from '../mirror/harness/netns';
import { printFigures } from './figures';

const ADDR = '198.18.77.9';
const PORT = 7819;
const SEQ_MIB = Number(process.env.HAKIT_BENCH_SEQ_MIB ?? 256);
const FSYNC_OPS = Number(process.env.HAKIT_BENCH_FSYNC_OPS ?? 1000);
const FSYNC_MAX_S = 15;
const WRITER = path.resolve(__dirname, '../../../test/bench/mirror-writer.py');
const WRITER_SRC = fs.existsSync(WRITER) ? WRITER : path.resolve(__dirname, 'mirror-writer.py');

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

export async function runMirrorBench(asyncMode: 'second' | 'none'): Promise<Array<{ figure: string; value: number; unit: string }>> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-hm-bench-'));
  const ns = new TestNetns(`b${asyncMode[0]}`, ADDR);
  let prim: HarnessNode | undefined;
  let second: HarnessNode | undefined;
  const figures: Array<{ figure: string; value: number; unit: string }> = [];
  try {
    for (const d of ['n1/data', 'n2/data', 'local']) fs.mkdirSync(path.join(base, d), { recursive: true });
    ns.up();
    const spec = (n: string) => ({ module: 'mbench', dirs: [path.join(base, n, 'data')], work_dir: path.join(base, n, 'work'), key: 'ab'.repeat(32), async: asyncMode });
    second = await HarnessNode.spawn(ns);
    await second.call('second', { ...spec('n2'), listen: { host: ADDR, port: PORT } });
    prim = await HarnessNode.spawn(ns);
    await prim.call('prim', { ...spec('n1'), peer: { host: ADDR, port: PORT } });
    await prim.waitStatus('prim', 'in_sync', 20000);
    const py = (args: string[]) => ns.exec(['python3', WRITER_SRC, ...args], prim!.pid).trim();
    const mirrorDir = path.join(base, 'n1', 'data');
    const localDir = path.join(base, 'local');

    const seqLocal = Number(py(['seq', localDir, String(SEQ_MIB)]));
    const seqMirror = Number(py(['seq', mirrorDir, String(SEQ_MIB)]));
    fs.rmSync(path.join(localDir, 'seq.bin'));
    const f = (lat: string) => lat.split(' ').map(Number);
    const latLocal = f(py(['fsync', localDir, String(FSYNC_OPS), String(FSYNC_MAX_S)]));
    const latMirror = f(py(['fsync', mirrorDir, String(FSYNC_OPS), String(FSYNC_MAX_S)]));
    const ops = (l: number[]) => l.length / (l.reduce((a, b) => a + b, 0) / 1e6);
    const same = fs.readFileSync(path.join(base, 'n2', 'data', 'seq.bin')).equals(fs.readFileSync(path.join(mirrorDir, 'seq.bin')));
    if (!same) throw new Error('benchmark copy differs from PRIM');

    const mbps = (s: number) => SEQ_MIB / s;
    figures.push(
      { figure: `seq_write_local_mib_s`, value: +mbps(seqLocal).toFixed(1), unit: 'MiB/s' },
      { figure: `seq_write_mirror_mib_s`, value: +mbps(seqMirror).toFixed(1), unit: 'MiB/s' },
      { figure: `seq_write_vs_local`, value: +(seqLocal / seqMirror).toFixed(3), unit: 'x' },
      { figure: `fsync4k_local_ops_s`, value: +ops(latLocal).toFixed(0), unit: 'ops/s' },
      { figure: `fsync4k_mirror_ops_s`, value: +ops(latMirror).toFixed(0), unit: 'ops/s' },
      { figure: `fsync4k_vs_local`, value: +(ops(latMirror) / ops(latLocal)).toFixed(3), unit: 'x' },
      { figure: `fsync4k_mirror_p50_us`, value: pct(latMirror, 50), unit: 'us' },
      { figure: `fsync4k_mirror_p99_us`, value: pct(latMirror, 99), unit: 'us' },
      { figure: `fsync4k_local_p50_us`, value: pct(latLocal, 50), unit: 'us' },
      { figure: `fsync4k_local_p99_us`, value: pct(latLocal, 99), unit: 'us' },
    );
    return figures.map((x) => ({ ...x, figure: `${x.figure}_async_${asyncMode}` }));
  } finally {
    await prim?.close();
    await second?.close();
    ns.down();
    fs.rmSync(base, { recursive: true, force: true });
  }
}

/** Entry for test/bench/registry.ts: `mirror: mirrorBench`. */
export async function mirrorBench(_args: readonly string[] = []): Promise<void> {
  const all = [...(await runMirrorBench('second')), ...(await runMirrorBench('none'))];
  printFigures('mirror', all);
}

if (require.main === module) {
  mirrorBench().catch((e: unknown) => { process.stderr.write(`${String((e as Error).stack ?? e)}\n`); process.exit(1); });
}
