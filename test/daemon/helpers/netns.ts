// Network namespaces for H6's daemon tests. Every name carries the `hd` prefix so parallel
// helpers never collide; everything made here is torn down by name in `destroy()`.
import { spawnSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const TS_REGISTER = path.join(__dirname, 'ts-register.cjs');

export function sh(argv: readonly string[], allowFail = false): { code: number; stdout: string; stderr: string } {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 15_000 });
  const res = { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (!allowFail && res.code !== 0) throw new Error(`${argv.join(' ')} failed (${res.code}): ${res.stderr}`);
  return res;
}

export interface NsPair {
  readonly a: string;
  readonly b: string;
  readonly addrA: string;
  readonly addrB: string;
  readonly ifA: string;
  readonly ifB: string;
  destroy(): void;
}

/** Two namespaces joined by a veth pair; `tag` must be short (names ≤ 15 chars). */
export function makePair(tag: string, subnet: number): NsPair {
  const a = `hd-${tag}a`;
  const b = `hd-${tag}b`;
  const ifA = `hd${tag}a`;
  const ifB = `hd${tag}b`;
  const addrA = `198.18.${subnet}.1`;
  const addrB = `198.18.${subnet}.2`;
  const destroy = (): void => {
    sh(['ip', 'netns', 'del', a], true);
    sh(['ip', 'netns', 'del', b], true);
  };
  destroy();
  try {
    sh(['ip', 'netns', 'add', a]);
    sh(['ip', 'netns', 'add', b]);
    sh(['ip', 'link', 'add', ifA, 'netns', a, 'type', 'veth', 'peer', 'name', ifB, 'netns', b]);
    sh(['ip', '-n', a, 'addr', 'add', `${addrA}/24`, 'dev', ifA]);
    sh(['ip', '-n', b, 'addr', 'add', `${addrB}/24`, 'dev', ifB]);
    for (const [ns, dev] of [[a, ifA], [b, ifB]] as const) {
      sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
  } catch (e) {
    destroy();
    throw e;
  }
  return { a, b, addrA, addrB, ifA, ifB, destroy };
}

/** Runs a TypeScript script of the repo inside `ns` (with stdout piped). */
export function spawnTsIn(ns: string, script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, process.execPath, '-r', TS_REGISTER, path.join(REPO_ROOT, script), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Collects a child's stdout lines as parsed JSON until it exits. */
export function collectJsonLines(child: ChildProcess): { lines: unknown[]; exited: Promise<number | null> } {
  const lines: unknown[] = [];
  let rest = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    rest += chunk.toString('utf8');
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) lines.push(JSON.parse(p));
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code !== 0 && stderr) process.stderr.write(`child stderr: ${stderr}\n`);
      resolve(code);
    }),
  );
  return { lines, exited };
}
