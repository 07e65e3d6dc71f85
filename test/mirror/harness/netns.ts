// Test-side helpers for mirror tests: a network namespace of our own (prefix `hm-`) with
// 198.18.x.y on its loopback, and harness children running inside it, each in a private
// mount namespace. Everything made here is torn down by name/pid in `cleanup()`.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

export const HARNESS_DIR = __dirname;

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

export class TestNetns {
  readonly name: string;
  constructor(tag: string, readonly addr: string) {
    this.name = `hm-${tag}-${process.pid % 100000}`;
  }
  up(): void {
    sh('ip', ['netns', 'add', this.name]);
    sh('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', this.name, 'addr', 'add', `${this.addr}/32`, 'dev', 'lo']);
  }
  down(): void {
    try { sh('ip', ['netns', 'del', this.name]); } catch { /* already gone */ }
  }
  /** Runs argv inside the netns and inside `pid`'s mount namespace when given. */
  exec(argv: string[], mountPid?: number): string {
    const pre = mountPid ? ['nsenter', '-t', String(mountPid), '-m', '-n', '--'] : ['ip', 'netns', 'exec', this.name];
    return execFileSync(pre[0]!, [...pre.slice(1), ...argv], { encoding: 'utf8' });
  }
}

interface Reply { id?: number; ok?: boolean; result?: unknown; error?: string; event?: string; [k: string]: unknown }

export class HarnessNode {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  readonly events: Reply[] = [];
  private eventWaiters: Array<() => void> = [];
  pid = 0;
  exited = false;
  stderr = '';

  constructor(readonly proc: ChildProcess) {
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      let r: Reply;
      try { r = JSON.parse(line) as Reply; } catch { return; }
      if (r.id !== undefined) { this.waiting.get(r.id)?.(r); this.waiting.delete(r.id); return; }
      if (r.event === 'ready') this.pid = Number(r.pid);
      this.events.push(r);
      const w = this.eventWaiters; this.eventWaiters = []; for (const f of w) f();
    });
    proc.stderr!.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    proc.on('exit', () => { this.exited = true; for (const [, f] of this.waiting) f({ ok: false, error: `child exited: ${this.stderr.slice(-2000)}` }); this.waiting.clear(); });
  }

  /** A child in its own private mount namespace, or with `mountPid` in that process's mount
   *  namespace (which then outlives the child: what a crashed daemon leaves stays there). */
  static async spawn(ns: TestNetns, mountPid?: number): Promise<HarnessNode> {
    // From sources (jest) the child runs through the transpile hook; from dist/ it is plain JS.
    const fromSource = fs.existsSync(path.join(HARNESS_DIR, 'child.ts'));
    const entry = fromSource ? ['-r', path.join(HARNESS_DIR, 'ts-register.js'), path.join(HARNESS_DIR, 'child.ts')] : [path.join(HARNESS_DIR, 'child.js')];
    // (`ip netns exec` would make a new mount namespace again: enter both with nsenter.)
    const pre = mountPid ? ['nsenter', '-t', String(mountPid), '-m', '-n', '--'] : ['ip', 'netns', 'exec', ns.name, 'unshare', '-m', '--propagation', 'private'];
    const proc = spawn(pre[0]!, [...pre.slice(1), process.execPath, ...entry], { stdio: ['pipe', 'pipe', 'pipe'] });
    const node = new HarnessNode(proc);
    await node.waitEvent((e) => e.event === 'ready', 20000);
    return node;
  }

  async call(cmd: string, args: Record<string, unknown> = {}, timeout_ms = 30000): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const r = await new Promise<Reply>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${cmd} timed out after ${timeout_ms} ms; stderr: ${this.stderr.slice(-2000)}`)), timeout_ms);
      this.waiting.set(id, (x) => { clearTimeout(t); resolve(x); });
      this.proc.stdin!.write(JSON.stringify({ id, cmd, args }) + '\n');
    });
    if (!r.ok) throw new Error(`${cmd} failed: ${r.error}`);
    return (r.result ?? {}) as Record<string, unknown>;
  }

  async waitEvent(pred: (e: Reply) => boolean, timeout_ms: number, from = 0): Promise<Reply> {
    const deadline = Date.now() + timeout_ms;
    for (;;) {
      const hit = this.events.slice(from).find(pred);
      if (hit) return hit;
      if (this.exited) throw new Error(`child exited while waiting; stderr: ${this.stderr.slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`event not seen in ${timeout_ms} ms; events: ${JSON.stringify(this.events.slice(-10))}; stderr: ${this.stderr.slice(-1500)}`);
      await new Promise<void>((r) => { const t = setTimeout(r, Math.min(left, 200)); this.eventWaiters.push(() => { clearTimeout(t); r(); }); });
    }
  }

  /** Waits for a status event with this state (after event index `from`). */
  waitStatus(role: string, state: string, timeout_ms: number, from = 0): Promise<Reply> {
    return this.waitEvent((e) => e.event === 'status' && e.role === role && (e.status as { state?: string }).state === state, timeout_ms, from);
  }

  kill9(): void { if (!this.exited) this.proc.kill('SIGKILL'); }

  async close(): Promise<void> {
    if (this.exited) return;
    try { await this.call('stop', {}, 15000); } catch { /* fall through to kill */ }
    this.proc.stdin!.end();
    const t = setTimeout(() => this.kill9(), 5000);
    await new Promise<void>((r) => (this.exited ? r() : this.proc.on('exit', () => r())));
    clearTimeout(t);
  }
}
