// The frame protection is agreed in the handshake, over real sockets (Unix sockets in a
// temporary directory: no network address needed). A mismatch is refused on both ends with
// HAKIT_E_MIRROR_PROTECTION naming both settings; a man in the middle who rewrites the
// protection never obtains a working session; the wire carries the payload in clear only
// in 'auth' mode.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { acceptChannel, senderHandshake, type Channel } from '../../../core/mirror/stream/channel';
import { encodeFrame, FrameDecoder, FrameType, HEADER_BYTES, type Frame, type FrameProtection } from '../../../core/mirror/stream/frame';

const KEY = randomBytes(32);
const MODULE = 'mframes';
const TIMEOUT_MS = 2000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-frame-hs-'));
const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
let serial = 0;

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function listen(onSocket: (s: net.Socket) => void): Promise<string> {
  const at = path.join(dir, `s${serial++}.sock`);
  const server = net.createServer((s) => { sockets.push(s); onSocket(s); });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(at, resolve));
  return at;
}

function dial(at: string): net.Socket {
  const s = net.connect(at);
  sockets.push(s);
  return s;
}

interface Outcome { ok: Channel | undefined; code: string | undefined; message: string }

function outcome(p: Promise<Channel>): Promise<Outcome> {
  return p.then(
    (ok) => ({ ok, code: undefined, message: '' }),
    (e: { code?: string; message?: string }) => ({ ok: undefined, code: e.code, message: e.message ?? '' }),
  );
}

/** A receiver on a fresh socket path; resolves the first connection's handshake. */
async function receiver(protection: FrameProtection): Promise<{ at: string; result: Promise<Outcome> }> {
  let resolve!: (o: Outcome) => void;
  const result = new Promise<Outcome>((r) => { resolve = r; });
  const at = await listen((s) => { void outcome(acceptChannel(s, { key: KEY, module: MODULE, protection, timeout_ms: TIMEOUT_MS })).then(resolve); });
  return { at, result };
}

function sender(at: string, protection: FrameProtection): Promise<Outcome> {
  return outcome(senderHandshake(dial(at), 'test ->', { key: KEY, module: MODULE, protection, timeout_ms: TIMEOUT_MS }));
}

/**
 * A man in the middle: forwards bytes between a client and `upstream`, lets `rewrite` change
 * the first (handshake) frame in each direction, and records everything it forwards.
 */
async function middle(upstream: string, rewrite: (dir: 'up' | 'down', f: Record<string, unknown>) => void): Promise<{ at: string; seen: Buffer[] }> {
  const seen: Buffer[] = [];
  const at = await listen((client) => {
    const server = dial(upstream);
    const pipe = (from: net.Socket, to: net.Socket, dir: 'up' | 'down') => {
      let head: Buffer | null = Buffer.alloc(0);
      from.on('data', (d: Buffer) => {
        seen.push(d);
        if (head === null) { to.write(d); return; }
        head = Buffer.concat([head, d]);
        if (head.length < HEADER_BYTES || head.length < HEADER_BYTES + head.readUInt32BE(4)) return;
        const len = head.readUInt32BE(4);
        const body = JSON.parse(head.subarray(HEADER_BYTES, HEADER_BYTES + len).toString()) as Record<string, unknown>;
        rewrite(dir, body);
        to.write(Buffer.concat([...encodeFrame(head.readUInt8(2) as Frame['type'], 0, Buffer.from(JSON.stringify(body)), null), head.subarray(HEADER_BYTES + len)]));
        head = null;
      });
      from.on('close', () => to.destroy());
      from.on('error', () => to.destroy());
    };
    pipe(client, server, 'up');
    pipe(server, client, 'down');
  });
  return { at, seen };
}

async function roundTrip(tx: Channel, rx: Channel, payload: Buffer): Promise<Frame> {
  const got = new Promise<Frame>((r) => rx.once('frame', r));
  tx.send(FrameType.OP, 1, payload);
  return got;
}

describe.each<FrameProtection>(['auth', 'encrypt'])('both ends %s', (mode) => {
  test('the handshake succeeds and frames flow both ways; the wire shows the payload only in auth mode', async () => {
    const rx = await receiver(mode);
    const tap = await middle(rx.at, () => undefined);
    const [s, r] = await Promise.all([sender(tap.at, mode), rx.result]);
    expect([s.code, r.code]).toEqual([undefined, undefined]);
    const secret = Buffer.from(`replicated file content ${'x'.repeat(64)} end`);
    const f = await roundTrip(s.ok!, r.ok!, secret);
    expect(f.payload.equals(secret)).toBe(true);
    const back = await new Promise<Frame>((res) => { s.ok!.once('frame', res); r.ok!.send(FrameType.ACK, 1, Buffer.from('ack')); });
    expect(back.payload.toString()).toBe('ack');
    expect(Buffer.concat(tap.seen).includes(secret)).toBe(mode === 'auth');
    s.ok!.close();
    r.ok!.close();
  });
});

test.each<[FrameProtection, FrameProtection]>([['auth', 'encrypt'], ['encrypt', 'auth']])('sender %s, receiver %s: both refuse with HAKIT_E_MIRROR_PROTECTION naming both settings', async (mine, theirs) => {
  const rx = await receiver(theirs);
  const [s, r] = await Promise.all([sender(rx.at, mine), rx.result]);
  for (const o of [s, r]) {
    expect(o.ok).toBeUndefined();
    expect(o.code).toBe('HAKIT_E_MIRROR_PROTECTION');
    expect(o.message).toContain('encrypt="on"');
    expect(o.message).toContain('encrypt="off"');
  }
  expect(s.message).toContain(`receiver has <rfs> encrypt="${theirs === 'encrypt' ? 'on' : 'off'}"`);
  expect(s.message).toContain(`this node has encrypt="${mine === 'encrypt' ? 'on' : 'off'}"`);
  expect(r.message).toContain(`this node has encrypt="${theirs === 'encrypt' ? 'on' : 'off'}"`);
});

test.each<[FrameProtection, FrameProtection]>([['auth', 'encrypt'], ['encrypt', 'auth']])('a man in the middle who rewrites the protection (sender %s, receiver %s) gets no session', async (mine, theirs) => {
  // Both claims rewritten: each end believes the other agrees. The proofs bind each end's
  // own protection, so the sender refuses the receiver's proof.
  const rx = await receiver(theirs);
  const mitm = await middle(rx.at, (dir, f) => { f.frames = dir === 'up' ? theirs : mine; });
  const [s, r] = await Promise.all([sender(mitm.at, mine), rx.result]);
  expect(s.ok).toBeUndefined();
  expect(r.ok).toBeUndefined();
  expect(s.code).toBe('HAKIT_E_MIRROR_AUTH');

  // Only HELLO rewritten: the receiver goes on, the sender sees the receiver's real setting.
  const rx2 = await receiver(theirs);
  const half = await middle(rx2.at, (dir, f) => { if (dir === 'up') f.frames = theirs; });
  const [s2, r2] = await Promise.all([sender(half.at, mine), rx2.result]);
  expect(s2.ok).toBeUndefined();
  expect(r2.ok).toBeUndefined();
  expect(s2.code).toBe('HAKIT_E_MIRROR_PROTECTION');
});

test('a HELLO without a valid protection is refused as unauthenticated', async () => {
  const rx = await receiver('auth');
  const s = dial(rx.at);
  s.on('error', () => undefined);
  s.write(Buffer.concat(encodeFrame(FrameType.HELLO, 0, Buffer.from(JSON.stringify({ v: 2, module: MODULE, nonce: randomBytes(32).toString('hex'), frames: 'none' })), null)));
  const r = await rx.result;
  expect(r.code).toBe('HAKIT_E_MIRROR_AUTH');
  expect(r.message).toContain('frames');
  // Nothing was answered: a peer that names no valid protection learns no proof.
  const dec = new FrameDecoder('t');
  const answered: Frame[] = [];
  s.on('data', (d: Buffer) => answered.push(...dec.push(d)));
  await new Promise((res) => s.once('close', res));
  expect(answered).toEqual([]);
});

test('frames held for the turn leave at the check phase, together and in order', async () => {
  const rx = await receiver('auth');
  const [s, r] = await Promise.all([sender(rx.at, 'auth'), rx.result]);
  const tx = s.ok!;
  const got: number[] = [];
  r.ok!.on('frame', (f: Frame) => got.push(f.seq));
  // writableLength: bytes queued in the stream, not yet handed to the socket.
  const queued = (): number => tx.socket.writableLength;
  expect(queued()).toBe(0);
  tx.holdFramesThisTurn();
  tx.holdFramesThisTurn(); // once per turn: one uncork balances it
  tx.send(FrameType.OP, 1, Buffer.from('first'));
  tx.send(FrameType.OP, 2, Buffer.from('second'));
  expect(queued()).toBeGreaterThan(0); // corked for the rest of this turn
  await new Promise((res) => setImmediate(res));
  expect(queued()).toBe(0);
  // Not held any more: the next frame goes to the socket at once.
  tx.send(FrameType.OP, 3, Buffer.from('third'));
  expect(queued()).toBe(0);
  // Released early (before a blocking flush): written at once; the check phase adds nothing.
  tx.holdFramesThisTurn();
  tx.send(FrameType.OP, 4, Buffer.from('fourth'));
  expect(queued()).toBeGreaterThan(0);
  tx.releaseHeldFrames();
  expect(queued()).toBe(0);
  tx.holdFramesThisTurn(); // a new hold in the same turn is released by the first check phase
  tx.send(FrameType.OP, 5, Buffer.from('fifth'));
  await new Promise((res) => setImmediate(res));
  expect(queued()).toBe(0);
  const deadline = Date.now() + TIMEOUT_MS;
  while (got.length < 5 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
  expect(got).toEqual([1, 2, 3, 4, 5]);
  tx.close();
  r.ok!.close();
});

test('nothing listening: the handshake fails with the socket\'s own cause (an admin tells a stopped peer from a handshake problem)', async () => {
  const at = path.join(dir, `none${serial++}.sock`); // no server: connect fails with ENOENT
  const err = await senderHandshake(net.connect(at), `mirror ${MODULE} -> ${at}`, { key: KEY, module: MODULE, timeout_ms: TIMEOUT_MS }).then(() => null, (e: unknown) => e as { code?: string; message: string });
  expect(err?.code).toBe('HAKIT_E_MIRROR_PEER_LOST');
  expect(err?.message).toBe(`mirror ${MODULE} -> ${at}: connect failed: ENOENT`);
  // A peer that accepts and closes is what "closed during handshake" means.
  const closing = await listen((s) => s.destroy());
  const closed = await senderHandshake(net.connect(closing), 'x', { key: KEY, module: MODULE, timeout_ms: TIMEOUT_MS }).then(() => null, (e: unknown) => e as { message: string });
  expect(closed?.message).toMatch(/connection closed during handshake|failed: (ECONNRESET|EPIPE)/);
});
