// CPU time read from /proc, for benchmarks that say what a workload costs in CPU besides how
// fast it runs: on this 2-vCPU VM the application, the capture and SECOND share the same
// CPUs, so CPU per operation separates who slows whom.
import fs from 'node:fs';

/** Linux's USER_HZ: /proc reports times in these ticks. */
export const TICKS_PER_S = 100;

/**
 * utime+stime of a process (all its threads), in ticks; with `children`, plus those of its
 * waited-for children. null when the process is gone.
 */
export function processCpuTicks(pid: number | 'self', children = false): number | null {
  let stat: string;
  try { stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return null; }
  // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15,
  // cutime 16, cstime 17 (proc(5)); the command may hold spaces and parentheses.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  const own = (f[11] ?? 0) + (f[12] ?? 0);
  return children ? own + (f[13] ?? 0) + (f[14] ?? 0) : own;
}

/** Busy and all ticks of the whole machine since boot (/proc/stat's first line). */
export function machineCpuTicks(): { busy: number; all: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal guest guest_nice; guest time is
  // already counted in user and nice. Steal (the hypervisor ran something else) is no work
  // of this machine's: neither busy nor part of the total.
  const v = line.trim().split(/\s+/).slice(1, 8).map(Number);
  const all = v.reduce((a, b) => a + b, 0);
  return { busy: all - (v[3] ?? 0) - (v[4] ?? 0), all };
}
