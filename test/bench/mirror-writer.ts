// Workload of the mirror benchmark, run as the application would (a separate process in
// PRIM's mount view, plain synchronous calls: it is the application, not the engine).
//   seq DIR MIB        -> {"buffered_s", "durable_s"}: MIB x 1 MiB writes then close, and
//                         MIB x 1 MiB writes then fdatasync then close (two files)
//   fsync DIR N MAX_S  -> {"lat_us": [...]}: N x (4 KiB pwrite + fsync), at most MAX_S seconds
//   scatter FILE N     -> {"changed_bytes"}: N distinct scattered 4 KiB blocks rewritten, fsync
// Prints one JSON line.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

const MIB = 1024 * 1024;

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function writeSeq(file: string, mib: number, durable: boolean): number {
  const buf = randomBytes(MIB);
  const fd = fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_WRONLY | fs.constants.O_TRUNC, 0o644);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < mib; i++) {
    let done = 0;
    while (done < MIB) done += fs.writeSync(fd, buf, done, MIB - done);
  }
  if (durable) fs.fdatasyncSync(fd);
  fs.closeSync(fd);
  return seconds(t0);
}

function fsyncLoop(dir: string, n: number, max_s: number): number[] {
  const buf = randomBytes(4096);
  const fd = fs.openSync(path.join(dir, 'fsync.bin'), fs.constants.O_CREAT | fs.constants.O_WRONLY | fs.constants.O_TRUNC, 0o644);
  const lat: number[] = [];
  const end = process.hrtime.bigint() + BigInt(Math.round(max_s * 1e9));
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fs.writeSync(fd, buf, 0, buf.length, i * 4096);
    fs.fsyncSync(fd);
    const t1 = process.hrtime.bigint();
    lat.push(Number(t1 - t0) / 1000);
    if (t1 > end) break;
  }
  fs.closeSync(fd);
  return lat;
}

/** Overwrites `count` distinct 4 KiB blocks of FILE at deterministic scattered offsets. */
function scatter(file: string, count: number): number {
  const blocks = Math.floor(fs.statSync(file).size / 4096);
  const fd = fs.openSync(file, 'r+');
  const buf = randomBytes(4096);
  const stride = 7919; // prime: i * stride mod blocks visits distinct blocks while count < blocks
  for (let i = 0; i < count; i++) fs.writeSync(fd, buf, 0, 4096, ((i * stride) % blocks) * 4096);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  return count * 4096;
}

function main(argv: string[]): unknown {
  const [mode, target, a, b] = argv;
  if (mode === 'seq' && target) {
    const mib = Number(a);
    const buffered_s = writeSeq(path.join(target, 'seq-buffered.bin'), mib, false);
    const durable_s = writeSeq(path.join(target, 'seq-durable.bin'), mib, true);
    return { buffered_s, durable_s };
  }
  if (mode === 'fsync' && target) return { lat_us: fsyncLoop(target, Number(a), Number(b)) };
  if (mode === 'scatter' && target) return { changed_bytes: scatter(target, Number(a)) };
  throw new Error(`usage: mirror-writer seq DIR MIB | fsync DIR N MAX_S (got ${argv.join(' ')})`);
}

process.stdout.write(`${JSON.stringify(main(process.argv.slice(2)))}\n`);
