// Process death -> restarted by the real hakitd: a lab (tkb) with two nodes running the built
// daemon and the mirror_http test copy with <errd> (test/checkers-lab/configs.ts), PRIM on
// node1. Each run kills the application with SIGKILL at a random moment and measures, from
// the kill: the daemon's "resource errd.node: down" and "failover rule: restart" log lines,
// a new application process on node1, and that process listening on its port again.
import fs from 'node:fs';
import { HakitCluster, until } from '../checkers-lab/cluster';
import { CHECK_APP, mirrorHttpConfig } from '../checkers-lab/configs';

const LAB = 'tkb';
const M = 'mh';
const APP = 'modules/mh/bin/mirror_http.js';
/** The application's port in /proc/net/tcp notation (9080), and the LISTEN state. */
const APP_PORT_HEX = ':2378';
const TCP_LISTEN = '0A';
/** maxloop of the bench copy: every run must restart, never stop. */
const BENCH_MAXLOOP = 1_000;
const STATE_WAIT_MS = 30_000;
/** Bound on one run's wait for the new process and for it to listen. */
const RUN_WAIT_MS = 20_000;
const POLL_MS = 5;

export interface DaemonRestartFigures {
  /** kill -> "resource errd.node: down" in the module log. */
  readonly seen_ms: number[];
  /** kill -> "failover rule: restart". */
  readonly command_ms: number[];
  /** kill -> a new application process exists. */
  readonly process_ms: number[];
  /** kill -> the new process listens on its port. */
  readonly listening_ms: number[];
}

function netnsInode(file: string): number {
  return fs.statSync(file).ino;
}

/** pids of live (non-zombie) application processes in the node's network namespace. */
function appPids(netns_ino: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(APP)) continue;
      if (fs.statSync(`/proc/${name}/ns/net`).ino !== netns_ino) continue;
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      out.push(Number(name));
    } catch {
      // gone while reading
    }
  }
  return out;
}

/** The process's network namespace has a listener on the port (node listens on :: when it can, else 0.0.0.0). */
function listening(pid: number): boolean {
  return ['tcp', 'tcp6'].some((table) => {
    try {
      return fs
        .readFileSync(`/proc/${pid}/net/${table}`, 'utf8')
        .split('\n')
        .some((l) => {
          const f = l.trim().split(/\s+/);
          return (f[1] ?? '').endsWith(APP_PORT_HEX) && f[3] === TCP_LISTEN;
        });
    } catch {
      return false;
    }
  });
}

async function poll(pred: () => boolean, max_ms: number): Promise<boolean> {
  const end = performance.now() + max_ms;
  while (!pred()) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return true;
}

/** Wall-clock time (ms) of the first module log line with this message at or after `from_ms`. */
function logTime(log: string, msg: string, from_ms: number): number | null {
  for (const l of log.split('\n')) {
    try {
      const o = JSON.parse(l) as { msg?: string; time?: string | number };
      const t = typeof o.time === 'number' ? o.time : Date.parse(String(o.time));
      if (o.msg === msg && t >= from_ms) return t;
    } catch {
      // not a JSON line
    }
  }
  return null;
}

export async function daemonRestart(runs: number, log: (line: string) => void = () => undefined): Promise<DaemonRestartFigures> {
  const c = await HakitCluster.up(LAB, 2);
  const f: DaemonRestartFigures = { seen_ms: [], command_ms: [], process_ms: [], listening_ms: [] };
  try {
    const vip = c.lab.spareAddr(0, 50);
    await c.installExample('mirror_http', M, mirrorHttpConfig(vip, BENCH_MAXLOOP), { check_app: CHECK_APP }, ['/srv/mirror_http/data']);
    for (const n of c.nodes) c.startDaemon(n);
    await c.waitStates(M, ['STOP', 'STOP'], STATE_WAIT_MS);
    for (const [n, cmd] of [['node1', 'start'], ['node2', 'start'], ['node1', 'prim']] as const) await c.hakit(n, [cmd, '-m', M]);
    await c.hakit('node1', ['waitstate', '-m', M, 'ALONE,PRIM', '--timeout', '30']);
    await c.hakit('node2', ['second', '-m', M]);
    await c.waitStates(M, ['PRIM', 'SECOND'], STATE_WAIT_MS);
    const ino = netnsInode(`/run/netns/${c.lab.hosts.find((h) => h.name === 'node1')?.netns ?? ''}`);
    const logFile = '/var/log/hakit/modules/mh.log';
    for (let i = 0; i < runs; i++) {
      await until('errd.node up', async () => (await c.hakit('node1', ['get', '-m', M, '-r', 'errd.node'])).out === 'up\n', STATE_WAIT_MS);
      await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 100)));
      const [old] = appPids(ino);
      if (old === undefined) throw new Error('no application process on node1');
      const wall0 = Date.now();
      const t0 = performance.now();
      process.kill(old, 'SIGKILL');
      let fresh = 0;
      if (!(await poll(() => (fresh = appPids(ino).find((p) => p !== old) ?? 0) > 0, RUN_WAIT_MS))) throw new Error(`run ${i}: no new process`);
      const proc_ms = performance.now() - t0;
      if (!(await poll(() => listening(fresh), RUN_WAIT_MS))) throw new Error(`run ${i}: the new process does not listen`);
      const listen_ms = performance.now() - t0;
      const text = await c.tail('node1', logFile);
      const seenAt = logTime(text, 'resource errd.node: down', wall0);
      const cmdAt = logTime(text, 'failover rule: restart', wall0);
      if (seenAt !== null) f.seen_ms.push(seenAt - wall0);
      if (cmdAt !== null) f.command_ms.push(cmdAt - wall0);
      f.process_ms.push(proc_ms);
      f.listening_ms.push(listen_ms);
      log(`run ${i + 1}/${runs}: seen ${seenAt === null ? '?' : seenAt - wall0} ms, restart command ${cmdAt === null ? '?' : cmdAt - wall0} ms, new process ${Math.round(proc_ms)} ms, listening ${Math.round(listen_ms)} ms`);
      await c.waitStates(M, ['PRIM', 'SECOND'], STATE_WAIT_MS);
    }
  } finally {
    await c.down();
  }
  return f;
}
