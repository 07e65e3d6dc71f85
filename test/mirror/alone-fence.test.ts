// The ALONE fence (docs/mirror.md, "The ALONE fence"): once PRIM writes without SECOND, a sync
// call returns only when SECOND can no longer take over with a copy lacking it (the module
// layer says so; here the test plays that layer through the harness's 'fenced' command).
// Each sync call type, on real FUSE: SECOND is killed, PRIM goes ALONE and asks for the fence;
// the calls do not return until `fenced`, then return at once; later ALONE calls do not wait.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { inSyncPair } from './harness/in-sync-pair';
import { until } from '../support/until';

const pair = inSyncPair({ tag: 'fence', addr: '198.18.77.15', port: 7825, key: 'e8'.repeat(32), module: 'mfence', spec: { fence: 'module' } }, {
  beforeStart: (p) => fs.writeFileSync(path.join(p.base, 'fence-call.py'), SCRIPT),
  whenInSync: async (p) => {
    // In sync: the fence holds (SECOND acknowledged this session's first frames).
    const r = await p.prim.call('fenced', {});
    expect(r).toMatchObject({ needs_fence: false });
  },
});
const { d1 } = pair;

/** How long the held calls are watched not returning: many local fsyncs, well below any timeout. */
const HELD_MS = 1200;
const KINDS = ['fsync', 'fdatasync', 'o_dsync', 'msync'] as const;

/** Writes `payload` with the call under test; prints "written" and "synced" lines. */
const SCRIPT = String.raw`
import mmap, os, sys
kind, file, payload = sys.argv[1], sys.argv[2], sys.argv[3].encode()
def say(w): print(w, flush=True)
if kind == 'o_dsync':
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_DSYNC, 0o644)
    say('written'); os.write(fd, payload)
elif kind == 'msync':
    fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o644)
    os.ftruncate(fd, 4096)
    m = mmap.mmap(fd, 4096); m[0:len(payload)] = payload
    say('written'); m.flush(); m.close()
else:
    fd = os.open(file, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, payload)
    say('written')
    (os.fsync if kind == 'fsync' else os.fdatasync)(fd)
say('synced')
os.close(fd)
`;

interface Run { lines: Set<string>; done: Promise<void> }

function start(kind: string, file: string): Run {
  const lines = new Set<string>();
  const child = spawn('nsenter', ['-t', String(pair.prim.pid), '-m', '-n', '--', 'python3', path.join(pair.base, 'fence-call.py'), kind, file, `fenced-${kind}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stdout.on('data', (d: Buffer) => { for (const l of d.toString().split('\n')) if (l) lines.add(l.trim()); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const done = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${kind}: did not finish in 20 s (${err})`)); }, 20_000);
    child.on('exit', (code) => { clearTimeout(t); if (code === 0) resolve(); else reject(new Error(`${kind}: exited ${code}: ${err}`)); });
  });
  return { lines, done };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('sync calls made while SECOND may still believe its copy complete wait for the fence, then return; later ones do not wait', async () => {
  const from = pair.prim.events.length;
  process.kill(pair.second.pid, 'SIGKILL');
  await pair.prim.waitEvent((e) => e.event === 'status' && (e.status as { state?: string }).state === 'alone', 10_000, from);
  await pair.prim.waitEvent((e) => e.event === 'fence_wanted', 5_000, from);
  const runs = KINDS.map((k) => start(k, path.join(d1, `${k}.dat`)));
  await until('every helper wrote', () => runs.every((r) => r.lines.has('written')), 10_000);
  await sleep(HELD_MS);
  for (const [i, r] of runs.entries()) expect(`${KINDS[i]}: ${r.lines.has('synced') ? 'returned' : 'held'}`).toBe(`${KINDS[i]}: held`);
  const t0 = Date.now();
  await pair.prim.call('fenced', {});
  await Promise.all(runs.map((r) => r.done));
  expect(Date.now() - t0).toBeLessThan(3000);
  // Fenced: the next ALONE sync call returns on PRIM's disk alone.
  const later = start('fsync', path.join(d1, 'later.dat'));
  await later.done;
  for (const k of KINDS) expect(fs.readFileSync(path.join(d1, `${k}.dat`), 'utf8').startsWith(`fenced-${k}`)).toBe(true);
}, 60000);

test('a refused fence (the module layer knows it cannot hold): held sync calls fail with EIO at once, later ones too, until it holds', async () => {
  // A new session, in sync, then lost again: the fence is wanted anew.
  await pair.startSecond();
  await until('PRIM in sync again', async () => (await pair.prim.call('phase', {}) as { phase?: string }).phase === 'in_sync', 20_000);
  const from = pair.prim.events.length;
  process.kill(pair.second.pid, 'SIGKILL');
  await pair.prim.waitEvent((e) => e.event === 'fence_wanted', 10_000, from);
  const held = start('fsync', path.join(d1, 'refused.dat'));
  await until('the helper wrote', () => held.lines.has('written'), 10_000);
  await sleep(300);
  expect(held.lines.has('synced')).toBe(false);
  const t0 = Date.now();
  await pair.prim.call('refuse_fence', { reason: 'the peer serves (ALONE)' });
  await expect(held.done).rejects.toThrow(/exited 1: .*(Input\/output error|Errno 5)/s);
  expect(Date.now() - t0).toBeLessThan(3000);
  // Later sync calls fail at once while the refusal stands...
  await expect(start('fdatasync', path.join(d1, 'refused-later.dat')).done).rejects.toThrow(/Errno 5|Input\/output error/);
  // ...and return once the fence holds after all.
  await pair.prim.call('fenced', {});
  await start('fsync', path.join(d1, 'fenced-later.dat')).done;
}, 60000);
