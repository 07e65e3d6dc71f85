// Garbage and unauthenticated traffic on the replication port is refused with a coded
// error and changes nothing; a forged frame after a valid handshake is refused too; the
// legitimate PRIM still connects afterwards. A peer holding the key still cannot reach
// outside the copy (symlink tricks), flood handshakes, or crash the receiver when its
// state file cannot be written.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HarnessNode, TestNetns } from './harness/netns';
import { distPath } from '../support/dist';

const ADDR = '198.18.77.3';
const PORT = 7813;
const KEY = 'c3'.repeat(32);
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-hm-refuse-'));
const ns = new TestNetns('refuse', ADDR);
let second: HarnessNode | undefined;
const realRoot = path.join(base, 'real');
const copy = path.join(realRoot, '0');
const outside = path.join(base, 'outside');
const stateDir = path.join(base, 'state');

/** Runs a small client script inside the namespace (it requires hakit's built modules). */
function client(script: string): string {
  return ns.exec([process.execPath, '-e', script]);
}

beforeAll(async () => {
  fs.mkdirSync(copy, { recursive: true });
  fs.writeFileSync(path.join(copy, 'keep.txt'), 'untouched\n');
  fs.mkdirSync(outside, { recursive: true });
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret\n');
  ns.up();
  second = await HarnessNode.spawn(ns);
  await second.call('receiver', { module: 'mref', dir: realRoot, roots: 1, state_dir: stateDir, key: KEY, host: ADDR, port: PORT, async: 'none' });
}, 60000);

afterAll(async () => {
  await second?.close();
  ns.down();
  fs.rmSync(base, { recursive: true, force: true });
}, 60000);

const CHANNEL = distPath('core/mirror/stream/channel.ts');
const FRAME = distPath('core/mirror/stream/frame.ts');
const OP_CODEC = distPath('core/mirror/pure/op-codec.ts');

test('random bytes are refused (bad frame)', async () => {
  const from = second!.events.length;
  client(`const s=require('net').connect(${PORT},'${ADDR}',()=>{s.write(require('crypto').randomBytes(4096))});s.on('close',()=>process.exit(0));s.on('error',()=>process.exit(0));setTimeout(()=>process.exit(0),3000)`);
  const ev = await second!.waitEvent((e) => e.event === 'refused', 5000, from);
  expect(['HAKIT_E_MIRROR_BAD_FRAME', 'HAKIT_E_MIRROR_AUTH']).toContain(ev.code);
});

test('an OP frame before authentication is refused', async () => {
  const from = second!.events.length;
  client(`const f=require('${FRAME}');const s=require('net').connect(${PORT},'${ADDR}',()=>{for(const b of f.encodeFrame(f.FrameType.OP,1,Buffer.from('x'),null))s.write(b)});s.on('close',()=>process.exit(0));s.on('error',()=>process.exit(0));setTimeout(()=>process.exit(0),3000)`);
  const ev = await second!.waitEvent((e) => e.event === 'refused', 5000, from);
  expect(ev.code).toBe('HAKIT_E_MIRROR_AUTH');
});

test('a peer with the wrong cluster key is refused, and learns nothing usable', async () => {
  const from = second!.events.length;
  const out = client(`require('${CHANNEL}').connectChannel('${ADDR}',${PORT},{key:Buffer.alloc(32,7),module:'mref'}).then(()=>console.log('CONNECTED'),e=>console.log(e.code))`);
  expect(out.trim()).toBe('HAKIT_E_MIRROR_AUTH');
  // The receiver saw the connection close before any AUTH (the client refused its proof).
  await second!.waitEvent((e) => e.event === 'refused', 5000, from);
});

test('a forged frame after a valid handshake closes the connection', async () => {
  const out = client(`
    const c=require('${CHANNEL}');
    c.connectChannel('${ADDR}',${PORT},{key:Buffer.from('${KEY}','hex'),module:'mref'}).then(ch=>{
      ch.once('frame',()=>{ ch.socket.write(Buffer.concat(require('${FRAME}').encodeFrame(11,1,Buffer.from('forged'),null).concat([Buffer.alloc(16)]))); });
      ch.on('close',()=>{console.log('CLOSED');process.exit(0)});
      setTimeout(()=>{console.log('OPEN');process.exit(0)},3000);
    },e=>console.log('ERR',e.code))`);
  expect(out.trim()).toBe('CLOSED');
  expect(fs.readdirSync(copy)).toEqual(['keep.txt']);
  expect(fs.readFileSync(path.join(copy, 'keep.txt'), 'utf8')).toBe('untouched\n');
});

test('an op with a path escaping the copy is refused', async () => {
  const out = client(`
    const c=require('${CHANNEL}'); const {encodeOp}=require('${OP_CODEC}');
    c.connectChannel('${ADDR}',${PORT},{key:Buffer.from('${KEY}','hex'),module:'mref'}).then(ch=>{
      ch.once('frame',()=>{ ch.sendJson(15,1,{session:'evil',first_seq:1}); ch.send(11,1,Buffer.concat([Buffer.from([2]),Buffer.from(JSON.stringify({kind:'unlink',path:'/../keep.txt'}))])); });
      ch.on('close',()=>{console.log('CLOSED');process.exit(0)});
      setTimeout(()=>{console.log('OPEN');process.exit(0)},3000);
    },e=>console.log('ERR',e.code))`);
  expect(out.trim()).toBe('CLOSED');
  expect(fs.existsSync(path.join(copy, 'keep.txt'))).toBe(true);
});


/** An authenticated client that starts a session, sends `ops`, then `reqs` (REQ bodies);
 *  prints one JSON line per RESP ({id, first, json}) and CLOSED/OPEN at the end. */
function peer(ops: unknown[], reqs: unknown[] = [], wait_ms = 2000): string {
  return client(`
    const c=require('${CHANNEL}'); const {encodeOp}=require('${OP_CODEC}');
    c.connectChannel('${ADDR}',${PORT},{key:Buffer.from('${KEY}','hex'),module:'mref'}).then(ch=>{
      ch.once('frame',()=>{
        const s='s'+Math.random(); ch.sendJson(15,1,{session:s,first_seq:1,state:'syncing'});
        ${JSON.stringify(ops)}.forEach((o,i)=>{ if(o.data!==undefined)o.data=Buffer.from(o.data); ch.send(11,i+1,encodeOp(o)); });
        ${JSON.stringify(reqs)}.forEach((r,i)=>ch.sendJson(13,100+i,r));
        ch.on('frame',(f)=>{ if(f.type===14&&f.seq>=100){ console.log(JSON.stringify({id:f.seq,first:f.payload[0],json:f.payload[0]===123?JSON.parse(f.payload.toString()):null})); } });
      });
      ch.on('close',()=>{console.log('CLOSED');process.exit(0)});
      setTimeout(()=>{console.log('OPEN');process.exit(0)},${wait_ms});
    },e=>console.log('ERR',e.code))`);
}

test('a symlink out of the copy cannot be written through (HAKIT_E_MIRROR_BAD_PATH)', async () => {
  const from = second!.events.length;
  peer([
    { kind: 'symlink', target: outside, path: '/0/evil' },
    { kind: 'create', path: '/0/evil/pwn', mode: 0o644 },
    { kind: 'write', path: '/0/evil/secret.txt', offset: 0, data: 'owned!\n' },
  ]);
  const ev = await second!.waitEvent((e) => e.event === 'applyError', 5000, from);
  expect(ev.code).toBe('HAKIT_E_MIRROR_BAD_PATH');
  expect(fs.readdirSync(outside)).toEqual(['secret.txt']);
  expect(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('secret\n');
  expect(fs.readlinkSync(path.join(copy, 'evil'))).toBe(outside); // the link itself is data
});

test('writes, truncates and chmods never follow a symlink in the last component', async () => {
  const from = second!.events.length;
  const before = fs.statSync(path.join(outside, 'secret.txt')).mode;
  peer([
    { kind: 'symlink', target: path.join(outside, 'secret.txt'), path: '/0/s1' },
    { kind: 'chmod', path: '/0/s1', mode: 0o777 },
    { kind: 'truncate', path: '/0/s1', size: 0 },
  ]);
  await second!.waitEvent((e) => e.event === 'applyError', 5000, from);
  expect(fs.statSync(path.join(outside, 'secret.txt')).mode).toBe(before);
  expect(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('secret\n');
});

test('a signature of a symlinked secret or of a path through a symlink is refused', () => {
  // /0/s1 -> outside/secret.txt and /0/evil -> outside exist from the tests above.
  const lines = peer([], [
    { kind: 'sig', path: '/0/s1', block_size: 65536 },
    { kind: 'sig', path: '/0/evil/secret.txt', block_size: 65536 },
    { kind: 'sig', path: '/1/x', block_size: 65536 },
    { kind: 'sig', path: '/0/keep.txt', block_size: 65536 },
  ], 1500).trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { id: number; first: number; json: { error?: string } | null });
  expect(lines.map((l) => l.id)).toEqual([100, 101, 102, 103]);
  expect(lines[0]!.json?.error).toMatch(/ELOOP|symbolic/);
  expect(lines[1]!.json?.error).toMatch(/outside its replicated directory/);
  expect(lines[2]!.json?.error).toMatch(/not under a replicated directory/);
  expect(lines[3]!.json).toBeNull(); // a real file still gets its (binary) signature
});

test('a second handshake from the same address while one is in flight is refused (HAKIT_E_MIRROR_BUSY)', async () => {
  const from = second!.events.length;
  const out = client(`
    const net=require('net');
    const a=net.connect(${PORT},'${ADDR}',()=>{
      const b=net.connect(${PORT},'${ADDR}');
      b.on('close',()=>{console.log('B-CLOSED');a.destroy();process.exit(0)});
      b.on('error',()=>undefined);
    });
    a.on('error',()=>undefined);
    setTimeout(()=>{console.log('B-OPEN');process.exit(0)},3000)`);
  expect(out.trim()).toBe('B-CLOSED');
  const ev = await second!.waitEvent((e) => e.event === 'refused' && e.code === 'HAKIT_E_MIRROR_BUSY', 5000, from);
  expect(ev.message).toMatch(/already in progress/);
});

test('a state file that cannot be written is a coded apply error, not a crashed receiver', async () => {
  const record = path.join(stateDir, 'receiver.json');
  const saved = fs.readFileSync(record);
  fs.rmSync(record);
  fs.mkdirSync(path.join(record, 'blocker'), { recursive: true }); // rename over it fails
  try {
    const from = second!.events.length;
    client(`
      const c=require('${CHANNEL}');
      c.connectChannel('${ADDR}',${PORT},{key:Buffer.from('${KEY}','hex'),module:'mref'}).then(ch=>{
        ch.once('frame',()=>{ ch.sendJson(15,1,{session:'x'+Math.random(),first_seq:1,state:'in_sync'}); });
        ch.on('close',()=>process.exit(0)); setTimeout(()=>process.exit(0),2000);
      })`);
    const ev = await second!.waitEvent((e) => e.event === 'applyError', 5000, from);
    expect(ev.code).toBe('HAKIT_E_MIRROR_APPLY');
    expect(second!.exited).toBe(false);
  } finally {
    fs.rmSync(record, { recursive: true, force: true });
    fs.writeFileSync(record, saved);
  }
  // Still serving: a legitimate peer connects and is answered.
  const lines = peer([], [{ kind: 'sig', path: '/0/keep.txt', block_size: 65536 }], 1500);
  expect(lines).toMatch(/"id":100/);
});
