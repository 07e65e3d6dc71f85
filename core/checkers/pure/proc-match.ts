// errd: which processes of a /proc snapshot match a <proc> entry, and whether their count is
// within [atleast, atmost].
export interface ProcEntry {
  readonly pid: number;
  /** /proc/PID/comm (at most 15 characters). */
  readonly comm: string;
  /** /proc/PID/cmdline with NULs turned into spaces; '' for kernel threads. */
  readonly cmdline: string;
}

export interface ProcPattern {
  readonly name: string;
  readonly argregex: RegExp | null;
}

/** The kernel cuts comm to 15 bytes; a longer name matches its prefix or argv[0]'s basename. */
const COMM_MAX = 15;

export function procMatches(p: ProcEntry, pat: ProcPattern): boolean {
  const argv0 = p.cmdline.split(' ')[0] ?? '';
  const base = argv0.slice(argv0.lastIndexOf('/') + 1);
  const nameOk = p.comm === pat.name || base === pat.name || (pat.name.length > COMM_MAX && p.comm === pat.name.slice(0, COMM_MAX));
  if (!nameOk) return false;
  return pat.argregex === null || pat.argregex.test(p.cmdline);
}

/** -1 in atmost: no maximum. */
export function countOk(count: number, atleast: number, atmost: number): boolean {
  return count >= atleast && (atmost < 0 || count <= atmost);
}
