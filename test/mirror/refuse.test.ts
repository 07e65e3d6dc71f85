// Garbage and unauthenticated traffic on the replication port is refused with a coded
// error and changes nothing; a forged frame after a valid handshake is refused too; the
// legitimate PRIM still connects afterwards.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HarnessNode, TestNetns, HARNESS_DIR } from './harness/netns';

const ADDR = '198.18.77.3';
const PORT = 7813;
const KEY = 'c3'.repeat(32);
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-hm-refuse-'));
const ns = new TestNetns('refuse', ADDR);
let second: HarnessNode | undefined;
const copy = path.join(base, 'copy');

/** Runs a small client script inside the namespace with the TypeScript hook loaded. */
function client(script: string): string {
  return ns.exec([process.execPath, '-r', path.join(HARNESS_DIR, 'ts-register.js'), '-e', script]);
}

beforeAll(async () => {
  fs.mkdirSync(copy, { recursive: true });
  fs.writeFileSync(path.join(copy, 'keep.txt'), 'untouched\n');
  ns.up();
  second = await HarnessNode.spawn(ns);
  await second.call('receiver', { module: 'mref', dir: copy, state_dir: path.join(base, 'state'), key: KEY, host: ADDR, port: PORT, async: 'none' });
}, 60000);

afterAll(async () => {
  await second?.close();
  ns.down();
  fs.rmSync(base, { recursive: true, force: true });
}, 60000);

const CHANNEL = path.resolve(__dirname, '../../core/mirror/stream/channel.ts');
const FRAME = path.resolve(__dirname, '../../core/mirror/stream/frame.ts');

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
    const c=require('${CHANNEL}'); const {encodeOp}=require('${path.resolve(__dirname, '../../core/mirror/pure/op-codec.ts')}');
    c.connectChannel('${ADDR}',${PORT},{key:Buffer.from('${KEY}','hex'),module:'mref'}).then(ch=>{
      ch.once('frame',()=>{ ch.sendJson(15,1,{session:'evil',first_seq:1}); ch.send(11,1,Buffer.concat([Buffer.from([2]),Buffer.from(JSON.stringify({kind:'unlink',path:'/../keep.txt'}))])); });
      ch.on('close',()=>{console.log('CLOSED');process.exit(0)});
      setTimeout(()=>{console.log('OPEN');process.exit(0)},3000);
    },e=>console.log('ERR',e.code))`);
  expect(out.trim()).toBe('CLOSED');
  expect(fs.existsSync(path.join(copy, 'keep.txt'))).toBe(true);
});
