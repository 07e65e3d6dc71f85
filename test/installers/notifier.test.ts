// systemd notifications of hakitd and hakit-witness, over real AF_UNIX datagrams: a test
// receiver binds the NOTIFY_SOCKET and reports each datagram with its sender's pid.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HelperNotifier, NoopNotifier, systemdSession } from '../../core/daemon/systemd/notifier';
import { MAX_LOOP_DELAY_MS, parseNotifySettings, shouldPing, statusLine } from '../../core/daemon/systemd/pure/notify-env';
import { startWatchdog } from '../../core/daemon/systemd/watchdog';
import { compileNotifyBinaries, exitOf, NotifyReceiver, type NotifyBinaries } from './notify-support';

const REPO = path.resolve(__dirname, '..', '..');
const DIST = path.join(REPO, 'dist');
const SETTLE_MS = 5_000;

let bins: NotifyBinaries;
const receivers: NotifyReceiver[] = [];
const children: ChildProcess[] = [];
const dirs: string[] = [];

beforeAll(() => {
  bins = compileNotifyBinaries();
  dirs.push(bins.dir);
});
afterEach(() => {
  for (const r of receivers.splice(0)) r.stop();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function abstractName(): string {
  return `@hakit-test-notify-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
}

async function receiver(socket = abstractName()): Promise<NotifyReceiver> {
  const r = new NotifyReceiver(bins.receiver, socket);
  receivers.push(r);
  return r.started();
}

describe('notify settings (pure)', () => {
  test('no NOTIFY_SOCKET: nothing to tell, no watchdog', () => {
    expect(parseNotifySettings({ WATCHDOG_USEC: '10000000' }, 42)).toEqual({ socket: null, watchdog_interval_ms: null });
  });
  test('the watchdog pings at half of WATCHDOG_USEC, only for the pid it names', () => {
    expect(parseNotifySettings({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '10000000', WATCHDOG_PID: '42' }, 42)).toEqual({ socket: '/run/systemd/notify', watchdog_interval_ms: 5000 });
    expect(parseNotifySettings({ NOTIFY_SOCKET: '@abstract', WATCHDOG_USEC: '10000000', WATCHDOG_PID: '41' }, 42).watchdog_interval_ms).toBeNull();
    expect(parseNotifySettings({ NOTIFY_SOCKET: '@abstract', WATCHDOG_USEC: 'x' }, 42).watchdog_interval_ms).toBeNull();
  });
  test('a socket that is neither a path nor @name is ignored', () => {
    expect(parseNotifySettings({ NOTIFY_SOCKET: 'relative/sock' }, 1).socket).toBeNull();
    expect(parseNotifySettings({ NOTIFY_SOCKET: '@' }, 1).socket).toBeNull();
  });
  test('a status text stays one datagram line', () => {
    expect(statusLine('a\nb\r\nc')).toBe('STATUS=a b c');
  });
  test('pings only when healthy and the loop keeps time', () => {
    expect(shouldPing(10, true)).toBe(true);
    expect(shouldPing(10, false)).toBe(false);
    expect(shouldPing(MAX_LOOP_DELAY_MS + 1, true)).toBe(false);
  });
});

describe('systemdSession', () => {
  test('without NOTIFY_SOCKET it is a no-op and still clears the watchdog variables', () => {
    const env: NodeJS.ProcessEnv = { WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1', PATH: '/bin' };
    const s = systemdSession(env, 1);
    expect(s.notifier).toBeInstanceOf(NoopNotifier);
    expect(env).toEqual({ PATH: '/bin' });
  });
  test('takes NOTIFY_SOCKET out of the environment that children inherit', async () => {
    const r = await receiver();
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: r.socket, WATCHDOG_USEC: '2000000', HAKIT_SDNOTIFY: bins.helper };
    const s = systemdSession(env, process.pid);
    expect(env['NOTIFY_SOCKET']).toBeUndefined();
    expect(env['WATCHDOG_USEC']).toBeUndefined();
    expect(s.settings.watchdog_interval_ms).toBe(1000);
    s.notifier.ready();
    expect((await r.next('READY=1', SETTLE_MS)).pid).toBe(process.pid);
    await s.notifier.close();
  });
});

describe('HelperNotifier over real datagrams', () => {
  test.each([
    ['an abstract socket', () => abstractName()],
    ['a socket path', () => path.join(bins.dir, `notify-${crypto.randomBytes(4).toString('hex')}.sock`)],
  ])('sends READY, STATUS, WATCHDOG, STOPPING in order to %s, as the daemon pid', async (_what, name) => {
    const r = await receiver(name());
    const n = new HelperNotifier({ helper_path: bins.helper, socket: r.socket, claim_pid: process.pid });
    n.ready();
    n.status('node n1 running\nsecond line');
    n.watchdog();
    n.stopping();
    await r.next('STOPPING=1', SETTLE_MS);
    expect(r.messages()).toEqual(['READY=1', 'STATUS=node n1 running second line', 'WATCHDOG=1', 'STOPPING=1']);
    // We run as root: the helper may speak for our pid, so NotifyAccess=main accepts it.
    expect(r.received.every((x) => x.pid === process.pid)).toBe(true);
    await n.close();
  });

  test('a missing helper is reported once and never throws', () => {
    const troubles: string[] = [];
    const n = new HelperNotifier({ helper_path: path.join(bins.dir, 'nope'), socket: '@x', claim_pid: 1, onTrouble: (m) => troubles.push(m) });
    n.ready();
    n.watchdog();
    expect(troubles).toHaveLength(1);
    expect(troubles[0]).toContain('missing');
  });

  test('the watchdog pings only while the daemon is healthy', async () => {
    const r = await receiver();
    const n = new HelperNotifier({ helper_path: bins.helper, socket: r.socket, claim_pid: process.pid });
    let healthy = true;
    const skipped: boolean[] = [];
    const stop = startWatchdog({ notifier: n, interval_ms: 50, healthy: () => healthy, onSkip: (why) => skipped.push(why.daemon_healthy) });
    await r.next('WATCHDOG=1', SETTLE_MS);
    healthy = false;
    await new Promise((res) => setTimeout(res, 500)); // a ping sent just before may still be in flight
    const before = r.received.length;
    await new Promise((res) => setTimeout(res, 300));
    expect(r.received.length).toBe(before);
    expect(skipped.length).toBeGreaterThanOrEqual(3);
    stop();
    await n.close();
  });
});

// The daemons as systemd runs them (dist/ from `npm run build`).
describe('hakitd and hakit-witness speak to systemd', () => {
  beforeAll(() => {
    for (const f of ['core/daemon/main.js', 'core/witness/main.js']) {
      if (!fs.existsSync(path.join(DIST, f))) throw new Error(`dist/${f} is missing: run npm run build first`);
    }
  });

  function tempDir(): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-notify-daemon-'));
    dirs.push(d);
    return d;
  }
  function keyFile(dir: string): string {
    const f = path.join(dir, 'cluster.key');
    fs.writeFileSync(f, crypto.randomBytes(32).toString('base64'), { mode: 0o600 });
    return f;
  }
  function start(entry: string, args: string[], socket: string): ChildProcess {
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', NOTIFY_SOCKET: socket, WATCHDOG_USEC: '400000', HAKIT_SDNOTIFY: bins.helper };
    const child = spawn(process.execPath, [path.join(DIST, entry), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    return child;
  }
  const port = (): number => 20_000 + crypto.randomInt(20_000);

  test('hakit-witness: READY, watchdog pings, STOPPING on SIGTERM, exit 0', async () => {
    const dir = tempDir();
    const r = await receiver();
    const w = start('core/witness/main.js', ['--address', '127.0.0.1', '--port', String(port()), '--key-file', keyFile(dir), '--state-dir', path.join(dir, 'state'), '--log-dir', path.join(dir, 'log')], r.socket);
    const ready = await r.next('READY=1', SETTLE_MS);
    await r.next('WATCHDOG=1', SETTLE_MS);
    w.kill('SIGTERM');
    await r.next('STOPPING=1', SETTLE_MS);
    expect(await exitOf(w, SETTLE_MS)).toBe(0);
    expect(ready.pid).toBe(w.pid);
  });

  function oneNodeCluster(dir: string): string[] {
    const conf = path.join(dir, 'conf');
    fs.mkdirSync(conf);
    fs.writeFileSync(path.join(conf, 'cluster.xml'), `<cluster name="notify" keyfile="${keyFile(dir)}">\n  <lan name="lan0">\n    <node name="node1" addr="127.0.0.1" port="${port()}"/>\n  </lan>\n</cluster>\n`);
    return ['--node', 'node1', '--conf-dir', conf, '--state-dir', path.join(dir, 'state'), '--run-dir', path.join(dir, 'run'), '--log-dir', path.join(dir, 'log')];
  }

  test('hakitd: READY as its own pid, watchdog pings while membership ticks, STOPPING on SIGTERM', async () => {
    const dir = tempDir();
    const r = await receiver();
    const d = start('core/daemon/main.js', oneNodeCluster(dir), r.socket);
    const ready = await r.next('READY=1', SETTLE_MS);
    expect(ready.pid).toBe(d.pid);
    expect((await r.next('WATCHDOG=1', SETTLE_MS)).pid).toBe(d.pid);
    d.kill('SIGTERM');
    await r.next('STOPPING=1', SETTLE_MS);
    expect(await exitOf(d, SETTLE_MS)).toBe(0);
  });

  test('hakitd: SIGUSR2 exits 75 (restart, modules left running) without STOPPING', async () => {
    const dir = tempDir();
    const r = await receiver();
    const d = start('core/daemon/main.js', oneNodeCluster(dir), r.socket);
    await r.next('READY=1', SETTLE_MS);
    d.kill('SIGUSR2');
    expect(await exitOf(d, SETTLE_MS)).toBe(75);
    expect(r.messages()).not.toContain('STOPPING=1');
  });

  test('hakitd without cluster.xml waits: READY, watchdog pings, clean exit on SIGTERM', async () => {
    const dir = tempDir();
    const r = await receiver();
    const d = start('core/daemon/main.js', ['--node', 'n1', '--conf-dir', path.join(dir, 'none'), '--state-dir', path.join(dir, 'state'), '--run-dir', path.join(dir, 'run'), '--log-dir', path.join(dir, 'log')], r.socket);
    await r.next('READY=1', SETTLE_MS);
    await r.next('WATCHDOG=1', SETTLE_MS);
    expect(d.exitCode).toBeNull();
    d.kill('SIGTERM');
    expect(await exitOf(d, SETTLE_MS)).toBe(0);
  });
});
