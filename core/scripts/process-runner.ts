// Runs module scripts as real processes, each in its own process group (setsid via
// `detached`), so a timeout kills the script and everything it forked.
import { spawn, type ChildProcess } from 'node:child_process';
import { DEFAULT_KILL_GRACE_MS, MAX_TAIL_LINES, OUTPUT_DRAIN_MS } from './limits';
import { LineSplitter } from './line-splitter';
import type { ProcessRunner, ScriptRequest, ScriptResult, ScriptStream } from './types';
import { inheritedEnv } from './env';

const monotonicMs = (): number => Number(process.hrtime.bigint() / 1_000_000n);

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

export class RealProcessRunner implements ProcessRunner {
  private readonly running = new Map<ChildProcess, Promise<ScriptResult>>();

  run(req: ScriptRequest): Promise<ScriptResult> {
    const started_ms = monotonicMs();
    const tail: string[] = [];
    const onLine = (stream: ScriptStream, line: string): void => {
      tail.push(line);
      if (tail.length > MAX_TAIL_LINES) tail.shift();
      req.onLine?.(stream, line);
    };
    let child: ChildProcess;
    try {
      child = spawn(req.path, [...req.args], {
        cwd: req.cwd,
        env: { ...inheritedEnv(), ...req.env },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      return Promise.resolve(this.spawnFailed(req, started_ms, e));
    }
    const result = new Promise<ScriptResult>((resolve) => {
      const out = new LineSplitter((l) => onLine('stdout', l));
      const err = new LineSplitter((l) => onLine('stderr', l));
      child.stdout?.setEncoding('utf8').on('data', (c: string) => out.push(c));
      child.stderr?.setEncoding('utf8').on('data', (c: string) => err.push(c));
      let timedOut = false;
      let kill_timer: NodeJS.Timeout | undefined;
      const timeout_timer = setTimeout(() => {
        timedOut = true;
        killGroup(child, 'SIGTERM');
        kill_timer = setTimeout(() => killGroup(child, 'SIGKILL'), req.kill_grace_ms ?? DEFAULT_KILL_GRACE_MS);
      }, req.timeout_ms);
      let done = false;
      const finish = (r: ScriptResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timeout_timer);
        if (kill_timer) clearTimeout(kill_timer);
        out.flush();
        err.flush();
        this.running.delete(child);
        resolve({ ...r, output_tail: [...tail] });
      };
      child.once('error', (e) => finish(this.spawnFailed(req, started_ms, e)));
      child.once('exit', (code, signal) => {
        // A timed-out script that dies on its SIGTERM leaves the rest of its group (children
        // that ignore TERM) behind, and finish() below clears the SIGKILL timer: kill the group
        // now, while its remaining members still hold the group id (it cannot be reused yet).
        if (timedOut) killGroup(child, 'SIGKILL');
        const r = { script: req.script, code, signal, timedOut, duration_ms: monotonicMs() - started_ms, output_tail: [] };
        // Output already written may still be in the pipe; a background child may hold the
        // pipe open forever, so wait for 'close' only a little. The streams stay open so a
        // backgrounded application's writes never hit a closed pipe (SIGPIPE).
        const drain = setTimeout(() => finish(r), OUTPUT_DRAIN_MS);
        child.once('close', () => {
          clearTimeout(drain);
          finish(r);
        });
      });
    });
    this.running.set(child, result);
    return result;
  }

  private spawnFailed(req: ScriptRequest, started_ms: number, e: unknown): ScriptResult {
    return {
      script: req.script,
      code: null,
      signal: null,
      timedOut: false,
      duration_ms: monotonicMs() - started_ms,
      spawn_error: e instanceof Error ? e.message : String(e),
      output_tail: [],
    };
  }

  async killAll(): Promise<void> {
    const pending = [...this.running.entries()];
    for (const [child] of pending) killGroup(child, 'SIGKILL');
    await Promise.all(pending.map(([, p]) => p));
  }
}
