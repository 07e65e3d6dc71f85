// Hosts of a real lab: exec passes exit codes and output through, each node has its own
// persistent mount view, and kill is a power cut (links dead, every process, FUSE aborted,
// mounts undone) until powerOn.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { distPath } from '../support/dist';
import { Lab } from './index';
import { pidGone } from './procs';
import { reachable, waitFor } from './testkit';

const NAME = 'tlh';
let lab: Lab;

beforeAll(async () => {
  await Lab.destroy(NAME);
  lab = await Lab.up({ name: NAME, nodes: 2, client: true });
});

afterAll(async () => {
  await Lab.destroy(NAME);
});

describe('lab exec', () => {
  it('passes exit codes, stdout and stderr through', async () => {
    expect(await lab.exec('node1', ['sh', '-c', 'echo out; echo err >&2; exit 7'])).toEqual({ code: 7, stdout: 'out\n', stderr: 'err\n' });
    expect((await lab.exec('node2', ['true'])).code).toBe(0);
    expect((await lab.exec('node1', ['sh', '-c', 'kill -9 $$'])).code).toBe(137);
  });

  it('runs in the host network view and keeps the cwd', async () => {
    const r = await lab.exec('node2', ['sh', '-c', 'ip -o -4 addr show dev eth0; ls /sys/class/net; pwd'], { cwd: '/tmp' });
    expect(r.stdout).toContain(lab.addr('node2', 0));
    expect(r.stdout).toMatch(/^eth0$/m);
    expect(r.stdout.trim().endsWith('/tmp')).toBe(true);
  });
});

describe('lab mount views', () => {
  it('shows each node its own /srv', async () => {
    expect((await lab.exec('node1', ['sh', '-c', 'echo one > /srv/tlh-file'])).code).toBe(0);
    expect((await lab.exec('node1', ['cat', '/srv/tlh-file'])).stdout).toBe('one\n');
    expect((await lab.exec('node2', ['test', '-e', '/srv/tlh-file'])).code).toBe(1);
    expect(fs.existsSync('/srv/tlh-file')).toBe(false);
    expect(fs.readFileSync(`/var/lib/hakit-lab/${NAME}/node1/srv/tlh-file`, 'utf8')).toBe('one\n');
  });

  it('keeps a mount made by a node process for later execs on that node only', async () => {
    expect((await lab.exec('node1', ['sh', '-c', 'mkdir -p /srv/m && mount -t tmpfs tlh-tmpfs /srv/m && echo x > /srv/m/f'])).code).toBe(0);
    expect((await lab.exec('node1', ['cat', '/srv/m/f'])).stdout).toBe('x\n');
    expect((await lab.exec('node2', ['sh', '-c', 'grep -c tlh-tmpfs /proc/self/mounts'])).stdout.trim()).toBe('0');
    expect(fs.readFileSync('/proc/self/mounts', 'utf8')).not.toContain('tlh-tmpfs');
    for (const dir of ['/etc/hakit', '/var/lib/hakit', '/var/log/hakit', '/run/hakit']) {
      expect((await lab.exec('node2', ['sh', '-c', `grep -c ' ${dir} ' /proc/self/mounts`])).stdout.trim()).toBe('1');
    }
  });
});

describe('lab kill', () => {
  it('ends every process of the host at once, daemons and namespace joiners included, and only them', async () => {
    const child = lab.spawn('node1', ['sleep', '301']);
    await lab.exec('node1', ['sh', '-c', 'setsid sleep 302 </dev/null >/dev/null 2>&1 & nohup sleep 303 >/dev/null 2>&1 &']);
    // Joined only one of the two namespaces: still the host's.
    const netOnly = spawn('nsenter', [`--net=${lab.hosts[0]!.netnsPath}`, '--', 'sleep', '304']);
    const mntOnly = spawn('nsenter', [`--mount=${lab.hosts[0]!.mountPin}`, '--', 'sleep', '305']);
    const other = lab.spawn('node2', ['sleep', '306']);
    expect(await waitFor(() => lab.pids('node1').length >= 5 && lab.pids('node2').length >= 1, 5000)).toBe(true);
    const victims = lab.pids('node1');
    const report = await lab.kill('node1');
    expect(report.killed.sort()).toEqual(expect.arrayContaining(victims.sort()));
    for (const pid of victims) expect(pidGone(pid)).toBe(true);
    expect(lab.pids('node1')).toEqual([]);
    expect(lab.pids('node2').length).toBeGreaterThanOrEqual(1);
    // The tmpfs made by a node process went with the power; the disk (/srv) stayed.
    expect((await lab.exec('node1', ['sh', '-c', 'grep -c tlh-tmpfs /proc/self/mounts; cat /srv/tlh-file'])).stdout).toBe('0\none\n');
    for (const c of [child, netOnly, mntOnly, other]) c.kill('SIGKILL');
    await lab.powerOn('node1');
  });

  it('makes the host silent (no reply, no RST, no ARP) until powerOn', async () => {
    const target = lab.addr('node1', 0);
    // A TCP port nobody listens on: a live kernel answers RST at once ("refused").
    const probe = `require('net').connect({host:'${target}',port:9,timeout:700}).on('connect',()=>console.log('open')).on('timeout',function(){console.log('timeout');this.destroy()}).on('error',(e)=>console.log(e.code))`;
    const tcp = async (): Promise<string> => (await lab.exec('client', [process.execPath, '-e', probe], { timeout_ms: 5000 })).stdout.trim();
    expect(await tcp()).toBe('ECONNREFUSED');
    await lab.kill('node1');
    expect(lab.isOff('node1')).toBe(true);
    expect(lab.status().poweredOff).toEqual(['node1']);
    await lab.exec('client', ['ip', 'neigh', 'flush', 'dev', 'eth0']);
    expect((await lab.exec('client', ['ping', '-c', '1', '-W', '1', target])).code).not.toBe(0);
    expect(await tcp()).not.toBe('ECONNREFUSED');
    expect((await lab.exec('client', ['ip', 'neigh', 'show', target])).stdout).not.toMatch(/REACHABLE|STALE|DELAY/);
    await lab.powerOn('node1');
    expect(lab.isOff('node1')).toBe(false);
    expect(await reachable(lab, 'client', 'node1', 0)).toBe(true);
    expect(await tcp()).toBe('ECONNREFUSED');
  });

  it('aborts the host FUSE mount even when a process hangs in it, and the host powers on again', async () => {
    // A FUSE server of hakit's own session whose lookup of /hang never answers.
    const session = distPath('core/mirror/fuse/session.ts');
    const server = `
      process.env.UV_THREADPOOL_SIZE = '8';
      const { FuseSession } = require(${JSON.stringify(session)}); const fs = require('fs');
      fs.mkdirSync('/srv/fz', { recursive: true }); const root = fs.statSync('/srv/fz');
      const ops = { getattr: (p) => (p === '/' ? Promise.resolve(root) : new Promise(() => {})) };
      FuseSession.mount({ mountpoint: '/srv/fz', fsname: 'hakit-lab-test', ops }).then(() => console.log('mounted'), (e) => console.log('fail ' + e.message));`;
    const srv = lab.spawn('node1', [process.execPath, '-e', server], { detached: true });
    let out = '';
    srv.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    expect(await waitFor(() => out.includes('mounted') || out.includes('fail'), 10_000)).toBe(true);
    expect(out).toContain('mounted');
    // This ls never gets an answer: it hangs in the kernel until the connection is aborted.
    const hung = lab.spawn('node1', ['ls', '/srv/fz/hang']);
    await new Promise((r) => setTimeout(r, 300));
    expect(hung.exitCode).toBeNull();
    const report = await lab.kill('node1');
    expect(report.fuseAborted.length).toBe(1);
    expect(report.unmounted).toContain('/srv/fz');
    expect(await waitFor(() => hung.exitCode !== null || hung.signalCode !== null, 5000)).toBe(true);
    expect((await lab.exec('node1', ['sh', '-c', 'grep -c " /srv/fz " /proc/self/mounts'])).stdout.trim()).toBe('0');
    await lab.powerOn('node1');
  });
});
