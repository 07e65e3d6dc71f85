// Helpers shared by the lab's own tests: leak snapshots and small UDP/ping probes.
import fs from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { Lab } from './index';

/** Resolves when the child has exited (also if it already had), or after wait_ms. */
export function closed(child: ChildProcess, wait_ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, wait_ms);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** True once `from` gets a ping reply from `to` (one ping per try, bounded in tries and time). */
export async function reachable(lab: Lab, from: string, to: string, lan: number, tries = 5): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const r = await lab.exec(from, ['ping', '-n', '-c', '1', '-W', '1', lab.addr(to, lan)], { timeout_ms: 5000 });
    if (r.code === 0) return true;
  }
  return false;
}

/** Interface names the lab makes in its switch; none may ever appear in the root namespace. */
export const LAB_LINK_PATTERN = /^((node\d+|client|witness)-\d+[xy]?|br\d+)(@|$)/;

export interface Leaks {
  netns: string[];
  mounts: string[];
  rootLinks: string[];
}

/** What a lab named `name` leaves on the machine: its namespaces, its mounts, lab links in root. */
export function leaksOf(name: string, rootLinks: string): Leaks {
  const netns = fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns').filter((n) => n.startsWith(`${name}-`)) : [];
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(`/hakit-lab/${name}`));
  const links = rootLinks
    .split('\n')
    .map((l) => l.split(': ')[1] ?? '')
    .filter((n) => LAB_LINK_PATTERN.test(n));
  return { netns, mounts, rootLinks: links };
}

/** Median RTT (ms) of `count` pings, undefined when fewer than half were answered. */
export async function pingMedian_ms(lab: Lab, from: string, to: string, lan: number, count: number): Promise<number | undefined> {
  const r = await lab.exec(from, ['ping', '-n', '-c', String(count), '-i', '0.05', '-W', '1', lab.addr(to, lan)], { timeout_ms: count * 1000 + 5000 });
  const rtts = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  if (rtts.length < count / 2) return undefined;
  return rtts[Math.floor(rtts.length / 2)];
}

/** Replies received for `count` pings (each waits up to 2 s: ARP may need a retry after a heal). */
export async function pings(lab: Lab, from: string, to: string, lan: number, count: number): Promise<number> {
  const r = await lab.exec(from, ['ping', '-n', '-q', '-c', String(count), '-i', '0.02', '-W', '2', lab.addr(to, lan)], { timeout_ms: count * 1000 + 5000 });
  const m = /(\d+) received/.exec(r.stdout);
  return m ? Number(m[1]) : 0;
}

/**
 * Sends `count` UDP datagrams from `from` to `to` and returns how many arrived. Used to test
 * one-way cuts, which ping cannot show (a cut reply path fails a ping either way).
 */
export async function udpDelivered(lab: Lab, from: string, to: string, lan: number, count: number): Promise<number> {
  const port = 40000 + Math.floor(Math.random() * 20000);
  const receiver = lab.spawn(to, [process.execPath, '-e', `
    const s = require('dgram').createSocket('udp4'); let n = 0;
    s.on('message', () => n++);
    s.bind(${port}, () => console.log('ready'));
    setTimeout(() => { console.log('got ' + n); process.exit(0); }, 1500);`]);
  let out = '';
  receiver.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 5000;
  while (!out.includes('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await lab.exec(from, [process.execPath, '-e', `
    const s = require('dgram').createSocket('udp4'); let i = 0;
    const t = setInterval(() => { s.send('x', ${port}, '${lab.addr(to, lan)}'); if (++i === ${count}) { clearInterval(t); setTimeout(() => s.close(), 50); } }, 5);`]);
  await closed(receiver, 5000);
  const m = /got (\d+)/.exec(out);
  return m ? Number(m[1]) : -1;
}

/** Polls `check` until it returns true or the bounded wait ends; returns the last result. */
export async function waitFor(check: () => boolean, wait_ms: number): Promise<boolean> {
  const deadline = Date.now() + wait_ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** The number in a pid file on a host (0 when the file is missing or empty). */
export async function hostPid(lab: Lab, host: string, file: string): Promise<number> {
  const r = await lab.exec(host, ['cat', file]);
  return Number(r.stdout.trim());
}

/** True while process `pid` runs on the host. A zombie does not: it has released everything
 *  and only waits for its parent to reap it, which for an application orphaned by a killed
 *  hakitd is the machine's init, whenever that gets to it (`kill -0` still succeeds then; the
 *  stop scripts count a zombie as stopped too). */
export async function processAlive(lab: Lab, host: string, pid: number): Promise<boolean> {
  const state = (await lab.exec(host, ['sh', '-c', `sed -E 's/.*\\) ([A-Za-z]).*/\\1/' /proc/${Number(pid)}/stat 2>/dev/null`])).stdout.trim();
  return state !== '' && state !== 'Z';
}

/** True when the host has IPv4 address `addr` on any interface (a VIP, for instance). */
export async function hasAddr(lab: Lab, host: string, addr: string): Promise<boolean> {
  const r = await lab.exec(host, ['ip', '-o', '-4', 'addr', 'show']);
  return r.stdout.includes(` ${addr}/`);
}

/** Writes `text` to `file` on a host (parents made, mode set); throws with the host's stderr. */
export async function writeHostFile(lab: Lab, host: string, file: string, text: string, mode = '644'): Promise<void> {
  const r = await lab.exec(host, ['sh', '-c', `mkdir -p "$(dirname '${file}')" && cat > '${file}' && chmod ${mode} '${file}'`], { input: text });
  if (r.code !== 0) throw new Error(`write ${host}:${file}: ${r.stderr}`);
}

/** The pid of the hakitd running on a host (found by its command line); throws when none runs. */
export function daemonPid(lab: Lab, host: string): number {
  for (const pid of lab.pids(host)) {
    let cmd: string;
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmd.includes('core/daemon/main.js')) return pid;
  }
  throw new Error(`no hakitd in ${host}`);
}
