// Workload of the mirror benchmark, run as the application would (a separate process in
// PRIM's mount view, plain synchronous calls: it is the application, not the engine).
//   seq DIR MIB KIND        -> {"seconds", "sync_seconds"}: KIND buffered: MIB x 1 MiB writes into a new file
//                              (O_TRUNC) then close (DIR/seq-buffered.bin); KIND durable: the
//                              same then fdatasync before close (DIR/seq-durable.bin)
//   fsync DIR FIRST N MAX_S -> {"lat_us": [...]}: N x (4 KiB pwrite + fsync) into DIR/fsync.bin
//                              at blocks FIRST.. (FIRST 0 starts a new file), at most MAX_S s
//   scatter FILE N          -> {"changed_bytes"}: N distinct scattered 4 KiB blocks rewritten, fsync
//   fdsync DIR FIRST N MAX_S-> {"lat_us"}: as fsync, with fdatasync (DIR/fdsync.bin)
//   dsync DIR FIRST N MAX_S -> {"lat_us"}: N x 4 KiB pwrite on an O_DSYNC descriptor (DIR/dsync.bin)
//   files DIR N             -> {"seconds"}: N new files of 4 KiB (create, write, close) in
//                              DIR/files-<stamp>/, then one fsync of that directory and of
//                              DIR (the durable point of the batch)
//   fsyncfiles DIR N        -> {"seconds"}: N files of 4 KiB made (untimed, once per DIR),
//                              then timed: open, fsync, close each (a database's start-up
//                              sync of its data directory)
//   syncparts DIR N         -> {"open_close_us", "open_fsync_close_us", "fdatasync_clean_us",
//                              "write_4k_us", "fdatasync_dirty_us"}: medians over N files of the
//                              fsyncfiles set (made if missing), and N 4 KiB writes each followed
//                              by fdatasync, timed apart
//   fdsyncparts DIR N       -> {"write_4k_us", "fdatasync_dirty_us"}: N x (4 KiB pwrite, fdatasync)
//                              into DIR/fdsyncparts.bin, medians of each call timed apart
//   serve                   -> one JSON array per stdin line, e.g. ["fsync","/d","0","20","2"],
//                              run like the arguments above; one JSON line answers each
//                              ({"error"} when it failed). Lets a benchmark interleave short
//                              blocks of several writers without starting a process per block.
// Prints one JSON line per command.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { randomBytes } from 'node:crypto';

const MIB = 1024 * 1024;
const BLOCK_BYTES = 4096;
/** Filled once: random so that nothing on the way can compress or deduplicate it. */
const SEQ_BUF = randomBytes(MIB);
const BLOCK_BUF = randomBytes(BLOCK_BYTES);

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Seconds for the whole file, and for its fdatasync alone (0 when not durable). */
function writeSeq(file: string, mib: number, durable: boolean): { seconds: number; sync_seconds: number } {
  const fd = fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_WRONLY | fs.constants.O_TRUNC, 0o644);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < mib; i++) {
    let done = 0;
    while (done < MIB) done += fs.writeSync(fd, SEQ_BUF, done, MIB - done);
  }
  const t1 = process.hrtime.bigint();
  if (durable) fs.fdatasyncSync(fd);
  const sync_seconds = seconds(t1);
  fs.closeSync(fd);
  return { seconds: seconds(t0), sync_seconds };
}

function fsyncLoop(dir: string, first: number, n: number, max_s: number): number[] {
  const flags = fs.constants.O_CREAT | fs.constants.O_WRONLY | (first === 0 ? fs.constants.O_TRUNC : 0);
  const fd = fs.openSync(path.join(dir, 'fsync.bin'), flags, 0o644);
  const lat: number[] = [];
  const end = process.hrtime.bigint() + BigInt(Math.round(max_s * 1e9));
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fs.writeSync(fd, BLOCK_BUF, 0, BLOCK_BYTES, (first + i) * BLOCK_BYTES);
    fs.fsyncSync(fd);
    const t1 = process.hrtime.bigint();
    lat.push(Number(t1 - t0) / 1000);
    if (t1 > end) break;
  }
  fs.closeSync(fd);
  return lat;
}

/** 4 KiB writes made durable one by one: by fdatasync after each, or by O_DSYNC. */
function syncLoop(kind: 'fdsync' | 'dsync', dir: string, first: number, n: number, max_s: number): number[] {
  const flags = fs.constants.O_CREAT | fs.constants.O_WRONLY | (first === 0 ? fs.constants.O_TRUNC : 0) | (kind === 'dsync' ? fs.constants.O_DSYNC : 0);
  const fd = fs.openSync(path.join(dir, `${kind}.bin`), flags, 0o644);
  const lat: number[] = [];
  const end = process.hrtime.bigint() + BigInt(Math.round(max_s * 1e9));
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fs.writeSync(fd, BLOCK_BUF, 0, BLOCK_BYTES, (first + i) * BLOCK_BYTES);
    if (kind === 'fdsync') fs.fdatasyncSync(fd);
    const t1 = process.hrtime.bigint();
    lat.push(Number(t1 - t0) / 1000);
    if (t1 > end) break;
  }
  fs.closeSync(fd);
  return lat;
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

let filesBatch = 0;
function manyFiles(dir: string, n: number): number {
  const sub = path.join(dir, `files-${process.pid}-${filesBatch++}`);
  const t0 = process.hrtime.bigint();
  fs.mkdirSync(sub);
  for (let i = 0; i < n; i++) {
    const fd = fs.openSync(path.join(sub, `f${i}`), fs.constants.O_CREAT | fs.constants.O_WRONLY | fs.constants.O_EXCL, 0o644);
    fs.writeSync(fd, BLOCK_BUF, 0, BLOCK_BYTES, 0);
    fs.closeSync(fd);
  }
  syncDir(sub);
  syncDir(dir);
  return seconds(t0);
}

function fsyncFiles(dir: string, n: number): number {
  const sub = path.join(dir, 'fsyncfiles');
  if (!fs.existsSync(sub)) {
    fs.mkdirSync(sub);
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(sub, `f${i}`), BLOCK_BUF);
    syncDir(sub);
  }
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const fd = fs.openSync(path.join(sub, `f${i}`), fs.constants.O_RDONLY);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
  return seconds(t0);
}

/**
 * Where a database's start-up sync spends its time, per call kind (median µs over the N files
 * of `fsyncFiles`' set, made first): open+close alone, open+fsync+close, and fdatasync of one
 * clean descriptor held open (the sync call alone, no open/close).
 */
function syncParts(dir: string, n: number): { open_close_us: number; open_fsync_close_us: number; fdatasync_clean_us: number; write_4k_us: number; fdatasync_dirty_us: number } {
  fsyncFiles(dir, n); // makes the set once (and warms it up)
  const sub = path.join(dir, 'fsyncfiles');
  const files = fs.readdirSync(sub).slice(0, n);
  const us = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1000;
  const med = (v: number[]): number => v.sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)] ?? NaN;
  const oc: number[] = [];
  const ofc: number[] = [];
  const fc: number[] = [];
  for (const f of files) {
    const t0 = process.hrtime.bigint();
    fs.closeSync(fs.openSync(path.join(sub, f), fs.constants.O_RDONLY));
    oc.push(us(t0));
  }
  for (const f of files) {
    const t0 = process.hrtime.bigint();
    const fd = fs.openSync(path.join(sub, f), fs.constants.O_RDONLY);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    ofc.push(us(t0));
  }
  const fd = fs.openSync(path.join(sub, files[0] ?? 'f0'), fs.constants.O_RDWR);
  for (let i = 0; i < files.length; i++) {
    const t0 = process.hrtime.bigint();
    fs.fdatasyncSync(fd);
    fc.push(us(t0));
  }
  fs.closeSync(fd);
  // A 4 KiB write + fdatasync split in its two calls (write-only descriptor, as fdsync).
  const wfd = fs.openSync(path.join(dir, 'syncparts.bin'), fs.constants.O_CREAT | fs.constants.O_WRONLY | fs.constants.O_TRUNC, 0o644);
  const w: number[] = [];
  const fdd: number[] = [];
  for (let i = 0; i < files.length; i++) {
    const t0 = process.hrtime.bigint();
    fs.writeSync(wfd, BLOCK_BUF, 0, BLOCK_BYTES, i * BLOCK_BYTES);
    w.push(us(t0));
    const t1 = process.hrtime.bigint();
    fs.fdatasyncSync(wfd);
    fdd.push(us(t1));
  }
  fs.closeSync(wfd);
  return { open_close_us: med(oc), open_fsync_close_us: med(ofc), fdatasync_clean_us: med(fc), write_4k_us: med(w), fdatasync_dirty_us: med(fdd) };
}

/** N x (4 KiB pwrite, then fdatasync) on a new write-only file, each call timed apart (median µs). */
function fdsyncParts(dir: string, n: number): { write_4k_us: number; fdatasync_dirty_us: number } {
  const fd = fs.openSync(path.join(dir, 'fdsyncparts.bin'), fs.constants.O_CREAT | fs.constants.O_WRONLY | fs.constants.O_TRUNC, 0o644);
  const us = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1000;
  const med = (v: number[]): number => v.sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)] ?? NaN;
  const w: number[] = [];
  const f: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fs.writeSync(fd, BLOCK_BUF, 0, BLOCK_BYTES, i * BLOCK_BYTES);
    w.push(us(t0));
    const t1 = process.hrtime.bigint();
    fs.fdatasyncSync(fd);
    f.push(us(t1));
  }
  fs.closeSync(fd);
  return { write_4k_us: med(w), fdatasync_dirty_us: med(f) };
}

/** Overwrites `count` distinct 4 KiB blocks of FILE at deterministic scattered offsets. */
function scatter(file: string, count: number): number {
  const blocks = Math.floor(fs.statSync(file).size / BLOCK_BYTES);
  const fd = fs.openSync(file, 'r+');
  const stride = 7919; // prime: i * stride mod blocks visits distinct blocks while count < blocks
  for (let i = 0; i < count; i++) fs.writeSync(fd, BLOCK_BUF, 0, BLOCK_BYTES, ((i * stride) % blocks) * BLOCK_BYTES);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  return count * BLOCK_BYTES;
}

const USAGE = 'usage: mirror-writer seq DIR MIB buffered|durable | fsync DIR FIRST N MAX_S | scatter FILE N | serve';

function run(argv: readonly string[]): unknown {
  const [mode, target, a, b, c] = argv;
  if (mode === 'seq' && target && (b === 'buffered' || b === 'durable')) {
    return writeSeq(path.join(target, `seq-${b}.bin`), Number(a), b === 'durable');
  }
  if (mode === 'fsync' && target) return { lat_us: fsyncLoop(target, Number(a), Number(b), Number(c)) };
  if (mode === 'scatter' && target) return { changed_bytes: scatter(target, Number(a)) };
  if ((mode === 'fdsync' || mode === 'dsync') && target) return { lat_us: syncLoop(mode, target, Number(a), Number(b), Number(c)) };
  if (mode === 'files' && target) return { seconds: manyFiles(target, Number(a)) };
  if (mode === 'fsyncfiles' && target) return { seconds: fsyncFiles(target, Number(a)) };
  if (mode === 'syncparts' && target) return syncParts(target, Number(a));
  if (mode === 'fdsyncparts' && target) return fdsyncParts(target, Number(a));
  throw new Error(`${USAGE} (got ${argv.join(' ')})`);
}

function serve(): void {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let reply: unknown;
    try {
      const argv = JSON.parse(line) as unknown;
      if (!Array.isArray(argv) || argv.some((x) => typeof x !== 'string')) throw new Error(`serve wants a JSON array of strings, got ${line.slice(0, 200)}`);
      reply = run(argv as string[]);
    } catch (e) {
      reply = { error: String((e as Error).message ?? e) };
    }
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  });
  rl.on('close', () => process.exit(0));
}

const argv = process.argv.slice(2);
if (argv[0] === 'serve') serve();
else process.stdout.write(`${JSON.stringify(run(argv))}\n`);
