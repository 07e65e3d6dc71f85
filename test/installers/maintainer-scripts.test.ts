// The package's maintainer scripts (installers/deb/scripts) in the branches that talk to
// systemd, which `dpkg --root` installs (test/installers/package.test.ts) never reach: there
// DPKG_ROOT is set and the scripts leave systemd alone. Here each script runs as dpkg runs it
// on a live system (chroot, no DPKG_ROOT), in a throw-away root that looks like a machine
// booted with systemd (/run/systemd/system exists) and whose `systemctl` is a fake that
// records its calls and answers is-active/is-enabled from marker files. systemd is not PID 1
// on the test machine, so this is as close as the scripts can get to it without a VM.
// The throw-away root: the machine's /usr under an overlay (writes go to a temp dir), its own
// /etc (group and passwd copied, no secrets), /run, /var, /tmp; one mount namespace per call,
// gone when the script exits. The call sequences are dpkg's (deb-postinst(5) and friends).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..');
const SCRIPTS = path.join(REPO, 'installers', 'deb', 'scripts');
const STEP_TIMEOUT_MS = 60_000;
const ARCH = spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).stdout.trim();

const FAKE_SYSTEMCTL = `#!/bin/sh
# Records every call; is-active/is-enabled answer from /fake/active and /fake/enabled.
echo "systemctl $*" >> /fake/calls
case "$1" in
is-active) [ -e /fake/active ] ;;
is-enabled) [ -e /fake/enabled ] ;;
enable) touch /fake/enabled ;;
start) touch /fake/active ;;
stop) rm -f /fake/active ;;
*) exit 0 ;;
esac
`;

interface Root {
  readonly dir: string;
  readonly root: string;
  readonly upper: string;
  readonly work: string;
}

function makeRoot(opts: { systemd: boolean }): Root {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-maint-'));
  const root = path.join(dir, 'root');
  const r = (p: string): string => path.join(root, p);
  for (const d of ['usr', 'etc/default', 'etc/systemd/system', 'run', 'var/lib', 'var/log', 'tmp', 'dev', 'fake', 'fakebin', 'scripts']) fs.mkdirSync(r(d), { recursive: true });
  fs.chmodSync(r('tmp'), 0o1777);
  for (const l of ['bin', 'sbin', 'lib', 'lib64']) if (fs.existsSync(`/usr/${l}`)) fs.symlinkSync(`usr/${l}`, r(l));
  // The machine's users and groups without any secret; what groupadd/groupdel need besides.
  fs.copyFileSync('/etc/passwd', r('etc/passwd'));
  fs.copyFileSync('/etc/group', r('etc/group'));
  const groups = fs.readFileSync('/etc/group', 'utf8').split('\n').filter((l) => l !== '').map((l) => `${l.split(':')[0]}:!::`);
  fs.writeFileSync(r('etc/gshadow'), groups.join('\n') + '\n', { mode: 0o640 });
  for (const f of ['login.defs', 'os-release', 'debian_version', 'nsswitch.conf']) if (fs.existsSync(`/etc/${f}`)) fs.copyFileSync(fs.realpathSync(`/etc/${f}`), r(`etc/${f}`));
  // Commands such as awk are /etc/alternatives links into /usr.
  if (fs.existsSync('/etc/alternatives')) fs.cpSync('/etc/alternatives', r('etc/alternatives'), { recursive: true, verbatimSymlinks: true });
  fs.writeFileSync(r('dev/null'), '');
  if (opts.systemd) fs.mkdirSync(r('run/systemd/system'), { recursive: true });
  fs.writeFileSync(r('fakebin/systemctl'), FAKE_SYSTEMCTL, { mode: 0o755 });
  fs.writeFileSync(r('fake/calls'), '');
  for (const s of ['preinst', 'postinst', 'prerm', 'postrm']) {
    fs.writeFileSync(r(`scripts/${s}`), fs.readFileSync(path.join(SCRIPTS, s), 'utf8').replace(/@ARCH@/g, ARCH), { mode: 0o755 });
  }
  const upper = path.join(dir, 'upper');
  const work = path.join(dir, 'work');
  fs.mkdirSync(upper);
  fs.mkdirSync(work);
  return { dir, root, upper, work };
}

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one maintainer script as dpkg does on a live system: chrooted, no DPKG_ROOT. */
function maint(t: Root, script: string, args: readonly string[]): Ran {
  const mounts = [
    `mount -t overlay overlay -o lowerdir=/usr,upperdir=${t.upper},workdir=${t.work} ${t.root}/usr`,
    `mount --bind /dev/null ${t.root}/dev/null`,
    `exec chroot ${t.root} /usr/bin/env -i PATH=/fakebin:/usr/sbin:/usr/bin:/sbin:/bin /bin/sh /scripts/${script} "$@"`,
  ].join(' && ');
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', mounts, 'maint', ...args], { encoding: 'utf8', timeout: STEP_TIMEOUT_MS });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr + (r.error ? r.error.message : '') };
}

function must(t: Root, script: string, args: readonly string[]): Ran {
  const r = maint(t, script, args);
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return r;
}

/** The systemctl calls since the last look. */
function calls(t: Root): string[] {
  const file = path.join(t.root, 'fake/calls');
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  fs.writeFileSync(file, '');
  return lines;
}

const at = (t: Root, p: string): string => path.join(t.root, p);
const modeOf = (t: Root, p: string): string => (fs.statSync(at(t, p)).mode & 0o7777).toString(8);
const hakitGid = (t: Root): number | undefined => {
  const line = fs.readFileSync(at(t, 'etc/group'), 'utf8').split('\n').find((l) => l.startsWith('hakit:'));
  return line === undefined ? undefined : Number(line.split(':')[2]);
};
/** A stand-in for the package's /usr/bin/hakit (an overlay write: the machine's /usr is untouched). */
function fakeHakit(t: Root, exitCode: number): void {
  fs.mkdirSync(path.join(t.upper, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(t.upper, 'bin', 'hakit'), `#!/bin/sh\necho "hakit $*" >> /fake/calls\nexit ${exitCode}\n`, { mode: 0o755 });
}

const roots: Root[] = [];
function root(opts: { systemd: boolean }): Root {
  const t = makeRoot(opts);
  roots.push(t);
  return t;
}

afterAll(() => {
  for (const t of roots) fs.rmSync(t.dir, { recursive: true, force: true });
});

describe('maintainer scripts on a machine running systemd (fake systemctl)', () => {
  it('fresh install: group and directories made, hakitd enabled and started, the witness only try-restarted', () => {
    const t = root({ systemd: true });
    const pre = must(t, 'preinst', ['install']);
    expect(pre.stderr).not.toContain('systemd is not running');
    expect(calls(t)).toEqual([]);
    must(t, 'postinst', ['configure', '']);
    expect(calls(t)).toEqual(['systemctl daemon-reload', 'systemctl enable hakitd.service', 'systemctl is-active --quiet hakitd.service', 'systemctl is-enabled --quiet hakitd.service', 'systemctl start hakitd.service', 'systemctl try-restart hakit-witness.service']);
    const gid = hakitGid(t);
    expect(gid).toBeDefined();
    expect(fs.readFileSync('/etc/group', 'utf8')).not.toMatch(/^hakit:/m);
    expect([modeOf(t, 'etc/hakit'), fs.statSync(at(t, 'etc/hakit')).gid]).toEqual(['750', gid]);
    expect(modeOf(t, 'var/lib/hakit')).toBe('750');
    expect([modeOf(t, 'var/log/hakit'), fs.statSync(at(t, 'var/log/hakit')).gid]).toEqual(['2750', gid]);
  });

  it('upgrade with hakitd running: nothing stopped; `hakit daemon restart --keep-apps`; config, modes and the group kept', () => {
    const t = root({ systemd: true });
    must(t, 'preinst', ['install']);
    must(t, 'postinst', ['configure', '']);
    const gid = hakitGid(t);
    fs.writeFileSync(at(t, 'etc/hakit/cluster.xml'), '<cluster/>');
    fs.chmodSync(at(t, 'etc/hakit'), 0o700); // an administrator's choice
    fakeHakit(t, 0);
    calls(t);
    // dpkg's upgrade sequence: old prerm, new preinst, (unpack), old postrm, new postinst.
    must(t, 'prerm', ['upgrade', '0.2.0']);
    must(t, 'preinst', ['upgrade', '0.1.0']);
    must(t, 'postrm', ['upgrade', '0.2.0']);
    expect(calls(t)).toEqual([]);
    must(t, 'postinst', ['configure', '0.1.0']);
    expect(calls(t)).toEqual(['systemctl daemon-reload', 'systemctl is-active --quiet hakitd.service', 'hakit daemon restart --keep-apps', 'systemctl try-restart hakit-witness.service']);
    expect(fs.readFileSync(at(t, 'etc/hakit/cluster.xml'), 'utf8')).toBe('<cluster/>');
    expect(modeOf(t, 'etc/hakit')).toBe('700');
    expect(hakitGid(t)).toBe(gid);
  });

  it('upgrade when `hakit daemon restart` fails: hakitd is told to exit for a restart (SIGUSR2) and the upgrade goes on', () => {
    const t = root({ systemd: true });
    must(t, 'postinst', ['configure', '']);
    fakeHakit(t, 1);
    calls(t);
    must(t, 'postinst', ['configure', '0.1.0']);
    expect(calls(t)).toEqual([
      'systemctl daemon-reload',
      'systemctl is-active --quiet hakitd.service',
      'hakit daemon restart --keep-apps',
      'systemctl kill --kill-whom=main --signal=SIGUSR2 hakitd.service',
      'systemctl try-restart hakit-witness.service',
    ]);
  });

  it('upgrade while hakitd is stopped but enabled starts it; disabled leaves it stopped', () => {
    const t = root({ systemd: true });
    must(t, 'postinst', ['configure', '']);
    fs.rmSync(at(t, 'fake/active'));
    calls(t);
    must(t, 'postinst', ['configure', '0.1.0']);
    expect(calls(t)).toEqual(['systemctl daemon-reload', 'systemctl is-active --quiet hakitd.service', 'systemctl is-enabled --quiet hakitd.service', 'systemctl start hakitd.service', 'systemctl try-restart hakit-witness.service']);
    fs.rmSync(at(t, 'fake/active'));
    fs.rmSync(at(t, 'fake/enabled'));
    must(t, 'postinst', ['configure', '0.1.0']);
    expect(calls(t)).not.toContain('systemctl start hakitd.service');
  });

  it('remove stops hakitd the clean way and the witness, keeps config, state, logs and the group; purge removes all of it', () => {
    const t = root({ systemd: true });
    must(t, 'postinst', ['configure', '']);
    fs.writeFileSync(at(t, 'etc/hakit/cluster.key'), 'k');
    fs.writeFileSync(at(t, 'etc/default/hakit'), 'HAKITD_OPTS=');
    fs.writeFileSync(at(t, 'etc/default/hakit-witness'), 'HAKIT_WITNESS_ADDRESS=x');
    fs.mkdirSync(at(t, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
    fs.symlinkSync('/lib/systemd/system/hakitd.service', at(t, 'etc/systemd/system/multi-user.target.wants/hakitd.service'));
    fs.mkdirSync(at(t, 'var/lib/hakit-witness'));
    calls(t);
    must(t, 'prerm', ['remove']);
    expect(calls(t)).toEqual(['systemctl stop hakitd.service hakit-witness.service']);
    must(t, 'postrm', ['remove']);
    expect(calls(t)).toEqual(['systemctl daemon-reload']);
    for (const p of ['etc/hakit/cluster.key', 'var/lib/hakit', 'var/log/hakit', 'etc/default/hakit']) expect(fs.existsSync(at(t, p))).toBe(true);
    expect(hakitGid(t)).toBeDefined();
    must(t, 'postrm', ['purge']);
    expect(calls(t)).toEqual(['systemctl daemon-reload']);
    for (const p of ['etc/hakit', 'var/lib/hakit', 'var/log/hakit', 'etc/default/hakit', 'etc/default/hakit-witness', 'var/lib/hakit-witness', 'etc/systemd/system/multi-user.target.wants/hakitd.service']) {
      expect([p, fs.existsSync(at(t, p))]).toEqual([p, false]);
    }
    expect(hakitGid(t)).toBeUndefined();
    // Purge after purge (dpkg may run it again): nothing left to do, no failure.
    must(t, 'postrm', ['purge']);
  });
});

describe('maintainer scripts without a running systemd', () => {
  it('install warns, enables the unit for the next boot and starts nothing; remove stops nothing', () => {
    const t = root({ systemd: false });
    const pre = must(t, 'preinst', ['install']);
    expect(pre.stderr).toContain('systemd is not running here');
    must(t, 'postinst', ['configure', '']);
    expect(calls(t)).toEqual(['systemctl enable hakitd.service']);
    expect(hakitGid(t)).toBeDefined();
    must(t, 'prerm', ['remove']);
    must(t, 'postrm', ['remove']);
    expect(calls(t)).toEqual([]);
  });
});

describe('maintainer scripts refuse what they do not support', () => {
  it('preinst refuses a system older than Debian 12, with the coded error, before anything changes', () => {
    const t = root({ systemd: true });
    fs.writeFileSync(at(t, 'etc/debian_version'), '11.9\n');
    const r = maint(t, 'preinst', ['install']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('HAKIT_E_PKG_UNSUPPORTED');
    expect(calls(t)).toEqual([]);
  });
});
