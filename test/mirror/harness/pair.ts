// A PRIM and a SECOND engine, each a harness child in its own private mount namespace, in one
// network namespace of ours: the fixture every engine test starts from.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HarnessNode, TestNetns } from './netns';

export interface MirrorPairOptions {
  /** Names the temp dir (`hakit-hm-<tag>-*`) and the namespace (`hm-<tag>-<pid>`). */
  readonly tag: string;
  readonly addr: string;
  readonly port: number;
  readonly key: string;
  readonly module: string;
  /** Engine options for both sides besides dirs, work_dir and key (default async "none"). */
  readonly spec?: Readonly<Record<string, unknown>>;
}

/** The first sync of a small tree finishes well within this on a busy machine. */
export const FIRST_SYNC_TIMEOUT_MS = 20_000;

export class MirrorPair {
  readonly base: string;
  readonly ns: TestNetns;
  /** The replicated directory of PRIM (n1) and SECOND (n2). */
  readonly d1: string;
  readonly d2: string;
  private p: HarnessNode | undefined;
  private s: HarnessNode | undefined;

  constructor(private readonly o: MirrorPairOptions) {
    this.base = fs.mkdtempSync(path.join(os.tmpdir(), `hakit-hm-${o.tag}-`));
    this.ns = new TestNetns(o.tag, o.addr);
    this.d1 = path.join(this.base, 'n1', 'data');
    this.d2 = path.join(this.base, 'n2', 'data');
  }

  get prim(): HarnessNode {
    if (!this.p) throw new Error('PRIM is not started');
    return this.p;
  }

  get second(): HarnessNode {
    if (!this.s) throw new Error('SECOND is not started');
    return this.s;
  }

  /** Where SECOND listens: PRIM's `peer`. */
  get peer(): { host: string; port: number } {
    return { host: this.o.addr, port: this.o.port };
  }

  spec(node: 'n1' | 'n2', extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { module: this.o.module, dirs: [path.join(this.base, node, 'data')], work_dir: path.join(this.base, node, 'work'), key: this.o.key, async: 'none', ...this.o.spec, ...extra };
  }

  /** Makes both data directories and the namespace; fill the directories before starting. */
  prepare(): void {
    fs.mkdirSync(this.d1, { recursive: true });
    fs.mkdirSync(this.d2, { recursive: true });
    this.ns.up();
  }

  /** Starts (or restarts) SECOND; `beforeListen` runs in its mount namespace first. */
  async startSecond(beforeListen?: (node: HarnessNode) => void): Promise<HarnessNode> {
    const node = await HarnessNode.spawn(this.ns);
    beforeListen?.(node);
    await node.call('second', { ...this.spec('n2'), listen: this.peer });
    this.s = node;
    return node;
  }

  /** Starts PRIM and waits for the first sync. */
  async startPrim(): Promise<HarnessNode> {
    const node = await HarnessNode.spawn(this.ns);
    await node.call('prim', { ...this.spec('n1'), peer: this.peer });
    this.p = node;
    await node.waitStatus('prim', 'in_sync', FIRST_SYNC_TIMEOUT_MS);
    return node;
  }

  /**
   * Runs a shell command as the application would, in PRIM's mount namespace, then
   * `sync DIR` (an fsync of the replicated directory): under the durability contract
   * (docs/mirror.md) writes return before SECOND has them and an fsync is the barrier, so
   * what the script did is on SECOND when this returns. The script's exit status is kept.
   */
  app(script: string): string {
    return this.ns.exec(['sh', '-c', `( ${script}
); rc=$?; sync ${this.d1} 2>/dev/null; exit $rc`], this.prim.pid);
  }

  /** The script alone: returns as soon as the application's own calls return. */
  appNoSync(script: string): string {
    return this.ns.exec(['sh', '-c', script], this.prim.pid);
  }

  inPrim(argv: string[]): string {
    return this.ns.exec(argv, this.prim.pid);
  }

  inSecond(argv: string[]): string {
    return this.ns.exec(argv, this.second.pid);
  }

  /** Stops both sides, removes the namespace and the temp dir (also after a failed test). */
  /** Closes both nodes (a SECOND a test stopped with SIGSTOP is resumed first: a stopped
   * process never answers its close request), removes the namespace and the files. */
  async stop(): Promise<void> {
    if (this.s && !this.s.exited) process.kill(this.s.pid, 'SIGCONT');
    await this.p?.close();
    await this.s?.close();
    this.ns.down();
    fs.rmSync(this.base, { recursive: true, force: true });
  }
}
