// The CommandRunner port: runs one external command (argv, never a shell) with a timeout.
// `prefix` lets tests run the same commands inside a namespace (`ip netns exec NS`); the
// daemon itself already runs in its node's namespace and uses no prefix.
import { spawn } from 'node:child_process';

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandRunner {
  run(argv: readonly string[], timeout_ms: number): Promise<CommandResult>;
}

/** Output kept per stream of a helper command (ip, arping print little). */
export const MAX_COMMAND_OUTPUT_BYTES = 1024 * 1024;

export class RealCommandRunner implements CommandRunner {
  constructor(private readonly prefix: readonly string[] = []) {}

  run(argv: readonly string[], timeout_ms: number): Promise<CommandResult> {
    const full = [...this.prefix, ...argv];
    return new Promise((resolve) => {
      const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeout_ms, killSignal: 'SIGKILL' });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        if (stdout.length < MAX_COMMAND_OUTPUT_BYTES) stdout += c;
      });
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        if (stderr.length < MAX_COMMAND_OUTPUT_BYTES) stderr += c;
      });
      child.once('error', (e) => resolve({ code: null, stdout, stderr: stderr + e.message }));
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  }
}
