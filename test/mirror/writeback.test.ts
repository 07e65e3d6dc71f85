// `<rfs writeback="on">` (docs/mirror.md "Writeback cache"): the kernel keeps writes of
// cached descriptors in the mount's page cache and hands them to us merged, in the
// background and at the latest before a sync call, a close or the unmount returns. Each
// test checks what SECOND holds when the application's call returned.
import fs from 'node:fs';
import path from 'node:path';
import { inSyncPair } from './harness/in-sync-pair';

const pair = inSyncPair({ tag: 'wbc', addr: '198.18.77.31', port: 7841, key: 'c5'.repeat(32), module: 'mwbc', spec: { writeback: true } });
const { d1, d2 } = pair;

/** Runs a Python script in PRIM's mount view, without the fixture's trailing sync. */
function py(name: string, code: string): string {
  const file = path.join(pair.base, `${name}.py`);
  fs.writeFileSync(file, code);
  return pair.appNoSync(`python3 ${file}`).trim();
}

const same = (name: string): boolean => {
  try {
    return fs.readFileSync(path.join(d2, name)).equals(fs.readFileSync(path.join(d1, name)));
  } catch {
    return false;
  }
};

async function eventually(what: string, f: () => boolean, timeout_ms: number): Promise<void> {
  const end = Date.now() + timeout_ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`not within ${timeout_ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('small writes through a read-write descriptor reach us merged; SECOND has them when fsync returns', async () => {
  const before = Number((await pair.second.call('applied')).ops_applied);
  expect(py('merged', `import os
fd = os.open('${d1}/wb.bin', os.O_RDWR | os.O_CREAT, 0o644)
for i in range(256):
    os.pwrite(fd, bytes([i % 251]) * 4096, i * 4096)
os.fsync(fd)
print(os.fstat(fd).st_size)
os.close(fd)`)).toBe(String(256 * 4096));
  expect(same('wb.bin')).toBe(true);
  // Write-through would have shipped one op per write(2).
  const ops = Number((await pair.second.call('applied')).ops_applied) - before;
  expect(ops).toBeLessThan(128);
});

test('a write on an O_DSYNC descriptor and msync(MS_SYNC) return with SECOND holding the bytes', () => {
  expect(py('dsync', `import os, mmap
fd = os.open('${d1}/ds.bin', os.O_RDWR | os.O_CREAT | os.O_DSYNC, 0o644)
os.pwrite(fd, b'd' * 6000, 0)
m = os.open('${d1}/mm.bin', os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(m, 8192)
os.fsync(m)
mm = mmap.mmap(m, 8192, mmap.MAP_SHARED)
mm[100:103] = b'xyz'
mm.flush()
print('ok')`)).toBe('ok');
  // Read at once: the calls above returned only once SECOND held what they cover.
  expect(fs.readFileSync(path.join(d2, 'ds.bin')).equals(Buffer.alloc(6000, 'd'))).toBe(true);
  expect(fs.readFileSync(path.join(d2, 'mm.bin')).subarray(100, 103).toString()).toBe('xyz');
});

test('a write-only descriptor beside a cached one writes part of a page the cache lacks', () => {
  // The kernel fills the page by a READ through the writing descriptor: ours must be readable.
  expect(py('part', `import os
p = '${d1}/part.bin'
with open(p, 'wb') as f: f.write(b'x' * (1 << 20))
r = os.open(p, os.O_RDONLY)
os.pread(r, 10, 0)
w = os.open(p, os.O_WRONLY)
os.pwrite(w, b'abc', 900001)
os.fsync(w)
print(os.pread(r, 5, 900000).decode())
os.close(w); os.close(r)`)).toBe('xabcx');
  expect(fs.readFileSync(path.join(d2, 'part.bin')).subarray(900000, 900005).toString()).toBe('xabcx');
});

test('close writes the dirty pages: the real file has them when close returns, SECOND soon after', async () => {
  py('closed', `import os
fd = os.open('${d1}/closed.bin', os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b'z' * 12288, 0)
os.close(fd)`);
  // d1 seen from here is the real directory behind PRIM's mount (that is in PRIM's namespace).
  expect(fs.readFileSync(path.join(d1, 'closed.bin')).equals(Buffer.alloc(12288, 'z'))).toBe(true);
  await eventually('SECOND has closed.bin', () => same('closed.bin'), 10_000);
});

test('pages dirtied through a mapping after close reach PRIM\'s disk and SECOND when the capture stops', async () => {
  // The descriptor is closed before the pages are dirtied, so no flush covers them: only
  // the unmount's sync of the file system (or the kernel's expiry) writes them to us.
  py('mapped', `import os, mmap
fd = os.open('${d1}/late.bin', os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 8192)
os.fsync(fd)
mm = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
os.close(fd)
mm[0:4] = b'late'
del mm`);
  await pair.prim.call('stop');
  expect(fs.readFileSync(path.join(d1, 'late.bin')).subarray(0, 4).toString()).toBe('late');
  expect(fs.readFileSync(path.join(d2, 'late.bin')).subarray(0, 4).toString()).toBe('late');
}, 30_000);
