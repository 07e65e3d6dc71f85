// errd: process watch in /proc. A full scan (every `polltimer`) finds the matching processes;
// between scans their pids are re-read every ERRD_FAST_WATCH_MS (one small read of
// /proc/PID/stat each), so a death is seen within about 100 ms without rescanning /proc.
// Which processes count: see errdScope (all of them on a real node).
import fs from 'node:fs';
import { ERRD_START_GRACE_MS } from '../pure/host-behaviour';
import { countOk, procMatches, type ProcEntry, type ProcPattern } from '../pure/proc-match';
import type { ProbeResult } from './types';

export const PROC_DIR = '/proc';
/** A scan reads at most this many processes (a bound on one scan's work). */
export const MAX_PROC_SCAN = 100_000;
/** Scans of several errd checkers within this window share one reading of /proc. */
export const PROC_SCAN_SHARE_MS = 50;
/** When a watch starts, a count out of bounds is confirmed for this long before it is reported (shared with the what-if world). */
export { ERRD_START_GRACE_MS };

let cached: { at_ms: number; entries: ProcEntry[] } | null = null;

function readOr(file: string, dflt: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return dflt;
  }
}

function netnsOf(pid: number | 'self'): string | null {
  try {
    return fs.readlinkSync(`${PROC_DIR}/${pid}/ns/net`);
  } catch {
    return null;
  }
}

/**
 * The network namespace whose processes errd counts, or null for every process of the machine.
 * hakitd in the machine's initial network namespace (a real node) counts every process, as
 * SafeKit does, so that an application started through systemd or in a container still counts.
 * hakitd started inside another network namespace (a lab host, a test) counts only the
 * processes of its own: the machine's other "nodes" share its process table.
 */
export function errdScope(): string | null {
  const own = netnsOf('self');
  // kthreadd (pid 2) always lives in the initial namespace; pid 1 may not be readable (and in a
  // container with its own pid namespace both are the container's, so nothing is filtered).
  const init = netnsOf(2) ?? netnsOf(1);
  return own === null || init === null || own === init ? null : own;
}

const SCOPE: string | null = errdScope();

/** Is the process in errd's scope (see errdScope). */
export function inScope(pid: number, scope: string | null = SCOPE): boolean {
  return scope === null || netnsOf(pid) === scope;
}

export function scanProc(now_ms: number = performance.now()): ProcEntry[] {
  if (cached && now_ms - cached.at_ms < PROC_SCAN_SHARE_MS) return cached.entries;
  const entries: ProcEntry[] = [];
  for (const name of fs.readdirSync(PROC_DIR)) {
    if (entries.length >= MAX_PROC_SCAN) break;
    if (!/^[0-9]+$/.test(name)) continue;
    const pid = Number(name);
    const comm = readOr(`${PROC_DIR}/${name}/comm`, '').trim();
    if (comm === '') continue;
    const cmdline = readOr(`${PROC_DIR}/${name}/cmdline`, '').replace(/\0+$/, '').replace(/\0/g, ' ');
    entries.push({ pid, comm, cmdline });
  }
  cached = { at_ms: now_ms, entries };
  return entries;
}

/** Start time (clock ticks since boot) of a live, non-zombie process; null when gone. */
export function procStart(pid: number): number | null {
  const stat = readOr(`${PROC_DIR}/${pid}/stat`, '');
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X' || state === 'x') return null;
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : null;
}

export interface ProcTarget {
  readonly pattern: ProcPattern;
  readonly atleast: number;
  readonly atmost: number;
}

export class ProcWatch {
  /** pid -> start time of the processes found by the last scan. */
  private known = new Map<number, number>();
  private scanTimer: NodeJS.Timeout | undefined;
  private fastTimer: NodeJS.Timeout | undefined;
  private lastOk: boolean | null = null;

  constructor(
    private readonly target: ProcTarget,
    private readonly scan_ms: number,
    private readonly fast_ms: number,
    private readonly start_grace_ms: number = ERRD_START_GRACE_MS,
  ) {}

  start(report: (r: ProbeResult) => void): void {
    const started_ms = performance.now();
    // Until the first verdict, a count out of bounds is re-scanned every fast_ms for up to
    // start_grace_ms: a start script that backgrounds `node app.js &` may return before the
    // child has exec'd (its comm and command line are still the script's).
    let first = true;
    const full = (): void => {
      let matches: ProcEntry[];
      try {
        matches = scanProc().filter((p) => procMatches(p, this.target.pattern) && inScope(p.pid));
      } catch (e) {
        report({ ok: false, detail: `cannot read /proc: ${e instanceof Error ? e.message : String(e)}` });
        return;
      }
      this.known = new Map();
      for (const p of matches) {
        const st = procStart(p.pid);
        if (st !== null) this.known.set(p.pid, st);
      }
      this.lastOk = countOk(this.known.size, this.target.atleast, this.target.atmost);
      if (first && !this.lastOk && performance.now() - started_ms < this.start_grace_ms) return;
      first = false;
      report(this.result());
    };
    const fast = (): void => {
      if (first) {
        full();
        return;
      }
      let changed = false;
      for (const [pid, st] of this.known) {
        if (procStart(pid) !== st) {
          this.known.delete(pid);
          changed = true;
        }
      }
      if (!changed) return;
      // Deaths only lower the count: report when that crosses atleast (a rise waits for the next scan).
      const ok = countOk(this.known.size, this.target.atleast, this.target.atmost);
      if (ok !== this.lastOk) {
        this.lastOk = ok;
        report(this.result());
      }
    };
    full();
    this.scanTimer = setInterval(full, this.scan_ms);
    this.fastTimer = setInterval(fast, this.fast_ms);
  }

  /** Rescan now (after a restart, the new processes count at once). */
  rescanSoon(): void {
    cached = null;
  }

  private result(): ProbeResult {
    const n = this.known.size;
    const bounds = this.target.atmost < 0 ? `>= ${this.target.atleast}` : `${this.target.atleast}..${this.target.atmost}`;
    return { ok: this.lastOk === true, detail: `${n} process${n === 1 ? '' : 'es'} (want ${bounds})` };
  }

  stop(): void {
    if (this.scanTimer) clearInterval(this.scanTimer);
    if (this.fastTimer) clearInterval(this.fastTimer);
    this.scanTimer = undefined;
    this.fastTimer = undefined;
  }
}
