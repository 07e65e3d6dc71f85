// A timed-out script whose leader dies on SIGTERM must not leave TERM-ignoring children
// behind: the group is SIGKILLed when the leader exits (review finding).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RealProcessRunner } from '../../../core/scripts/process-runner';

let dir = '';
const runner = new RealProcessRunner();
const strays: number[] = [];

/** Running (a zombie waiting for its reaper counts as dead). */
const alive = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-runner-'));
});
afterAll(async () => {
  await runner.killAll();
  for (const pid of strays) if (alive(pid)) process.kill(pid, 'SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

it('kills a TERM-ignoring child once the timed-out script died on its SIGTERM', async () => {
  const pidFile = path.join(dir, 'child.pid');
  const p = path.join(dir, 'hang.sh');
  // The script itself dies on TERM (default action); its child ignores TERM.
  fs.writeFileSync(p, `#!/bin/sh\nsh -c 'trap "" TERM; exec sleep 60' &\necho $! > ${pidFile}\nwhile :; do sleep 1; done\n`, { mode: 0o755 });
  const r = await runner.run({ script: 'stop_prim', path: p, args: [], env: {}, timeout_ms: 300, kill_grace_ms: 300 });
  const child = Number(fs.readFileSync(pidFile, 'utf8'));
  strays.push(child);
  expect(r.timedOut).toBe(true);
  expect(r.signal).toBe('SIGTERM'); // the leader died on TERM, before the grace ran out
  // Shortly after the result, and past the grace, the child must be gone.
  const deadline = Date.now() + 1500;
  while (alive(child) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  expect(alive(child)).toBe(false);
});
