// The fd store protocol end to end without FUSE: hakitd's keeper (core/daemon/systemd/fd-store.ts)
// hands a descriptor to the store through hakit-sdnotify --fdstore (FDSTORE=1, SCM_RIGHTS),
// the service dies, and the next start gets it back as LISTEN_FDS/LISTEN_FDNAMES, still the
// same open file; FDSTOREREMOVE=1 drops it. The store is fd-holder, the lab's stand-in for
// systemd's (docs/adr/0009-fuse-mount-survives-daemon.md).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const HELPER = path.join(ROOT, 'dist', 'bin', 'hakit-sdnotify');
const STORE = path.join(ROOT, 'dist', 'core', 'daemon', 'systemd', 'fd-store.js');
const LISTEN = path.join(ROOT, 'dist', 'core', 'daemon', 'systemd', 'pure', 'listen-fds.js');
let dir: string;
let holder: string;

/** One life of the service: reports what it was given, keeps or drops, then dies with `exit`. */
const SERVICE = `
const fs = require('fs');
const { SystemdFdStore } = require(${JSON.stringify(STORE)});
const { parseListenFds } = require(${JSON.stringify(LISTEN)});
const dir = process.argv[2];
const passed = parseListenFds(process.env, process.pid);
const store = new SystemdFdStore({ helper_path: ${JSON.stringify(HELPER)}, socket: process.env.NOTIFY_SOCKET, claim_pid: process.pid, state_dir: dir, passed });
const life = fs.readdirSync(dir).filter((n) => n.startsWith('life-')).length;
const report = { names: passed.map((p) => p.name), read: null };
const fd = store.take('hakit-fuse-7');
if (fd !== undefined) { const b = Buffer.alloc(5); fs.readSync(fd, b, 0, 5, 0); report.read = b.toString(); }
fs.writeFileSync(dir + '/life-' + life, JSON.stringify(report));
(async () => {
  if (life === 0) { await store.keep('hakit-fuse-7', fs.openSync(process.argv[3], 'r')); process.exit(1); }
  if (life === 1) { await store.drop('hakit-fuse-7'); process.exit(1); }
  process.exit(0);
})();
`;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-fdstore-'));
  holder = path.join(dir, 'fd-holder');
  execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', holder, path.join(__dirname, 'fd-holder.c')]);
  fs.writeFileSync(path.join(dir, 'data'), 'kept!');
  fs.writeFileSync(path.join(dir, 'service.js'), SERVICE);
  expect(fs.existsSync(HELPER)).toBe(true);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a kept descriptor comes back to the next life, and is gone once dropped', async () => {
  const state = path.join(dir, 'state');
  fs.mkdirSync(state);
  // The data file is unlinked after the first life: only the stored descriptor reaches it.
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(holder, ['--socket', path.join(dir, 'notify.sock'), '--pidfile', path.join(dir, 'pid'), '--restart-ms', '100', '--max-starts', '5', '--',
      process.execPath, path.join(dir, 'service.js'), state, path.join(dir, 'data')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const unlinkOnce = setInterval(() => { if (fs.existsSync(path.join(state, 'life-0'))) fs.rmSync(path.join(dir, 'data'), { force: true }); }, 5);
    child.on('error', reject);
    child.on('exit', (c) => { clearTimeout(timer); clearInterval(unlinkOnce); resolve(c); });
  });
  expect(code).toBe(0);
  const life = (n: number): { names: string[]; read: string | null } => JSON.parse(fs.readFileSync(path.join(state, `life-${n}`), 'utf8')) as { names: string[]; read: string | null };
  expect(life(0)).toEqual({ names: [], read: null });
  expect(life(1)).toEqual({ names: ['hakit-fuse-7'], read: 'kept!' });
  expect(life(2)).toEqual({ names: [], read: null });
}, 30_000);

test('the helper refuses a name systemd would refuse', () => {
  let status = 0;
  try {
    execFileSync(HELPER, ['--fdstore', 'bad:name'], { env: { NOTIFY_SOCKET: '/nonexistent' }, stdio: 'pipe' });
  } catch (e) {
    status = (e as { status: number }).status;
  }
  expect(status).toBe(2);
});
