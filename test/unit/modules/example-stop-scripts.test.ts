// The shipped example stop scripts, run the way hakit runs them (RealProcessRunner, the
// environment of core/scripts/env.ts plus HAKIT_RUN_DIR, the argument `force` of the second
// pass from core/module/pure/jobs.ts) against a fake application that ignores SIGTERM: the
// nice stop must fail and keep the pid file, so that the force pass can kill it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RealProcessRunner } from '../../../core/scripts/process-runner';
import { scriptEnv } from '../../../core/scripts/env';
import { pidGone } from '../../lab/procs';

const examples = path.resolve(__dirname, '../../../modules/examples');
const runner = new RealProcessRunner();
let tmp = '';
let app: ChildProcess | undefined;

/** Running (a zombie waiting for its reaper counts as dead). */
const alive = (pid: number): boolean => !pidGone(pid);

/** Starts a process that ignores SIGTERM; resolves once the trap is set. */
async function termIgnoringApp(): Promise<number> {
  const child = spawn('sh', ['-c', 'trap "" TERM; echo ready; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
  app = child;
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', () => reject(new Error('fake application exited')));
  });
  if (child.pid === undefined) throw new Error('no pid');
  return child.pid;
}

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-stop-'));
});
afterEach(async () => {
  if (app?.pid !== undefined && alive(app.pid)) app.kill('SIGKILL');
  app = undefined;
  await runner.killAll();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe.each([
  ['mirror_http', 'stop_prim', 'mirror_http.pid'],
  ['farm_http', 'stop_both', 'farm_http.pid'],
])('%s/bin/%s', (module, script, pidName) => {
  const run = (args: string[]) =>
    runner.run({
      script,
      path: path.join(examples, module, 'bin', script),
      args,
      env: scriptEnv({ module, node: 'n1', from_state: 'PRIM', to_state: 'STOP', action: 'stop', module_dir: path.join(examples, module), user_vars: { HAKIT_RUN_DIR: tmp } }),
      timeout_ms: 20_000,
    });
  /** Writes the module's pid file as its start script does; returns its path. */
  const writePidFile = (content: string): string => {
    const pidFile = path.join(tmp, module, pidName);
    fs.mkdirSync(path.dirname(pidFile), { recursive: true });
    fs.writeFileSync(pidFile, content);
    return pidFile;
  };

  it('fails and keeps the pid file when the application survives SIGTERM; the force pass kills it', async () => {
    const pid = await termIgnoringApp();
    const pidFile = writePidFile(`${pid}\n`);

    const nice = await run([]);
    expect(nice.code).toBe(1);
    expect(alive(pid)).toBe(true);
    expect(fs.existsSync(pidFile)).toBe(true);

    const force = await run(['force']);
    expect(force.code).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(fs.existsSync(pidFile)).toBe(false);
  }, 30_000);

  it('accepts -force too', async () => {
    const pid = await termIgnoringApp();
    const pidFile = writePidFile(`${pid}\n`);
    const force = await run(['-force']);
    expect(force.code).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(fs.existsSync(pidFile)).toBe(false);
  });

  it('never signals what a corrupt pid file names (0 is the script\'s own group)', async () => {
    const pidFile = writePidFile('0\n');
    const r = await run([]);
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(fs.existsSync(pidFile)).toBe(false);
  });
});
