// Runs one system command with a bounded time and captured output. Every kernel change the
// lab makes goes through here, so a failure always names the command that failed.
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { HakitError } from '../../core/errors/catalogue';
import { LabError } from './errors';

/** No lab command (ip, nft, nsenter, cc) should take this long; a hang becomes an error. */
export const COMMAND_TIMEOUT_MS = 30_000;
/** Output beyond this is dropped: lab commands print little, a runaway one must not eat memory. */
const OUTPUT_LIMIT_BYTES = 4 * 1024 * 1024;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  timeout_ms?: number;
  cwd?: string;
}

/** Runs argv; resolves with the exit code (128+signal when killed), never rejects on failure. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new HakitError('HAKIT_E_INTERNAL', 'empty command', 'lab/sh'));
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: opts.cwd });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size_bytes = 0;
    const keep = (into: Buffer[]) => (b: Buffer) => {
      size_bytes += b.length;
      if (size_bytes <= OUTPUT_LIMIT_BYTES) into.push(b);
    };
    child.stdout.on('data', keep(out));
    child.stderr.on('data', keep(err));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout_ms ?? COMMAND_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout: '', stderr: `${cmd}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const signo = signal ? 128 + (signalNumber(signal) ?? 0) : 0;
      resolve({ code: code ?? signo, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return osConstants.signals[signal];
}

/** Runs argv and throws a coded error naming the command when it fails. */
export async function mustRun(argv: readonly string[], what: string, opts: RunOptions = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) {
    const detail = (r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ');
    throw new LabError('HAKIT_E_LAB_COMMAND', `${what}: '${argv.join(' ')}' exited ${r.code}: ${detail}`, 'lab');
  }
  return r.stdout;
}
