// Test-side helpers for mirror tests: a network namespace of our own (prefix `hm-`) with
// 198.18.x.y on its loopback, and harness children running inside it, each in a private
// mount namespace. Everything made here is torn down by name/pid (`down()`, `close()`).
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { distPath } from '../../support/dist';
import { Netns, sh } from '../../support/netns';

/** Bound on one command run in a node's view (a benchmark writer runs for minutes). */
const EXEC_TIMEOUT_MS = 600_000;

export class TestNetns {
  private readonly ns: Netns;
  constructor(tag: string, readonly addr: string) {
    this.ns = new Netns(`hm-${tag}-${process.pid % 100000}`);
  }
  get name(): string {
    return this.ns.name;
  }
  up(): void {
    this.ns.up();
    this.ns.addAddr(`${this.addr}/32`, 'lo');
  }
  down(): void {
    this.ns.down();
  }
  /** Runs argv inside the netns and inside `pid`'s mount namespace when given; its stdout. */
  exec(argv: string[], mountPid?: number): string {
    const pre = mountPid ? ['nsenter', '-t', String(mountPid), '-m', '-n', '--'] : ['ip', 'netns', 'exec', this.name];
    return sh([...pre, ...argv], false, EXEC_TIMEOUT_MS).stdout;
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
    const entry = [distPath('test/mirror/harness/child.ts')];
    // (`ip netns exec` would make a new mount namespace again: enter both with nsenter.)
    const pre = mountPid ? ['nsenter', '-t', String(mountPid), '-m', '-n', '--'] : ['ip', 'netns', 'exec', ns.name, 'unshare', '-m', '--propagation', 'private'];
    // HAKIT_PROFILE_DIR: each child writes a V8 CPU profile there (node refuses --cpu-prof
    // in NODE_OPTIONS), for finding where a benchmark's time goes.
    const prof = process.env.HAKIT_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.HAKIT_PROFILE_DIR}`] : [];
    // env given explicitly: under jest, the test's process.env is a copy that spawn's default
    // (the real process's) would not see (a test sets HAKIT_FUSE_TIMING for its PRIM).
    const proc = spawn(pre[0]!, [...pre.slice(1), process.execPath, ...prof, ...entry], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env } });
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
