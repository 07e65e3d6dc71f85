// Runs a command with stdin and a timeout. The prefix lets tests run it inside a network
// namespace (`ip netns exec NAME`); the daemon, already in its namespace, uses no prefix.
import { spawn } from 'node:child_process';
import { HakitError } from '../../core/errors/catalogue';
import { NFT_COMMAND_TIMEOUT_MS } from '../pure/limits';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export type CommandRunner = (argv: readonly string[], stdin?: string) => Promise<CommandResult>;

/** nft answers in milliseconds; a hung nft (netlink lock) must not hang the module runner. */
export const COMMAND_TIMEOUT_MS = NFT_COMMAND_TIMEOUT_MS;
/** Output kept from one command (a full ruleset listing is a few KiB). */
export const COMMAND_OUTPUT_MAX_BYTES = 4 * 1024 * 1024;

export function spawnRunner(prefix: readonly string[] = [], timeout_ms = COMMAND_TIMEOUT_MS): CommandRunner {
  return (argv, stdin) =>
    new Promise((resolve, reject) => {
      const full = [...prefix, ...argv];
      const [cmd, ...args] = full;
      if (!cmd) return reject(new HakitError('HAKIT_E_INTERNAL', 'empty command', 'filters/nft/command'));
      const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size_bytes = 0;
      const keep = (into: Buffer[]) => (chunk: Buffer) => {
        size_bytes += chunk.length;
        if (size_bytes <= COMMAND_OUTPUT_MAX_BYTES) into.push(chunk);
      };
      child.stdout.on('data', keep(out));
      child.stderr.on('data', keep(err));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new HakitError('HAKIT_E_FILTER_NFT_TIMEOUT', `${full.join(' ')} did not finish in ${timeout_ms} ms`, 'filters/nft'));
      }, timeout_ms);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new HakitError('HAKIT_E_FILTER_NFT_FAILED', `cannot run ${cmd}: ${e.message}`, 'filters/nft'));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
      });
      child.stdin.on('error', () => undefined); // the exit code reports the failure
      child.stdin.end(stdin ?? '');
    });
}
