// errd: process watch in /proc. A full scan (every `polltimer`) finds the matching processes;
// between scans their pids are re-read every ERRD_FAST_WATCH_MS (one small read of
// /proc/PID/stat each), so a death is seen within about 100 ms without rescanning /proc.
import fs from 'node:fs';
import { countOk, procMatches, type ProcEntry, type ProcPattern } from '../pure/proc-match';
import type { ProbeResult } from './types';

export const PROC_DIR = '/proc';
/** A scan reads at most this many processes (a bound on one scan's work). */
export const MAX_PROC_SCAN = 100_000;
/** Scans of several errd checkers within this window share one reading of /proc. */
export const PROC_SCAN_SHARE_MS = 50;

let cached: { at_ms: number; entries: ProcEntry[] } | null = null;

function readOr(file: string, dflt: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return dflt;
  }
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
  ) {}

  start(report: (r: ProbeResult) => void): void {
    const full = (): void => {
      let matches: ProcEntry[];
      try {
        matches = scanProc().filter((p) => procMatches(p, this.target.pattern));
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
      report(this.result());
    };
    const fast = (): void => {
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
