// Finds and kills every process living in given namespaces (a power cut), by comparing
// /proc/PID/ns/{net,mnt} with the namespaces' inodes. Zombies count as dead: they hold no
// namespace and run no code.
import fs from 'node:fs';

/** Kill rounds catch processes forked while we were killing; more rounds mean a fork storm. */
const MAX_KILL_ROUNDS = 50;
const GONE_POLL_MS = 10;

/** Inode of a namespace file (/run/netns/X, a pin file, /proc/PID/ns/Y), undefined if absent. */
export function nsInode(file: string): number | undefined {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}

function linkInode(pid: string, ns: 'net' | 'mnt'): number | undefined {
  try {
    const m = /\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/ns/${ns}`));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface NsSet {
  net: ReadonlySet<number>;
  mnt: ReadonlySet<number>;
}

/** pids whose network or mount namespace is in the set. */
export function pidsIn(ns: NsSet): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const net = linkInode(entry, 'net');
    const mnt = net !== undefined && ns.net.has(net) ? undefined : linkInode(entry, 'mnt');
    if ((net !== undefined && ns.net.has(net)) || (mnt !== undefined && ns.mnt.has(mnt))) found.push(Number(entry));
  }
  return found;
}

/** True when the pid no longer runs (absent, or a zombie waiting for its parent). */
export function pidGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

function sigkill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** SIGKILLs every process of the namespaces, again until a scan finds none left running. */
export function killAllIn(ns: NsSet): number[] {
  const killed = new Set<number>();
  for (let round = 0; round < MAX_KILL_ROUNDS; round++) {
    const alive = pidsIn(ns).filter((p) => !killed.has(p) || !pidGone(p));
    const fresh = alive.filter((p) => !killed.has(p));
    for (const pid of alive) sigkill(pid);
    for (const pid of alive) killed.add(pid);
    if (fresh.length === 0) break;
  }
  return [...killed];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded) until every pid is gone; returns those still running at the deadline. */
export async function waitGone(pids: readonly number[], wait_ms: number): Promise<number[]> {
  const deadline = Date.now() + wait_ms;
  let left = pids.filter((p) => !pidGone(p));
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(GONE_POLL_MS);
    left = left.filter((p) => !pidGone(p));
  }
  return left;
}

/** The process's start time (field 22 of /proc/PID/stat, clock ticks since boot); undefined if it is gone. */
export function processStartTicks(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
