// custom checker: runs a program of the module's bin/ once per interval; exit 0 is up, any
// other exit (or a signal) is down. A run still going at the timeout is killed with its whole
// process group (SIGKILL) and counts as down, so a hung script never blocks the checker.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { ProbeResult } from './types';
import { inheritedEnv } from '../../scripts/env';

export interface CustomRun {
  readonly bin_dir: string;
  readonly exec: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export function customProbe(run: CustomRun, timeout_ms: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const file = path.resolve(run.bin_dir, run.exec);
    if (!file.startsWith(path.resolve(run.bin_dir) + path.sep)) {
      resolve({ ok: false, detail: `${run.exec} is outside bin/` });
      return;
    }
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      resolve(r);
    };
    const child = spawn(file, [...run.args], { cwd: run.bin_dir, env: { ...inheritedEnv(), ...run.env }, stdio: 'ignore', detached: true });
    const t = setTimeout(() => {
      killGroup(child.pid);
      finish({ ok: false, detail: `killed after ${timeout_ms} ms timeout` });
    }, timeout_ms);
    child.once('error', (e: NodeJS.ErrnoException) => finish({ ok: false, detail: `cannot run ${run.exec}: ${e.code ?? e.message}` }));
    child.once('exit', (code, signal) => {
      // The script may have left children in its group: they must not outlive the check.
      killGroup(child.pid);
      finish(code === 0 ? { ok: true, detail: 'exit 0' } : { ok: false, detail: code === null ? `killed by ${signal}` : `exit ${code}` });
    });
  });
}
