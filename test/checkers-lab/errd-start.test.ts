// errd right after a start script: the watched process may not have exec'd yet when the
// checker starts (`node app.js &` in a script that returns at once). The first verdict waits
// up to ERRD_START_GRACE_MS for the count to come within bounds instead of reporting down at
// once (which made the daemon restart a healthy application). And errd's scope: a hakitd in
// a network namespace (a lab node) counts only its namespace's processes. Real processes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { ERRD_START_GRACE_MS, errdScope, inScope, procStart, ProcWatch } from '../../core/checkers/probes/proc';
import type { ProbeResult } from '../../core/checkers/probes/types';
import { closed } from '../lab/testkit';
import { distPath } from '../support/dist';

const MARK = `tkerrdstart${process.pid}`;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    c.kill('SIGKILL');
    await closed(c, 2_000);
  }
});

async function firstReport(w: ProcWatch, max_ms: number): Promise<{ r: ProbeResult; after_ms: number } | null> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), max_ms);
    w.start((r) => {
      clearTimeout(timer);
      resolve({ r, after_ms: performance.now() - t0 });
    });
  });
}

test('a process that execs 300 ms after the watch starts is up at the first verdict', async () => {
  // sh sleeps, then becomes `node -e … MARK`: before the exec nothing matches.
  children.push(spawn('sh', ['-c', `sleep 0.3; exec ${process.execPath} -e "setInterval(() => {}, 1e6)" ${MARK}a`], { stdio: 'ignore' }));
  const w = new ProcWatch({ pattern: { name: 'node', argregex: new RegExp(`${MARK}a`) }, atleast: 1, atmost: -1 }, 10_000, 100);
  try {
    const first = await firstReport(w, 3_000);
    expect(first?.r).toEqual({ ok: true, detail: '1 process (want >= 1)' });
    expect(first?.after_ms).toBeLessThan(ERRD_START_GRACE_MS);
  } finally {
    w.stop();
  }
});

test('no process at all: down after the grace, not before', async () => {
  const w = new ProcWatch({ pattern: { name: 'node', argregex: new RegExp(`${MARK}none`) }, atleast: 1, atmost: -1 }, 10_000, 100);
  try {
    const first = await firstReport(w, 3_000);
    expect(first?.r).toEqual({ ok: false, detail: '0 processes (want >= 1)' });
    expect(first?.after_ms).toBeGreaterThanOrEqual(ERRD_START_GRACE_MS - 5);
    expect(first?.after_ms).toBeLessThan(ERRD_START_GRACE_MS + 500);
  } finally {
    w.stop();
  }
});

test('scope: in the initial network namespace every process counts; in another, only its own', async () => {
  expect(errdScope()).toBeNull();
  const other = spawn('unshare', ['-n', process.execPath, '-e', 'setInterval(() => {}, 1e6)', `${MARK}ns`], { stdio: 'ignore' });
  children.push(other);
  const deadline = Date.now() + 3_000;
  const nsOf = (pid: number): string => fs.readlinkSync(`/proc/${pid}/ns/net`);
  while (Date.now() < deadline && (other.pid === undefined || procStart(other.pid) === null || nsOf(other.pid) === nsOf(process.pid))) await new Promise((r) => setTimeout(r, 20));
  const pid = other.pid ?? 0;
  expect(inScope(pid)).toBe(true);
  expect(inScope(pid, nsOf(process.pid))).toBe(false);
  expect(inScope(pid, nsOf(pid))).toBe(true);
  // The same module loaded in a fresh network namespace scopes itself to it.
  const mod = distPath('core/checkers/probes/proc.ts');
  const r = spawnSync('unshare', ['-n', process.execPath, '-e', `console.log(require(${JSON.stringify(mod)}).errdScope() === require('fs').readlinkSync('/proc/self/ns/net'))`], { encoding: 'utf8', timeout: 20_000 });
  expect(r.stdout.trim()).toBe('true');
});
