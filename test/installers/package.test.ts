// The Debian package (npm run package): built once here, then inspected, installed into
// throw-away roots with `dpkg --root` (maintainer scripts run chrootless, with DPKG_ROOT), run
// with its bundled Node.js runtime, upgraded, removed and purged. Its systemd units are
// checked with `systemd-analyze verify`.
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileNotifyBinaries, exitOf, NotifyReceiver, type NotifyBinaries } from './notify-support';

const REPO = path.resolve(__dirname, '..', '..');
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
/** Building compiles the tree and compresses ~100 MB: bounded, generously for a shared CI box. */
const BUILD_TIMEOUT_MS = 240_000;
const STEP_TIMEOUT_MS = 60_000;
/** A package larger than this has picked up something it should not carry. */
const MAX_PACKAGE_BYTES = 40 * 1024 * 1024;
/** A clean PATH without any Node.js of the system's. */
const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[], opts: SpawnSyncOptions = {}): Ran {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: STEP_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, ...opts });
  return { status: r.status, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') + (r.error ? r.error.message : '') };
}

function mustRun(cmd: string, args: readonly string[], opts: SpawnSyncOptions = {}): Ran {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

const arch = spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout.trim();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-pkg-test-'));
let deb = '';
let build_s = 0;
let bins: NotifyBinaries;

beforeAll(() => {
  bins = compileNotifyBinaries();
  const given = process.env['HAKIT_TEST_DEB'];
  if (given) {
    // A package built just before (e.g. by `npm run package`): tested as is, not rebuilt.
    deb = path.resolve(given);
    process.stdout.write(`package: ${deb} (HAKIT_TEST_DEB), ${fs.statSync(deb).size} bytes\n`);
    return;
  }
  const started = Date.now();
  // One build for the whole file; the runtime download is cached in dist/pkg/cache.
  const r = run('npm', ['run', '--silent', 'package'], { cwd: REPO, env: { ...process.env, HAKIT_PKG_OUT: path.join(work, 'out') }, timeout: BUILD_TIMEOUT_MS });
  if (r.status !== 0) throw new Error(`npm run package failed (${r.status}):\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  build_s = (Date.now() - started) / 1000;
  deb = path.join(work, 'out', `hakit_${VERSION}_${arch}.deb`);
  process.stdout.write(`package: ${deb}, ${fs.statSync(deb).size} bytes, built in ${build_s.toFixed(1)} s\n`);
}, BUILD_TIMEOUT_MS + 30_000);

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  if (bins) fs.rmSync(bins.dir, { recursive: true, force: true });
});

interface Entry {
  readonly mode: string;
  readonly owner: string;
  readonly size: number;
  readonly path: string;
}

function contents(): Entry[] {
  return mustRun('dpkg-deb', ['--contents', deb])
    .stdout.split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const f = l.split(/\s+/);
      return { mode: f[0] ?? '', owner: f[1] ?? '', size: Number(f[2]), path: (f[5] ?? '').replace(/^\.\//, '/') };
    });
}

describe('the package file', () => {
  test('control: name, version, architecture, Debian dependencies only', () => {
    const info = mustRun('dpkg-deb', ['--field', deb, 'Package', 'Version', 'Architecture', 'Depends']).stdout;
    expect(info).toContain('Package: hakit');
    expect(info).toContain(`Version: ${VERSION}`);
    expect(info).toContain(`Architecture: ${arch}`);
    const depends = /^Depends: (.*)$/m.exec(info)?.[1]?.split(/,\s*/) ?? [];
    expect(depends).toEqual(expect.arrayContaining(['nftables', 'iproute2', 'iputils-arping', 'iputils-ping', 'mount', 'util-linux', 'bsdutils', 'passwd']));
    expect(depends.filter((d) => /node|npm/.test(d))).toEqual([]);
    const scripts = mustRun('dpkg-deb', ['--info', deb]).stdout;
    for (const s of ['preinst', 'postinst', 'prerm', 'postrm', 'conffiles', 'md5sums']) expect(scripts).toContain(s);
  });

  test('files: runtime, built JS, wrappers, units, logrotate, man pages; root-owned; no tests or dev tools', () => {
    const entries = contents();
    const byPath = new Map(entries.map((e) => [e.path, e]));
    const mode = (p: string): string | undefined => byPath.get(p)?.mode;
    for (const p of ['/usr/bin/hakit', '/usr/sbin/hakitd', '/usr/sbin/hakit-witness', '/usr/lib/hakit/node', '/usr/lib/hakit/dist/bin/hakit-sdnotify']) expect([p, mode(p)]).toEqual([p, '-rwxr-xr-x']);
    for (const p of [
      '/usr/lib/hakit/dist/core/cli/main.js',
      '/usr/lib/hakit/dist/core/daemon/main.js',
      '/usr/lib/hakit/dist/core/witness/main.js',
      '/usr/lib/hakit/package.json',
      '/usr/lib/hakit/node_modules/pino/package.json',
      '/lib/systemd/system/hakitd.service',
      '/lib/systemd/system/hakit-witness.service',
      '/etc/logrotate.d/hakit',
      '/usr/share/man/man1/hakit.1.gz',
      '/usr/share/man/man8/hakitd.8.gz',
      '/usr/share/man/man8/hakit-witness.8.gz',
      '/usr/share/doc/hakit/copyright',
      '/usr/share/hakit/examples/mirror_http/conf/userconfig.xml',
    ]) {
      expect([p, mode(p)]).toEqual([p, '-rw-r--r--']);
    }
    expect(byPath.has('/usr/lib/hakit/node_modules/raw-socket/build/Release/raw.node')).toBe(true); // native addon, built here
    expect(entries.filter((e) => e.owner !== 'root/root')).toEqual([]);
    const stray = entries.filter((e) => /\.test\.js$|\.map$|\/dist\/test\/|\/node_modules\/(typescript|jest|ts-jest|eslint|@types\/jest|fast-check)\/|\/node_modules\/(.*\/)?(test|tests|__tests__)\//.test(e.path));
    expect(stray.map((e) => e.path)).toEqual([]);
    // The package does not make the config, state and log directories: postinst does, with modes.
    expect(byPath.has('/etc/hakit/')).toBe(false);
  });

  test(`size stays reasonable (< ${MAX_PACKAGE_BYTES / 1024 / 1024} MB)`, () => {
    const size = fs.statSync(deb).size;
    const installed_kb = Number(mustRun('dpkg-deb', ['--field', deb, 'Installed-Size']).stdout.trim());
    process.stdout.write(`package ${(size / 1024 / 1024).toFixed(1)} MiB, installed ${(installed_kb / 1024).toFixed(1)} MiB, build ${build_s.toFixed(1)} s\n`);
    expect(size).toBeLessThan(MAX_PACKAGE_BYTES);
  });
});

/** A throw-away root for `dpkg --root`: a dpkg database, the files the maintainer scripts read. */
function makeRoot(name: string, osRelease: string, debianVersion: string): string {
  const root = path.join(work, name);
  // Only directories no package owns: dpkg removes the ones hakit ships (usr/bin, ...) at purge.
  for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/log', 'etc/systemd/system/multi-user.target.wants', 'etc/default', 'run']) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.writeFileSync(path.join(root, 'var/lib/dpkg/status'), '');
  fs.writeFileSync(path.join(root, 'var/lib/dpkg/available'), '');
  fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nadm:x:4:\n');
  fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.writeFileSync(path.join(root, 'etc/os-release'), osRelease);
  fs.writeFileSync(path.join(root, 'etc/debian_version'), `${debianVersion}\n`);
  return root;
}

const DEBIAN_12 = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';

function dpkg(root: string, ...args: string[]): Ran {
  // --force-script-chrootless: the maintainer scripts run here with DPKG_ROOT=root (the root
  // has no shell to chroot into); --force-depends: the root has no Debian packages at all.
  return run('dpkg', [`--root=${root}`, '--force-script-chrootless', '--force-depends', '--log=/dev/null', ...args]);
}

/** Every path under root with its type and mode, dpkg's own database left out. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(root, rel))) {
      const r = path.join(rel, name);
      if (r === 'var/lib/dpkg' || /^etc\/(group|passwd|gshadow|shadow)-$/.test(r)) continue;
      const st = fs.lstatSync(path.join(root, r));
      out.push(`${r} ${(st.mode & 0o7777).toString(8)}`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out.sort();
}

/** An installed wrapper, pointed at the throw-away root instead of /usr/lib/hakit. */
function rootedWrapper(root: string, wrapper: string): string {
  const text = fs.readFileSync(path.join(root, wrapper), 'utf8');
  expect(text).toMatch(/^exec "\$lib\/node" /m); // exec: the daemon keeps the unit's MAINPID
  const out = path.join(work, `${path.basename(root)}-${path.basename(wrapper)}`);
  fs.writeFileSync(out, text.replace(/^lib=\/usr\/lib\/hakit$/m, `lib=${root}/usr/lib/hakit`), { mode: 0o755 });
  return out;
}

function groupId(root: string): number | undefined {
  const line = fs
    .readFileSync(path.join(root, 'etc/group'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('hakit:'));
  return line === undefined ? undefined : Number(line.split(':')[2]);
}

describe('install, run, upgrade, remove, purge (dpkg --root)', () => {
  let root = '';
  let before: string[] = [];

  beforeAll(() => {
    root = makeRoot('debian12', DEBIAN_12, '12.7');
    before = tree(root);
  });

  test('installs: hakit group, directories with their modes, hakitd enabled', () => {
    const started = Date.now();
    const r = dpkg(root, '--install', deb);
    process.stdout.write(`dpkg --install: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    expect([r.status, r.stderr]).toEqual([0, expect.any(String)]);
    const gid = groupId(root);
    expect(gid).toBeGreaterThan(0);
    const stat = (p: string): [string, number, number] => {
      const st = fs.statSync(path.join(root, p));
      return [(st.mode & 0o7777).toString(8), st.uid, st.gid];
    };
    expect(stat('etc/hakit')).toEqual(['750', 0, gid]);
    expect(stat('var/lib/hakit')).toEqual(['750', 0, 0]);
    expect(stat('var/log/hakit')).toEqual(['2750', 0, gid]);
    expect(fs.readlinkSync(path.join(root, 'etc/systemd/system/multi-user.target.wants/hakitd.service'))).toBe('/lib/systemd/system/hakitd.service');
    expect(fs.existsSync(path.join(root, 'etc/systemd/system/multi-user.target.wants/hakit-witness.service'))).toBe(false);
  });

  test('the installed commands run on the bundled runtime, with no Node.js on PATH', () => {
    for (const [wrapper, expected] of [
      ['usr/bin/hakit', VERSION],
      ['usr/sbin/hakitd', VERSION],
      ['usr/sbin/hakit-witness', VERSION],
    ] as const) {
      const w = rootedWrapper(root, wrapper);
      for (const PATH of [SYSTEM_PATH, '/nonexistent']) {
        const r = run('/bin/sh', [w, '--version'], { env: { PATH } });
        expect([wrapper, PATH, r.status, r.stdout.trim()]).toEqual([wrapper, PATH, 0, expected]);
      }
    }
    // The runtime itself, directly.
    const node = path.join(root, 'usr/lib/hakit/node');
    const r = run(node, ['-e', 'process.stdout.write(process.version + " " + require(process.argv[1]).constructor.name)', path.join(root, 'usr/lib/hakit/node_modules/raw-socket')], { env: { PATH: '/nonexistent' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^v2\d+\.\d+\.\d+ /);
  });

  test('the installed hakit-witness tells systemd READY through the bundled helper', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'witness-'));
    const key = path.join(dir, 'cluster.key');
    fs.writeFileSync(key, crypto.randomBytes(32).toString('base64'), { mode: 0o600 });
    const socket = `@hakit-test-pkg-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    const receiver = await new NotifyReceiver(bins.receiver, socket).started();
    const w = spawn('/bin/sh', [rootedWrapper(root, 'usr/sbin/hakit-witness'), '--address', '127.0.0.1', '--port', String(20_000 + crypto.randomInt(20_000)), '--key-file', key, '--state-dir', path.join(dir, 'state'), '--log-dir', path.join(dir, 'log')], {
      env: { PATH: SYSTEM_PATH, NOTIFY_SOCKET: socket, WATCHDOG_USEC: '400000' },
      stdio: 'ignore',
    });
    try {
      const ready = await receiver.next('READY=1', 10_000);
      expect(ready.pid).toBe(w.pid); // the wrapper exec'ed: the shell's pid is node's
      await receiver.next('WATCHDOG=1', 5_000);
      w.kill('SIGTERM');
      expect(await exitOf(w, 5_000)).toBe(0);
    } finally {
      if (w.exitCode === null) w.kill('SIGKILL');
      receiver.stop();
    }
  });

  test('upgrade (same package again) keeps configuration and the administrator\'s modes', () => {
    fs.writeFileSync(path.join(root, 'etc/hakit/cluster.xml'), '<cluster/>\n');
    fs.mkdirSync(path.join(root, 'var/lib/hakit/modules/m1'), { recursive: true });
    fs.chmodSync(path.join(root, 'var/log/hakit'), 0o2700);
    const r = dpkg(root, '--install', deb);
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(root, 'etc/hakit/cluster.xml'), 'utf8')).toBe('<cluster/>\n');
    expect(fs.existsSync(path.join(root, 'var/lib/hakit/modules/m1'))).toBe(true);
    expect((fs.statSync(path.join(root, 'var/log/hakit')).mode & 0o7777).toString(8)).toBe('2700');
  });

  test('remove leaves configuration, state and logs; purge leaves nothing', () => {
    fs.writeFileSync(path.join(root, 'var/log/hakit/hakitd.log'), '{}\n');
    expect(dpkg(root, '--remove', 'hakit').status).toBe(0);
    expect(fs.existsSync(path.join(root, 'usr/lib/hakit'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'usr/bin/hakit'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'etc/hakit/cluster.xml'))).toBe(true);
    expect(fs.existsSync(path.join(root, 'var/log/hakit/hakitd.log'))).toBe(true);
    expect(groupId(root)).toBeDefined();

    fs.writeFileSync(path.join(root, 'etc/default/hakit'), 'HAKITD_OPTS=\n');
    expect(dpkg(root, '--purge', 'hakit').status).toBe(0);
    expect(tree(root)).toEqual(before);
    expect(groupId(root)).toBeUndefined();
  });
});

describe('an unsupported system is refused before anything is unpacked', () => {
  test.each([
    ['Debian 11', DEBIAN_12.replace(/12/g, '11').replace('bookworm', 'bullseye'), '11.9'],
    ['a system that is not Debian', 'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=40\n', ''],
    ['Ubuntu 22.04 (built on Debian 11)', 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\n', 'bullseye/sid'],
  ])('%s: HAKIT_E_PKG_UNSUPPORTED, nothing installed', (name, osRelease, debianVersion) => {
    const root = makeRoot(`refused-${name.replace(/\W+/g, '-')}`, osRelease, debianVersion);
    const before = tree(root);
    const r = dpkg(root, '--install', deb);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('HAKIT_E_PKG_UNSUPPORTED');
    expect(tree(root)).toEqual(before);
  });

  test('derivatives built on Debian 12 or later are accepted (preinst alone)', () => {
    const control = path.join(work, 'control');
    mustRun('dpkg-deb', ['--control', deb, control]);
    for (const [osRelease, debianVersion] of [
      ['NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n', 'trixie/sid'],
      [DEBIAN_12.replace('VERSION_ID="12"\n', ''), 'trixie/sid'],
      [DEBIAN_12, '12.7'],
    ] as const) {
      const root = makeRoot(`accepted-${crypto.randomBytes(3).toString('hex')}`, osRelease, debianVersion);
      const r = run('/bin/sh', [path.join(control, 'preinst'), 'install'], { env: { PATH: SYSTEM_PATH, DPKG_ROOT: root } });
      expect([debianVersion, r.status, r.stderr]).toEqual([debianVersion, 0, '']);
    }
  });
});

describe('an unsupported architecture is refused', () => {
  test('preinst of a package built for another architecture: HAKIT_E_PKG_UNSUPPORTED', () => {
    const control = path.join(work, 'control-arch');
    mustRun('dpkg-deb', ['--control', deb, control]);
    const other = arch === 'arm64' ? 'amd64' : 'arm64';
    const preinst = path.join(control, 'preinst-other');
    fs.writeFileSync(preinst, fs.readFileSync(path.join(control, 'preinst'), 'utf8').replace(`PACKAGE_ARCH="${arch}"`, `PACKAGE_ARCH="${other}"`));
    const root = makeRoot('foreign-arch', DEBIAN_12, '12.7');
    const r = run('/bin/sh', [preinst, 'install'], { env: { PATH: SYSTEM_PATH, DPKG_ROOT: root } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`HAKIT_E_PKG_UNSUPPORTED: this system is ${arch}, the package carries a Node.js runtime for ${other}`);
  });
});

describe('systemd units', () => {
  let units = '';
  beforeAll(() => {
    units = path.join(work, 'units');
    mustRun('dpkg-deb', ['--extract', deb, units]);
  });

  /** A root with the host's systemd units (the targets ours refer to) and ours. */
  function verifyRoot(): string {
    const v = fs.mkdtempSync(path.join(work, 'verify-'));
    fs.mkdirSync(path.join(v, 'lib/systemd'), { recursive: true });
    fs.cpSync('/lib/systemd/system', path.join(v, 'lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    fs.cpSync(path.join(units, 'usr'), path.join(v, 'usr'), { recursive: true, filter: (src) => !src.includes('/usr/lib/hakit') });
    return v;
  }

  /** Parse problems are warnings (exit 0): SYSTEMD_LOG_LEVEL=warning shows them, a clean unit prints nothing. */
  function verify(v: string, files: readonly string[]): Ran {
    return run('systemd-analyze', ['verify', '--man=no', `--root=${v}`, ...files], { env: { ...process.env, SYSTEMD_LOG_LEVEL: 'warning', SYSTEMD_LOG_TARGET: 'console' } });
  }

  test('systemd-analyze verify accepts hakitd.service and hakit-witness.service', () => {
    const v = verifyRoot();
    const files = ['hakitd.service', 'hakit-witness.service'].map((u) => {
      fs.copyFileSync(path.join(units, 'lib/systemd/system', u), path.join(v, 'lib/systemd/system', u));
      return path.join(v, 'lib/systemd/system', u);
    });
    const r = verify(v, files);
    expect([r.status, r.stderr.trim()]).toEqual([0, '']);
  });

  test('systemd-analyze verify catches a broken unit (the check is real)', () => {
    const v = verifyRoot();
    const bad = path.join(v, 'lib/systemd/system', 'hakitd.service');
    const good = fs.readFileSync(path.join(units, 'lib/systemd/system/hakitd.service'), 'utf8');
    fs.writeFileSync(bad, good.replace(/^KillMode=process$/m, 'KillMode=sometimes'));
    expect(verify(v, [bad]).stderr).toContain('Failed to parse kill mode specification, ignoring: sometimes');
    fs.writeFileSync(bad, good.replace(/^ExecStart=\/usr\/sbin\/hakitd/m, 'ExecStart=/usr/sbin/nothere'));
    expect(verify(v, [bad]).stderr).toContain('/usr/sbin/nothere is not executable');
  });

  test('hakitd.service: notify + watchdog, restarts, keeps applications, no mount namespace', () => {
    const text = fs.readFileSync(path.join(units, 'lib/systemd/system/hakitd.service'), 'utf8');
    const settings = new Map(
      text
        .split('\n')
        .filter((l) => /^[A-Za-z]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
    );
    expect(Object.fromEntries(['Type', 'NotifyAccess', 'Restart', 'KillMode', 'RestartForceExitStatus', 'OOMPolicy', 'ExecStart'].map((k) => [k, settings.get(k)]))).toEqual({
      Type: 'notify',
      NotifyAccess: 'main',
      Restart: 'on-failure',
      KillMode: 'process',
      RestartForceExitStatus: '75',
      OOMPolicy: 'continue',
      ExecStart: '/usr/sbin/hakitd $HAKITD_OPTS',
    });
    expect(settings.get('WatchdogSec')).toMatch(/^\d+s$/);
    // Each of these would put hakitd (and the FUSE mounts of mirror modules) in a private mount namespace.
    for (const k of ['ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'PrivateMounts', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectControlGroups', 'ReadWritePaths', 'ReadOnlyPaths', 'NoNewPrivileges', 'CapabilityBoundingSet']) {
      expect([k, settings.has(k)]).toEqual([k, false]);
    }
  });
});
