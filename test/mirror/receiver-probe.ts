// The SECOND's share of a synchronous write, measured without PRIM: a client speaks the
// replication protocol on loopback to a MirrorReceiver in a child process (async="none") and
// times (a) 4 KiB write + fsync op until the fsync's ACK, and (b) a stream of 8 KiB writes
// followed by one fsync (bulk load). The child reports the receiver's stage breakdown
// (core/mirror/receiver-timing.ts) for each phase. A local 4 KiB pwrite + fdatasync on the
// same file system is the reference. Diagnostics for docs/mirror.md, not a test.
//   node dist/test/mirror/receiver-probe.js [--sync-ops N] [--stream-ops N] [--stream-kib K] [--rounds R] [--no-timing]
// (HAKIT_PROFILE_DIR=<dir>: a V8 CPU profile of the receiver's process is written there.)
// Run it under the heavy lock (it loads both cores): flock /tmp/hakit-heavy.lock node ...
import '../../core/daemon/threadpool-init';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { MirrorReceiver } from '../../core/mirror/receiver';
import { ReceiverTiming, type TimingSummary } from '../../core/mirror/receiver-timing';
import { connectChannel, type Channel } from '../../core/mirror/stream/channel';
import { FrameType, type Frame } from '../../core/mirror/stream/frame';
import { encodeOpParts } from '../../core/mirror/pure/op-codec';
import { type MirrorOp } from '../../core/mirror/pure/ops';

const KEY = Buffer.alloc(32, 7);
const MODULE = 'probe';
const STEP_TIMEOUT_MS = 60_000;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

// ---- child: the receiver -------------------------------------------------------------

async function serve(dir: string): Promise<void> {
  const timing = process.argv.includes('--no-timing') ? undefined : new ReceiverTiming();
  const r = new MirrorReceiver({ module: MODULE, dir: path.join(dir, 'copy'), state_dir: path.join(dir, 'state'), key: KEY, host: '127.0.0.1', port: 0, async: 'none', roots: 1 }, timing);
  fs.mkdirSync(path.join(dir, 'copy', '0'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'state'), { recursive: true });
  await r.start();
  process.stdout.write(JSON.stringify({ port: r.address!.port }) + '\n');
  readline.createInterface({ input: process.stdin }).on('line', (l) => {
    if (l === 'summary') {
      const s = timing?.summary();
      timing?.reset();
      process.stdout.write(JSON.stringify(s ?? {}) + '\n');
    } else if (l === 'stop') {
      void r.stop().then(() => process.exit(0));
    }
  });
}

// ---- parent: the client --------------------------------------------------------------

class Client {
  private seq = 0;
  private acked = 0;
  acks = 0;
  private waiter: { seq: number; done: () => void } | undefined;
  private constructor(private readonly ch: Channel) {
    ch.on('frame', (f: Frame) => {
      if (f.type !== FrameType.ACK) return;
      this.acks++;
      this.acked = Math.max(this.acked, f.seq);
      if (this.waiter && this.acked >= this.waiter.seq) { const w = this.waiter; this.waiter = undefined; w.done(); }
    });
  }
  static async open(port: number): Promise<Client> {
    const ch = await connectChannel('127.0.0.1', port, { key: KEY, module: MODULE });
    const welcome = await new Promise<Frame>((resolve) => ch.once('frame', resolve));
    if (welcome.type !== FrameType.WELCOME) throw new Error(`expected WELCOME, got ${welcome.type}`);
    return new Client(ch);
  }
  /** Sends one op; resolves when the socket has room again. */
  async send(op: MirrorOp): Promise<number> {
    const seq = ++this.seq;
    if (!this.ch.send(FrameType.OP, seq, encodeOpParts(op))) await new Promise<void>((r) => this.ch.once('drain', () => r()));
    return seq;
  }
  ack(seq: number): Promise<void> {
    if (this.acked >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ACK of ${seq} within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
      this.waiter = { seq, done: () => { clearTimeout(t); resolve(); } };
    });
  }
  close(): void { this.ch.close(); }
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

async function main(): Promise<void> {
  if (process.argv[2] === 'serve') return serve(process.argv[3]!);
  const syncOps = arg('--sync-ops', 1000);
  const streamOps = arg('--stream-ops', 20000);
  const streamBytes = arg('--stream-kib', 8) * 1024;
  const rounds = arg('--rounds', 3);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-recv-probe-'));
  // HAKIT_PROFILE_DIR: the receiver's process writes a V8 CPU profile there.
  const prof = process.env.HAKIT_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.HAKIT_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...prof, __filename, 'serve', base, ...process.argv.slice(2)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => (await lines.next()).value as string;
  try {
    const { port } = JSON.parse(await nextLine()) as { port: number };
    const summary = async (): Promise<TimingSummary> => { child.stdin!.write('summary\n'); return JSON.parse(await nextLine()) as TimingSummary; };
    const c = await Client.open(port);
    await c.ack(await c.send({ kind: 'create', path: '/0/a', mode: 0o644 }));
    await c.send({ kind: 'create', path: '/0/b', mode: 0o644 });
    await c.ack(await c.send({ kind: 'fsync', path: '/0' }));
    await summary();
    const page = Buffer.alloc(4096, 1);
    const big = Buffer.alloc(streamBytes, 2);
    const localFile = path.join(base, 'local.bin');
    const lfd = fs.openSync(localFile, 'w');
    const out: Record<string, unknown[]> = { local_4k_fdatasync_us: [], recv_4k_write_fsync_us: [], stream_ops_per_s: [], stream_final_fsync_ms: [], stream_acks_per_op: [] };
    let off = 0;
    for (let r = 0; r < rounds; r++) {
      // Local reference, same file system.
      const loc: number[] = [];
      for (let i = 0; i < syncOps; i++) {
        const t0 = performance.now();
        fs.writeSync(lfd, page, 0, page.length, (i % 256) * 4096);
        fs.fdatasyncSync(lfd);
        loc.push((performance.now() - t0) * 1000);
      }
      out.local_4k_fdatasync_us!.push(Math.round(median(loc)));
      // (a) 4 KiB write + fsync, one at a time.
      const lat: number[] = [];
      for (let i = 0; i < syncOps; i++) {
        const t0 = performance.now();
        await c.send({ kind: 'write', path: '/0/a', offset: (i % 256) * 4096, data: page });
        await c.ack(await c.send({ kind: 'fsync', path: '/0/a' }));
        lat.push((performance.now() - t0) * 1000);
      }
      out.recv_4k_write_fsync_us!.push(Math.round(median(lat)));
      const a = await summary();
      // (b) stream of writes, then one fsync.
      const acks0 = c.acks;
      const t0 = performance.now();
      let last = 0;
      for (let i = 0; i < streamOps; i++, off += big.length) last = await c.send({ kind: 'write', path: '/0/b', offset: off, data: big });
      const tSent = performance.now();
      await c.ack(last);
      const tApplied = performance.now();
      await c.ack(await c.send({ kind: 'fsync', path: '/0/b' }));
      const t1 = performance.now();
      out.stream_ops_per_s!.push(Math.round(streamOps / ((tApplied - t0) / 1000)));
      out.stream_final_fsync_ms!.push(+(t1 - tApplied).toFixed(1));
      out.stream_acks_per_op!.push(+((c.acks - acks0) / (streamOps + 1)).toFixed(3));
      const b = await summary();
      process.stderr.write(`round ${r}: sent in ${(tSent - t0).toFixed(0)} ms, applied+acked ${(tApplied - t0).toFixed(0)} ms\n`);
      process.stdout.write(JSON.stringify({ round: r, sync_phase: a, stream_phase: b }) + '\n');
    }
    fs.closeSync(lfd);
    process.stdout.write(JSON.stringify({ result: out }) + '\n');
    c.close();
    child.stdin!.write('stop\n');
    await new Promise((r) => child.once('exit', r));
  } finally {
    child.kill('SIGKILL');
    fs.rmSync(base, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exit(1); });
