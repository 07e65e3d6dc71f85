// Real FUSE capture on PRIM, real TCP to a real receiver, both in a network namespace of
// ours (each node in its own private mount namespace). The application's writes are made
// by shell commands entered into PRIM's mount namespace.
import fs from 'node:fs';
import path from 'node:path';
import { MirrorPair } from './harness/pair';

const pair = new MirrorPair({ tag: 'fuse', addr: '198.18.77.1', port: 7811, key: 'a1'.repeat(32), module: 'mtest', spec: { notreplicated: ['\\.tmp$', '^logs$'] } });
const { base, d1, d2 } = pair;
const app = (script: string): string => pair.app(script);

beforeAll(async () => {
  pair.prepare();
  fs.writeFileSync(path.join(d1, 'before.txt'), 'present before the mirror started\n');
  fs.writeFileSync(path.join(d2, 'stale.txt'), 'only on SECOND, must go\n');
  await pair.startSecond();
  await pair.startPrim();
}, 60000);

afterAll(() => pair.stop(), 60000);

test('first sync makes SECOND equal to PRIM (full comparison)', () => {
  expect(fs.readFileSync(path.join(d2, 'before.txt'), 'utf8')).toBe('present before the mirror started\n');
  expect(fs.existsSync(path.join(d2, 'stale.txt'))).toBe(false);
  expect(JSON.parse(fs.readFileSync(path.join(base, 'n2', 'work', 'receiver.json'), 'utf8')).complete).toBe(true);
});

test('an acknowledged write is on SECOND when the write returns', () => {
  const d = path.join(d1, 'a.bin');
  app(`dd if=/dev/urandom of=${d} bs=64k count=40 conv=fsync status=none`);
  // No waiting: the write returned, so SECOND has it.
  const a = fs.readFileSync(path.join(d1, 'a.bin'));
  const b = fs.readFileSync(path.join(d2, 'a.bin'));
  expect(b.length).toBe(40 * 65536);
  expect(b.equals(a)).toBe(true);
});

test('rename, unlink, truncate, symlink, chmod, mkdir, rmdir, link are replicated', () => {
  app([
    `cd ${d1}`,
    'echo one > r1.txt && mv r1.txt r2.txt',
    'echo gone > u.txt && rm u.txt',
    'head -c 100000 /dev/urandom > t.bin && truncate -s 1234 t.bin',
    'ln -s r2.txt sl',
    'echo x > m.txt && chmod 640 m.txt',
    'mkdir -p dd/ee && echo deep > dd/ee/f && mkdir gone && rmdir gone',
    'ln r2.txt hard.txt',
  ].join(' && '));
  expect(fs.readFileSync(path.join(d2, 'r2.txt'), 'utf8')).toBe('one\n');
  expect(fs.existsSync(path.join(d2, 'r1.txt'))).toBe(false);
  expect(fs.existsSync(path.join(d2, 'u.txt'))).toBe(false);
  expect(fs.statSync(path.join(d2, 't.bin')).size).toBe(1234);
  expect(fs.readFileSync(path.join(d2, 't.bin')).equals(fs.readFileSync(path.join(d1, 't.bin')))).toBe(true);
  expect(fs.readlinkSync(path.join(d2, 'sl'))).toBe('r2.txt');
  expect(fs.statSync(path.join(d2, 'm.txt')).mode & 0o777).toBe(0o640);
  expect(fs.readFileSync(path.join(d2, 'dd/ee/f'), 'utf8')).toBe('deep\n');
  expect(fs.existsSync(path.join(d2, 'gone'))).toBe(false);
  expect(fs.statSync(path.join(d2, 'hard.txt')).ino).toBe(fs.statSync(path.join(d2, 'r2.txt')).ino);
});

test('excluded files are not shipped, and a rename out of an excluded name ships the file', () => {
  app(`cd ${d1} && echo secret > x.tmp && mkdir logs && echo l > logs/app.log && echo final > y.tmp && mv y.tmp y.txt`);
  expect(fs.existsSync(path.join(d2, 'x.tmp'))).toBe(false);
  expect(fs.existsSync(path.join(d2, 'logs'))).toBe(false);
  expect(fs.existsSync(path.join(d1, 'x.tmp'))).toBe(true);
  // The rename returned: the content is there, not just the name.
  expect(fs.readFileSync(path.join(d2, 'y.txt'), 'utf8')).toBe('final\n');
});

test('rfsverify finds both copies equal', async () => {
  const r = await pair.prim.call('verify');
  expect(r.diff).toEqual([]);
});
