// SECOND's apply loop with a real receiver on loopback and real files: runs of writes joined
// into one pwritev land byte for byte as if applied one by one, and the ACKs keep their
// meaning (cumulative, monotonic; an fsync's ACK only once it is applied) while a burst costs
// one ACK instead of one per op.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MirrorReceiver } from '../../../core/mirror/receiver';
import { ReceiverTiming } from '../../../core/mirror/receiver-timing';
import { connectChannel } from '../../../core/mirror/stream/channel';
import { FrameFlag, FrameType, type Frame } from '../../../core/mirror/stream/frame';
import { type MirrorOp } from '../../../core/mirror/pure/ops';
import { ReceiverClient as Client, startReceiver, TEST_KEY as KEY, TEST_MODULE as MODULE } from './receiver-client';

describe('receiver apply loop (async="none")', () => {
  let base: string;
  let receiver: MirrorReceiver;
  let timing: ReceiverTiming;
  let client: Client;

  beforeEach(async () => {
    timing = new ReceiverTiming();
    ({ base, receiver } = await startReceiver('hakit-recv-apply-', { sync_secondary: true }, timing));
    client = await Client.open(receiver.address!.port);
  });

  afterEach(async () => {
    client.close();
    await receiver.stop();
    fs.rmSync(base, { recursive: true, force: true });
  });

  test('writes back to back, with gaps, overlaps and other files between, land as applied one by one', async () => {
    let seed = 7;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const files = ['/0/a', '/0/b'];
    const model = new Map<string, Buffer>(files.map((f) => [f, Buffer.alloc(0)]));
    const ops: MirrorOp[] = files.map((f) => ({ kind: 'create', path: f, mode: 0o644 }));
    const cursor = new Map<string, number>(files.map((f) => [f, 0]));
    for (let i = 0; i < 3000; i++) {
      const f = files[rnd(10) < 8 ? 0 : 1]!;
      // Mostly back to back (runs), sometimes a jump back (overlap) or ahead (gap).
      const k = rnd(20);
      const offset = k === 0 ? rnd(cursor.get(f)! + 1) : k === 1 ? cursor.get(f)! + rnd(5000) : cursor.get(f)!;
      const data = Buffer.alloc(1 + rnd(9000), i % 251);
      ops.push({ kind: 'write', path: f, offset, data });
      cursor.set(f, offset + data.length);
      const cur = model.get(f)!;
      const next = Buffer.alloc(Math.max(cur.length, offset + data.length));
      cur.copy(next);
      data.copy(next, offset);
      model.set(f, next);
    }
    ops.push({ kind: 'fsync', path: '/0' });
    await client.ack(client.send(ops));
    for (const f of files) expect(fs.readFileSync(path.join(base, 'copy', f)).equals(model.get(f)!)).toBe(true);
    expect(receiver.writeRuns).toBeGreaterThan(50); // the pwritev path was taken
    // Cumulative and monotonic, and far fewer than one per op.
    expect([...client.acks].sort((x, y) => x - y)).toEqual(client.acks);
    expect(client.acks.length).toBeLessThan(ops.length / 4);
  });

  test('a burst of writes and its fsync cost one ACK; the fsync is acknowledged only once applied', async () => {
    await client.ack(client.send([{ kind: 'create', path: '/0/f', mode: 0o644 }]));
    const before = client.acks.length;
    // 34 KiB: one socket read of the receiver (it shares this event loop, so the whole burst
    // is in the socket when it reads).
    const burst: MirrorOp[] = Array.from({ length: 16 }, (_, i) => ({ kind: 'write', path: '/0/f', offset: i * 2048, data: Buffer.alloc(2048, i) }));
    burst.push({ kind: 'fsync', path: '/0/f' });
    const last = client.send(burst);
    await client.ack(last);
    expect(client.acks.slice(before)).toEqual([last]);
    expect(fs.statSync(path.join(base, 'copy', '0', 'f')).size).toBe(16 * 2048);
    expect(receiver.opsApplied).toBe(18);
  });

  test('a create keeps the exact mode PRIM sent (not the umask) and its descriptor serves the writes after it', async () => {
    const seq = client.send([
      { kind: 'create', path: '/0/m', mode: 0o666 },
      { kind: 'write', path: '/0/m', offset: 0, data: Buffer.from('hello') },
      { kind: 'rename', from: '/0/m', to: '/0/n' },
      { kind: 'write', path: '/0/n', offset: 5, data: Buffer.from(' world') },
      { kind: 'fsync', path: '/0/n' },
    ]);
    await client.ack(seq);
    const st = fs.statSync(path.join(base, 'copy', '0', 'n'));
    expect(st.mode & 0o777).toBe(0o666);
    expect(fs.readFileSync(path.join(base, 'copy', '0', 'n'), 'utf8')).toBe('hello world');
    expect(fs.existsSync(path.join(base, 'copy', '0', 'm'))).toBe(false);
  });

  test('an fsync naming a file renamed earlier in the stream is acknowledged, not refused (PRIM syncs hot files by the path they were written under)', async () => {
    const seq = client.send([
      { kind: 'create', path: '/0/xlogtemp.1', mode: 0o600 },
      { kind: 'write', path: '/0/xlogtemp.1', offset: 0, data: Buffer.from('segment') },
      { kind: 'rename', from: '/0/xlogtemp.1', to: '/0/seg1' },
      { kind: 'fsync', path: '/0/xlogtemp.1' },
      { kind: 'write', path: '/0/seg1', offset: 7, data: Buffer.from('+') },
      { kind: 'fsync', path: '/0/seg1' },
    ]);
    await client.ack(seq);
    expect(fs.readFileSync(path.join(base, 'copy', '0', 'seg1'), 'utf8')).toBe('segment+');
    expect(receiver.opsApplied).toBe(6);
  });

  test('an op flagged ACK_NOW is acknowledged at once, even with ops behind it; the others are folded', async () => {
    await client.ack(client.send([{ kind: 'create', path: '/0/w', mode: 0o644 }]));
    const before = client.acks.length;
    const ops: MirrorOp[] = [0, 1, 2].map((i) => ({ kind: 'write', path: '/0/w', offset: i * 10, data: Buffer.alloc(10, i) }));
    const last = client.send(ops, (i) => (i === 0 ? FrameFlag.ACK_NOW : 0));
    await client.ack(last);
    expect(client.acks.slice(before)).toEqual([last - 2, last]);
  });

  test('a lone write is acknowledged without a later op (within the idle delay)', async () => {
    const seq = client.send([{ kind: 'create', path: '/0/g', mode: 0o644 }, { kind: 'write', path: '/0/g', offset: 0, data: Buffer.from('x') }]);
    await client.ack(seq);
  });

  test('the stage breakdown is kept when timing is given, and absent by default', async () => {
    await client.ack(client.send([{ kind: 'create', path: '/0/t', mode: 0o644 }, { kind: 'write', path: '/0/t', offset: 0, data: Buffer.alloc(4096) }, { kind: 'fsync', path: '/0/t' }]));
    const s = timing.summary();
    for (const stage of ['rx_decode', 'op_decode', 'queue_wait', 'apply_write', 'fdatasync', 'ack_send', 'turn_fsync'] as const) expect(s.stages[stage]?.n).toBeGreaterThan(0);
    expect(s.ops).toBe(3);
    const plain = new MirrorReceiver({ module: MODULE, dir: path.join(base, 'copy'), state_dir: path.join(base, 'state'), key: KEY, host: '127.0.0.1', port: 0, async: 'none', roots: 1 }, ReceiverTiming.fromEnv({}));
    expect(plain.timing).toBeUndefined();
  });
});

describe('receiver without sync_secondary (the default)', () => {
  test.each([
    ['none', false, 'an-earlier-boot', false],
    ['none', true, 'an-earlier-boot', true],
    ['none', false, 'this-boot', true],
    ['second', false, 'this-boot', false],
  ] as const)('a copy not stopped cleanly (async %s, sync_secondary %s, boot %s) stays complete: %s', async (async, sync_secondary, boot, complete) => {
    // Without sync_secondary the acknowledged writes were in the page cache a reboot lost; with
    // async="second" those acknowledged on receipt died with a crashed process, reboot or not.
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-recv-reboot-'));
    fs.mkdirSync(path.join(base, 'copy', '0'), { recursive: true });
    fs.mkdirSync(path.join(base, 'state'));
    const boot_id = boot === 'this-boot' ? fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : boot;
    fs.writeFileSync(path.join(base, 'state', 'receiver.json'), JSON.stringify({ copy_id: 'c1', complete: true, clean: false, boot_id, needs_full: false }));
    const receiver = new MirrorReceiver({ module: MODULE, dir: path.join(base, 'copy'), state_dir: path.join(base, 'state'), key: KEY, host: '127.0.0.1', port: 0, async, sync_secondary, roots: 1 });
    try {
      await receiver.start();
      expect(receiver.complete).toBe(complete);
      expect(receiver.copyId).toBe('c1');
      expect(JSON.parse(fs.readFileSync(path.join(base, 'state', 'receiver.json'), 'utf8'))).toMatchObject({ complete, needs_full: async === 'second' || boot !== 'this-boot' });
    } finally {
      await receiver.stop();
      fs.rmSync(base, { recursive: true, force: true });
    }
  });

  test('an fsync op is acknowledged once every op before it is written, with no disk sync here', async () => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-recv-nosync-'));
    fs.mkdirSync(path.join(base, 'copy', '0'), { recursive: true });
    fs.mkdirSync(path.join(base, 'state'));
    const timing = new ReceiverTiming();
    const receiver = new MirrorReceiver({ module: MODULE, dir: path.join(base, 'copy'), state_dir: path.join(base, 'state'), key: KEY, host: '127.0.0.1', port: 0, async: 'none', roots: 1 }, timing);
    await receiver.start();
    const client = await Client.open(receiver.address!.port);
    try {
      const last = client.send([{ kind: 'mkdir', path: '/0/d', mode: 0o755 }, { kind: 'create', path: '/0/d/f', mode: 0o644 }, { kind: 'write', path: '/0/d/f', offset: 0, data: Buffer.alloc(4096, 7) }, { kind: 'fsync', path: '/0/d/f' }]);
      await client.ack(last);
      expect(fs.readFileSync(path.join(base, 'copy', '0', 'd', 'f')).equals(Buffer.alloc(4096, 7))).toBe(true);
      const s = timing.summary();
      expect(s.stages.turn_fsync?.n).toBe(1);
      expect(s.stages.fdatasync).toBeUndefined();
      expect(s.stages.dir_fsync).toBeUndefined();
    } finally {
      client.close();
      await receiver.stop();
      fs.rmSync(base, { recursive: true, force: true });
    }
  });
});

describe('a connection that goes silent', () => {
  const SILENCE_MS = 600;
  let base: string;
  let receiver: MirrorReceiver;

  beforeEach(async () => {
    ({ base, receiver } = await startReceiver('hakit-recv-silence-', { silence_ms: SILENCE_MS }));
  });

  afterEach(async () => {
    await receiver.stop();
    fs.rmSync(base, { recursive: true, force: true });
  });

  test('is given up once it carried nothing for the bound (a cut replication LAN: the TCP connection stays open); one that pings is kept', async () => {
    const lost: Array<string | undefined> = [];
    receiver.on('lost', (e) => lost.push(e?.message));
    const ch = await connectChannel('127.0.0.1', receiver.address!.port, { key: KEY, module: MODULE, keepalive_ms: SILENCE_MS / 4 });
    await new Promise<Frame>((resolve) => ch.once('frame', resolve)); // WELCOME
    // PRIM pings at least every keepalive: kept for three bounds.
    let seq = 0;
    const pinger = setInterval(() => ch.send(FrameType.PING, ++seq, Buffer.alloc(0)), SILENCE_MS / 4);
    await new Promise((r) => setTimeout(r, SILENCE_MS * 3));
    clearInterval(pinger);
    expect(lost).toEqual([]);
    // Silent (its frames no longer arrive): given up within the bound and a check.
    const t0 = performance.now();
    await new Promise<void>((resolve) => receiver.once('lost', () => resolve()));
    expect(performance.now() - t0).toBeLessThan(SILENCE_MS * 3);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(new RegExp(`^mirror ${MODULE} <- 127\\.0\\.0\\.1:\\d+: PRIM silent for ${SILENCE_MS} ms$`));
    ch.close();
  });

  test('a sender that named no keepalive in HELLO (an older version, which pings only when it hears nothing) is never given up for silence', async () => {
    const lost: Array<string | undefined> = [];
    receiver.on('lost', (e) => lost.push(e?.message));
    const ch = await connectChannel('127.0.0.1', receiver.address!.port, { key: KEY, module: MODULE });
    await new Promise<Frame>((resolve) => ch.once('frame', resolve)); // WELCOME
    await new Promise((r) => setTimeout(r, SILENCE_MS * 3));
    expect(lost).toEqual([]);
    ch.close();
  });
});
