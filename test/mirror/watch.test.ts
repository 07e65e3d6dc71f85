// Watch mode (asynchronous capture): the application writes to the directory itself (no
// FUSE); a watcher hints, the engine re-reads, compares block hashes with what it last
// shipped and ships only the changed blocks. Renames and removals are namespace ops; a
// hint overflow becomes one full rescan. Prints the measured lag (the recovery point).
import fs from 'node:fs';
import path from 'node:path';
import { MirrorPair } from './harness/pair';
import { quantile } from '../bench/figures';

const LAG_WRITES = 30;
const WAIT_MS = 10000;
const pair = new MirrorPair({ tag: 'watch', addr: '198.18.77.5', port: 7815, key: 'e5'.repeat(32), module: 'mwatch', spec: { async: 'second', mode: 'watch', watch_max_hints: 20, notreplicated: ['\\.tmp$'] } });
const { d1, d2 } = pair;

/** Polls until `pred` holds (bounded in time); returns the milliseconds it took. */
async function until(pred: () => boolean, what: string, timeout_ms = WAIT_MS): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (pred()) return performance.now() - t0;
    if (performance.now() - t0 > timeout_ms) throw new Error(`not replicated within ${timeout_ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function sameFile(rel: string): boolean {
  try {
    return fs.readFileSync(path.join(d2, rel)).equals(fs.readFileSync(path.join(d1, rel)));
  } catch {
    return false;
  }
}

async function shipped(): Promise<number> { return Number((await pair.prim.call('phase')).shipped_bytes); }

beforeAll(async () => {
  pair.prepare();
  fs.writeFileSync(path.join(d1, 'before.txt'), 'there before the start\n');
  await pair.startSecond();
  await pair.startPrim();
}, 60000);

afterAll(() => pair.stop(), 60000);

test('first sync copies the tree; new writes reach SECOND after a measured lag', async () => {
  expect(sameFile('before.txt')).toBe(true);
  const lags: number[] = [];
  for (let i = 0; i < LAG_WRITES; i++) {
    const rel = `lag-${i}.txt`;
    const t0 = performance.now();
    fs.writeFileSync(path.join(d1, rel), `record ${i}\n`.repeat(10));
    await until(() => sameFile(rel), rel);
    lags.push(performance.now() - t0);
  }
  const p95 = quantile(lags, 0.95);
  process.stdout.write(`${JSON.stringify({ bench: 'mirror', figure: 'watch_lag_p95_ms', value: +p95.toFixed(1), unit: 'ms', p50: +quantile(lags, 0.5).toFixed(1) })}\n`);
  expect(p95).toBeLessThan(WAIT_MS);
}, 60000);

test('a 4 KiB change in a 4 MiB file ships one block, not the file', async () => {
  const f = path.join(d1, 'big.bin');
  fs.writeFileSync(f, Buffer.alloc(4 << 20, 7));
  await until(() => sameFile('big.bin'), 'big.bin');
  await pair.prim.call('settled');
  const before = await shipped();
  const fd = fs.openSync(f, 'r+');
  fs.writeSync(fd, Buffer.alloc(4096, 9), 0, 4096, 1 << 20);
  fs.closeSync(fd);
  await until(() => sameFile('big.bin'), 'big.bin changed block');
  await pair.prim.call('settled');
  const delta = (await shipped()) - before;
  expect(delta).toBeGreaterThanOrEqual(4096);
  expect(delta).toBeLessThanOrEqual(16 * 1024);
}, 60000);

test('rename, unlink, mkdir, symlink, chmod, truncate; excluded files stay local', async () => {
  await pair.prim.call('settled');
  const before = await shipped();
  fs.renameSync(path.join(d1, 'big.bin'), path.join(d1, 'moved.bin'));
  fs.unlinkSync(path.join(d1, 'before.txt'));
  fs.mkdirSync(path.join(d1, 'sub'));
  fs.writeFileSync(path.join(d1, 'sub', 'in.txt'), 'inside\n');
  fs.symlinkSync('sub/in.txt', path.join(d1, 'link'));
  fs.chmodSync(path.join(d1, 'lag-0.txt'), 0o600);
  fs.truncateSync(path.join(d1, 'lag-1.txt'), 3);
  fs.writeFileSync(path.join(d1, 'scratch.tmp'), 'never replicated\n');
  await until(() => sameFile('moved.bin') && !fs.existsSync(path.join(d2, 'big.bin')), 'rename');
  await until(() => !fs.existsSync(path.join(d2, 'before.txt')), 'unlink');
  await until(() => sameFile('sub/in.txt'), 'mkdir + file');
  await until(() => { try { return fs.readlinkSync(path.join(d2, 'link')) === 'sub/in.txt'; } catch { return false; } }, 'symlink');
  await until(() => (fs.statSync(path.join(d2, 'lag-0.txt')).mode & 0o777) === 0o600, 'chmod');
  await until(() => sameFile('lag-1.txt'), 'truncate');
  await pair.prim.call('settled');
  // The 4 MiB file moved as a rename: no data shipped for it.
  expect((await shipped()) - before).toBeLessThan(64 * 1024);
  expect(fs.existsSync(path.join(d2, 'scratch.tmp'))).toBe(false);
}, 60000);

test('a hint overflow becomes one full rescan that misses nothing', async () => {
  const { rescans: before } = await pair.prim.call('phase');
  const names = Array.from({ length: 60 }, (_, i) => `burst-${i}.txt`);
  for (const n of names) fs.writeFileSync(path.join(d1, n), `${n}\n`);
  await until(() => names.every(sameFile), 'burst files', 20000);
  expect(Number((await pair.prim.call('phase')).rescans)).toBeGreaterThan(Number(before));
  await pair.prim.call('settled');
  expect((await pair.prim.call('verify')).diff).toEqual([]);
}, 60000);
