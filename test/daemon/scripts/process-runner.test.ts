// Real processes: environment, exit codes, timeouts that kill the whole process group,
// bounded output, and start scripts that leave an application running in the background.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RealProcessRunner } from '../../../core/scripts/process-runner';
import { scriptEnv } from '../../../core/scripts/env';
import { MAX_TAIL_LINES } from '../../../core/scripts/limits';
import { pidGone } from '../../lab/procs';

let dir = '';
const runner = new RealProcessRunner();
const pidsToKill: number[] = [];

function script(name: string, body: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
}

/** Running (a zombie waiting for its reaper counts as dead). */
const alive = (pid: number): boolean => !pidGone(pid);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hd-scripts-'));
});
afterAll(async () => {
  await runner.killAll();
  for (const pid of pidsToKill) if (alive(pid)) process.kill(pid, 'SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

it('passes HAKIT_* and user variables and reports the exit code and output lines', async () => {
  const lines: string[] = [];
  const env = scriptEnv({ module: 'web', node: 'n1', from_state: 'WAIT', to_state: 'PRIM', action: 'start', user_vars: { APP_PORT: '8080', HAKIT_NODE: 'spoof' } });
  const r = await runner.run({
    script: 'start_prim',
    path: script('env.sh', 'echo "$HAKIT_MODULE $HAKIT_NODE $HAKIT_FROM_STATE $HAKIT_TO_STATE $HAKIT_ACTION $APP_PORT $1"; echo oops >&2; exit 7'),
    args: ['force'],
    env,
    timeout_ms: 5000,
    onLine: (s, l) => lines.push(`${s}:${l}`),
  });
  expect(r).toMatchObject({ script: 'start_prim', code: 7, timedOut: false });
  expect(lines).toContain('stdout:web n1 WAIT PRIM start 8080 force');
  expect(lines).toContain('stderr:oops');
});

it('kills the whole process group past the timeout (SIGTERM, then SIGKILL)', async () => {
  const pidFile = path.join(dir, 'grandchild.pid');
  const t0 = Date.now();
  const r = await runner.run({
    script: 'stop_prim',
    path: script('hang.sh', `trap '' TERM; sleep 60 & echo $! > ${pidFile}; wait`),
    args: [],
    env: {},
    timeout_ms: 300,
    kill_grace_ms: 300,
  });
  const grandchild = Number(fs.readFileSync(pidFile, 'utf8'));
  pidsToKill.push(grandchild);
  expect(r.timedOut).toBe(true);
  expect(r.signal).toBe('SIGKILL');
  expect(Date.now() - t0).toBeLessThan(3000);
  await new Promise((res) => setTimeout(res, 100));
  expect(alive(grandchild)).toBe(false);
});

it('returns when the script exits even if a background application keeps its output pipe', async () => {
  const pidFile = path.join(dir, 'app.pid');
  const t0 = Date.now();
  const r = await runner.run({
    script: 'start_prim',
    path: script('bg.sh', `sleep 30 & echo $! > ${pidFile}; echo started`),
    args: [],
    env: {},
    timeout_ms: 5000,
  });
  const app = Number(fs.readFileSync(pidFile, 'utf8'));
  pidsToKill.push(app);
  expect(r.code).toBe(0);
  expect(r.output_tail).toEqual(['started']);
  expect(Date.now() - t0).toBeLessThan(2000);
  expect(alive(app)).toBe(true); // the application keeps running after its start script
  process.kill(app, 'SIGKILL');
});

it('reports a missing script as a spawn error, never a throw', async () => {
  const r = await runner.run({ script: 'prestart', path: path.join(dir, 'nope.sh'), args: [], env: {}, timeout_ms: 1000 });
  expect(r.code).toBeNull();
  expect(r.spawn_error).toMatch(/ENOENT/);
});

it('keeps a bounded tail of output and cuts endless lines', async () => {
  const r = await runner.run({
    script: 'noisy',
    path: script('noisy.sh', `i=0; while [ $i -lt 500 ]; do echo line$i; i=$((i+1)); done; head -c 100000 /dev/zero | tr '\\0' x`),
    args: [],
    env: {},
    timeout_ms: 5000,
  });
  expect(r.output_tail.length).toBe(MAX_TAIL_LINES);
  expect(r.output_tail.every((l) => l.length < 5000)).toBe(true);
});

// A timed-out script whose leader dies on SIGTERM must not leave TERM-ignoring children
// behind: the group is SIGKILLed when the leader exits (review finding).
it('kills a TERM-ignoring child once the timed-out script died on its SIGTERM', async () => {
  const pidFile = path.join(dir, 'child.pid');
  // The script itself dies on TERM (default action); its child ignores TERM.
  const p = script('hang.sh', `sh -c 'trap "" TERM; exec sleep 60' &\necho $! > ${pidFile}\nwhile :; do sleep 1; done`);
  const r = await runner.run({ script: 'stop_prim', path: p, args: [], env: {}, timeout_ms: 300, kill_grace_ms: 300 });
  const child = Number(fs.readFileSync(pidFile, 'utf8'));
  pidsToKill.push(child);
  expect(r.timedOut).toBe(true);
  expect(r.signal).toBe('SIGTERM'); // the leader died on TERM, before the grace ran out
  // Shortly after the result, and past the grace, the child must be gone.
  const deadline = Date.now() + 1500;
  while (alive(child) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  expect(alive(child)).toBe(false);
});
