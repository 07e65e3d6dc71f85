// Network namespaces for H6's daemon tests, on test/support/netns.ts. Every name carries the
// `hd` prefix so parallel helpers never collide; everything made here is torn down by name
// in `destroy()`.
import type { ChildProcess } from 'node:child_process';
import { linkVeth, Netns } from '../../support/netns';

export { sh } from '../../support/netns';

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
  const a = new Netns(`hd-${tag}a`);
  const b = new Netns(`hd-${tag}b`);
  const ifA = `hd${tag}a`;
  const ifB = `hd${tag}b`;
  const addrA = `198.18.${subnet}.1`;
  const addrB = `198.18.${subnet}.2`;
  const destroy = (): void => {
    a.down();
    b.down();
  };
  try {
    a.up();
    b.up();
    linkVeth({ ns: a, ifname: ifA, cidr: `${addrA}/24` }, { ns: b, ifname: ifB, cidr: `${addrB}/24` });
  } catch (e) {
    destroy();
    throw e;
  }
  return { a: a.name, b: b.name, addrA, addrB, ifA, ifB, destroy };
}

/** Runs a repository script, built (dist/), inside namespace `ns` with stdout piped. */
export function spawnIn(ns: string, sourceRel: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return new Netns(ns).spawnNode(sourceRel, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
