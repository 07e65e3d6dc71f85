// PostgreSQL's backends are signalled all the time (latches, SIGUSR1), and every signal to a
// process waiting in a FUSE request makes the kernel INTERRUPT it; a request interrupted before
// hakitd read it vanishes from /dev/fuse, so the read that epoll announced finds nothing
// (EAGAIN) or fails (ENOENT). Neither may end the capture: a mount whose server stops reading is
// aborted, and every application call then fails (ECONNABORTED, then ENOTCONN).
// Bounded: 4 writers for STORM_S seconds, signalled in a tight loop.
import fs from 'node:fs';
import path from 'node:path';
import { inSyncPair } from './harness/in-sync-pair';

const pair = inSyncPair({ tag: 'storm', addr: '198.18.77.16', port: 7826, key: 'e9'.repeat(32), module: 'mstorm' }, {
  beforeStart: (p) => fs.writeFileSync(path.join(p.base, 'storm.py'), SCRIPT),
});
const STORM_S = 6;

const SCRIPT = String.raw`
import os, sys, signal, time
d = sys.argv[1]; secs = float(sys.argv[2]); nproc = int(sys.argv[3])
pids = []
signal.signal(signal.SIGUSR1, lambda *_: None)   # inherited: set before any child can be signalled
for i in range(nproc):
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.path.join(d, 'storm-%d' % i), os.O_WRONLY | os.O_CREAT, 0o644)
        end = time.monotonic() + secs
        n = 0
        try:
            while time.monotonic() < end:
                os.pwrite(fd, b'x' * 4096, (n % 256) * 4096)
                if n % 4 == 0: os.fdatasync(fd)
                n += 1
        except OSError as e:
            print('child', i, 'error', e, flush=True); os._exit(1)
        os._exit(0)
    pids.append(pid)
end = time.monotonic() + secs
k = 0
while time.monotonic() < end:
    for p in pids:
        try: os.kill(p, signal.SIGUSR1)
        except ProcessLookupError: pass
    k += 1
    if k % 50 == 0: time.sleep(0.0005)
bad = 0
for p in pids:
    _, st = os.waitpid(p, 0)
    if st != 0: bad += 1
print('signals', k * len(pids), 'bad children', bad, flush=True)
sys.exit(1 if bad else 0)
`;

test('a storm of signals to writers waiting in the capture never ends the mount', () => {
  const out = pair.inPrim(['sh', '-c', `timeout ${STORM_S + 30} python3 ${path.join(pair.base, 'storm.py')} ${pair.d1} ${STORM_S} 4 2>&1; echo rc=$?`]);
  expect(out).toMatch(/bad children 0\nrc=0/);
  // The mount still serves: a write and an fsync of the directory reach SECOND.
  pair.app(`echo after-storm > ${pair.d1}/after.txt`);
  expect(fs.readFileSync(path.join(pair.d2, 'after.txt'), 'utf8')).toBe('after-storm\n');
}, 90000);
