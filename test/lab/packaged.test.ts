// The packaged layout (docs/lab.md): a lab whose hosts run the tree the Debian package
// installs, hakitd started from the package's unit file the way systemd starts it; and `down`
// stopping the processes recorded for the lab in the machine's namespaces (the demo's console
// relay), by pid and only while it is the same process.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { Lab } from './index';
import { ensureStagedTree } from './packaged';
import { pidGone, processStartTicks } from './procs';
import { readState, writeState } from './state-file';
import { waitFor } from './testkit';
import { packagedCli, startUnit, unitCommand } from './unit-start';

const NAME = 'tlpk';
/** Staging builds ~100 MB of tree on a shared 2-core machine when the build changed. */
const UP_TIMEOUT_MS = 400_000;
/** An up-to-date tree is found by a walk of dist/: well under this. */
const REUSE_MAX_MS = 3_000;
const DAEMON_WAIT_MS = 30_000;

let lab: Lab | undefined;
const sleepers: ChildProcess[] = [];

function sleeper(): ChildProcess {
  const c = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
  c.unref();
  sleepers.push(c);
  return c;
}

afterAll(async () => {
  await Lab.destroy(NAME);
  for (const c of sleepers) if (c.pid !== undefined && !pidGone(c.pid)) process.kill(c.pid, 'SIGKILL');
}, 60_000);

beforeAll(async () => {
  await Lab.destroy(NAME);
  const t0 = Date.now();
  lab = await Lab.up({ name: NAME, nodes: 1, packaged: true });
  process.stdout.write(`packaged lab up in ${Date.now() - t0} ms (tree ${lab.packagedRoot})\n`);
}, UP_TIMEOUT_MS);

const cat = async (file: string): Promise<string> => (await lab!.exec('node1', ['cat', file])).stdout;

describe('packaged lab', () => {
  it('reuses the staged tree while the build is unchanged', async () => {
    const again = await ensureStagedTree();
    expect(again).toMatchObject({ root: lab!.packagedRoot, staged: false });
    expect(again.took_ms).toBeLessThan(REUSE_MAX_MS);
  });

  it('gives each host the package tree read-only at /usr/lib/hakit, and its own /etc/default/hakit', async () => {
    const v = await lab!.exec('node1', ['/usr/lib/hakit/node', '--version']);
    expect(v.stdout.trim()).toBe(process.version);
    expect((await lab!.exec('node1', ['touch', '/usr/lib/hakit/x'])).code).not.toBe(0);
    expect(await cat('/etc/default/hakit')).toBe('HAKITD_OPTS="--node node1"\n');
    expect(fs.existsSync('/etc/default/hakit')).toBe(false);
  });

  it('starts hakitd as the installed unit does: the package wrapper, /usr/lib/hakit, options from /etc/default/hakit, a clean environment', async () => {
    const cmd = await unitCommand(lab!, 'node1', 'hakitd.service');
    expect(cmd.argv).toEqual([`${lab!.packagedRoot}/usr/sbin/hakitd`, '--node', 'node1']);
    const pid = await startUnit(lab!, 'node1', 'hakitd.service');
    // The wrapper execs the runtime: same pid, as systemd's MAINPID.
    expect(await waitFor(() => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/usr/lib/hakit/node'), 5_000)).toBe(true);
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((x) => x !== '')).toEqual(['/usr/lib/hakit/node', '/usr/lib/hakit/dist/core/daemon/main.js', '--node', 'node1']);
    const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((x) => x !== '').sort();
    // systemd's variables, the unit's EnvironmentFile, and what the wrapper (/bin/sh) adds: PWD, HAKIT_NODE_BIN.
    expect(env).toEqual(['HAKITD_OPTS=--node node1', 'HAKIT_NODE_BIN=/usr/lib/hakit/node', 'LANG=C.UTF-8', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'PWD=/']);
    expect(fs.readlinkSync(`/proc/${pid}/cwd`)).toBe('/');
    // The package's own command talks to it (hakitd without a cluster.xml waits, serving its socket).
    const deadline = Date.now() + DAEMON_WAIT_MS;
    let out = '';
    while (Date.now() < deadline) {
      const r = await lab!.exec('node1', [...packagedCli(lab!), 'state', '--json'], { timeout_ms: 15_000 });
      out = r.stdout + r.stderr;
      if (r.code === 0) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect((JSON.parse(out) as { node: string }).node).toBe('node1');
  }, 60_000);

  it('down stops the recorded host processes, and never a pid that now is another process', async () => {
    const mine = sleeper();
    const other = sleeper();
    lab!.recordHostProcess(mine.pid!, 'test sleeper');
    // A record whose start time does not match: the pid was reused by something else.
    const state = readState(NAME)!;
    writeState({ ...state, hostProcesses: [...(state.hostProcesses ?? []), { pid: other.pid!, startTicks: `${Number(processStartTicks(other.pid!)) + 1}`, what: 'reused pid' }] });
    await lab!.down();
    lab = undefined;
    expect(pidGone(mine.pid!)).toBe(true);
    expect(pidGone(other.pid!)).toBe(false);
  }, 60_000);
});
