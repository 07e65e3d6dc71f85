// A mirror test node: runs inside a network namespace (and its own mount namespace) made
// by the test, takes JSON commands on stdin, answers and reports events on stdout.
import '../../../core/daemon/threadpool-init'; // first: FUSE reads hold pool threads
import readline from 'node:readline';
import { startMirrorPrim, startMirrorSecond, type MirrorPrim, type MirrorSecond, type MirrorModuleSpec } from '../../../core/mirror/engine';
import { MirrorReceiver } from '../../../core/mirror/receiver';
import { MirrorSender } from '../../../core/mirror/sender';
import { compileExcludes } from '../../../core/mirror/pure/exclude';

type Cmd = { id: number; cmd: string; args?: Record<string, unknown> };
let prim: MirrorPrim | undefined;
let second: MirrorSecond | undefined;
let sender: MirrorSender | undefined;
let receiver: MirrorReceiver | undefined;

function out(o: unknown): void { process.stdout.write(JSON.stringify(o) + '\n'); }

function spec(a: Record<string, unknown>): MirrorModuleSpec {
  return {
    module: String(a.module), dirs: a.dirs as string[], work_dir: String(a.work_dir),
    key: Buffer.from(String(a.key), 'hex'), notreplicated: (a.notreplicated as string[] | undefined) ?? [],
    async: (a.async as 'second' | 'none' | undefined) ?? 'second',
    mode: (a.mode as 'sync' | 'watch' | undefined) ?? 'sync',
    watch_max_hints: a.watch_max_hints as number | undefined,
    bandwidth_bytes_per_s: a.bandwidth_bytes_per_s as number | undefined,
    writeback: a.writeback === true,
    sync_secondary: a.sync_secondary === true,
  };
}

async function handle(c: Cmd): Promise<unknown> {
  const a = c.args ?? {};
  switch (c.cmd) {
    case 'prim':
      // No module layer here: the PRIM fences itself unless the test plays that layer ('fenced').
      prim = await startMirrorPrim(spec(a), a.peer as { host: string; port: number }, { fence: a.fence === 'module' ? 'module' : 'self' });
      prim.on('fence_wanted', () => out({ event: 'fence_wanted' }));
      prim.on('problem', (e) => out({ event: 'problem', message: e.message, code: (e as { code?: string }).code }));
      prim.on('status', (s) => out({ event: 'status', role: 'prim', status: s }));
      return { phase: prim.phase };
    case 'second':
      second = await startMirrorSecond(spec(a), a.listen as { host: string; port: number }, { readonly_copy: a.readonly_copy === true });
      second.on('status', (s) => out({ event: 'status', role: 'second', status: s }));
      return { complete: second.complete };
    case 'sender': // plain sender over a directory, no FUSE (the test calls 'op')
      sender = new MirrorSender({
        module: String(a.module), real_dir: String(a.real_dir), state_dir: String(a.state_dir),
        key: Buffer.from(String(a.key), 'hex'), peer: a.peer as { host: string; port: number },
        rules: compileExcludes((a.notreplicated as string[] | undefined) ?? []),
        block_size_bytes: a.block_size_bytes as number | undefined,
        sync_secondary: a.sync_secondary === true,
        fence: a.fence === 'module' ? 'module' : 'self',
      });
      sender.on('status', (s) => out({ event: 'status', role: 'sender', status: s }));
      sender.on('fence_wanted', () => out({ event: 'fence_wanted' }));
      await sender.start();
      return {};
    case 'receiver':
      receiver = new MirrorReceiver({
        module: String(a.module), dir: String(a.dir), state_dir: String(a.state_dir),
        key: Buffer.from(String(a.key), 'hex'), host: String(a.host), port: Number(a.port),
        async: (a.async as 'second' | 'none' | undefined) ?? 'second',
        sync_secondary: a.sync_secondary === true,
        rules: compileExcludes((a.notreplicated as string[] | undefined) ?? []),
        roots: (a.roots as number | undefined) ?? 1,
      });
      receiver.on('refused', (e) => out({ event: 'refused', code: e.code, message: e.message }));
      receiver.on('complete', (v) => out({ event: 'complete', value: v }));
      receiver.on('applyError', (e) => out({ event: 'applyError', code: e.code, message: e.message }));
      await receiver.start();
      return { copy_id: receiver.copyId, complete: receiver.complete };
    case 'phase':
      return { phase: prim?.phase ?? sender?.phase, shipped_bytes: (prim?.sender ?? sender)?.shippedBytes, pending_bytes: (prim?.sender ?? sender)?.pending.dirtyBytes(), journal_problem: (prim ?? sender)?.journalProblem?.code ?? null, ...prim?.watchStats() };
    case 'applied': { // SECOND's apply counters: a benchmark waits until they stop moving
      const r = second?.receiver ?? receiver;
      return { ops_applied: r?.opsApplied, bytes_applied: r?.bytesApplied };
    }
    case 'settled':
      await prim?.settled();
      return {};
    case 'verify':
      return { diff: await prim!.verify() };
    case 'fullsync':
      await (prim ? prim.fullsync() : sender!.fullsync());
      return {};
    case 'fenced': // the test plays the module layer (started with fence 'module')
      if (prim) prim.fenced(); else sender!.fenced();
      return { needs_fence: (prim?.sender ?? sender)?.needsFence };
    case 'refuse_fence': // the module layer's refusal: the fence cannot hold
      if (prim) prim.refuseFence(String(a['reason'] ?? 'test')); else sender!.refuseFence(String(a['reason'] ?? 'test'));
      return { needs_fence: (prim?.sender ?? sender)?.needsFence };
    case 'stop':
      await prim?.stop();
      await second?.stop();
      await sender?.stop();
      await receiver?.stop();
      prim = second = undefined; sender = undefined; receiver = undefined;
      return {};
    case 'exit':
      setImmediate(() => process.exit(0));
      return {};
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let c: Cmd;
  try { c = JSON.parse(line) as Cmd; } catch { return; }
  handle(c).then((result) => out({ id: c.id, ok: true, result }), (e: unknown) => out({ id: c.id, ok: false, error: String((e as Error).stack ?? e), code: (e as { code?: string }).code }));
});
rl.on('close', () => {
  void (async () => {
    await prim?.stop().catch(() => undefined);
    await second?.stop().catch(() => undefined);
    await sender?.stop().catch(() => undefined);
    await receiver?.stop().catch(() => undefined);
    process.exit(0);
  })();
});
out({ event: 'ready', pid: process.pid });
