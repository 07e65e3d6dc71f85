// A daemon killed while PRIM leaves a dead FUSE mount over the replicated directory (every
// access fails with ENOTCONN) and its bind mount under work_dir/real. The next start must
// clean both up and work. The mounts live in a mount namespace held by a `sleep` of ours,
// so they outlive the killed child exactly as they outlive a killed hakitd.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HarnessNode, TestNetns } from './harness/netns';

const ADDR = '198.18.77.6';
const PORT = 7816;
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-hm-stale-'));
const ns = new TestNetns('stale', ADDR);
const dir = path.join(base, 'data');
const work = path.join(base, 'work');
let holder: ChildProcess | undefined;
const nodes: HarnessNode[] = [];
const spec = { module: 'mstale', dirs: [dir], work_dir: work, key: 'e5'.repeat(32), async: 'none', peer: { host: ADDR, port: PORT } };

/** Mount points of ours in the holder's namespace. */
function ourMounts(): string[] {
  return fs.readFileSync(`/proc/${holder!.pid}/mountinfo`, 'utf8').split('\n')
    .map((l) => l.split(' ')[4] ?? '').filter((m) => m === dir || m.startsWith(work + '/'));
}

function inHolder(script: string): string {
  return ns.exec(['sh', '-c', script], holder!.pid);
}

beforeAll(async () => {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'kept.txt'), 'kept\n');
  ns.up();
  holder = spawn('ip', ['netns', 'exec', ns.name, 'unshare', '-m', '--propagation', 'private', 'sleep', '300'], { stdio: 'ignore' });
  // Wait until the holder has its own mount namespace (unshare has exec'ed sleep).
  for (let i = 0; i < 100 && fs.readlinkSync(`/proc/${holder.pid}/ns/mnt`) === fs.readlinkSync('/proc/self/ns/mnt'); i++) await new Promise((r) => setTimeout(r, 20));
}, 30000);

afterAll(async () => {
  for (const n of nodes) await n.close().catch(() => undefined);
  holder?.kill('SIGKILL'); // its mount namespace, and every mount left in it, goes with it
  ns.down();
  fs.rmSync(base, { recursive: true, force: true });
}, 60000);

test('a PRIM started over the mounts of a killed one cleans them up and works', async () => {
  const first = await HarnessNode.spawn(ns, holder!.pid);
  nodes.push(first);
  await first.call('prim', spec);
  inHolder(`echo one > ${dir}/one.txt`);
  first.kill9();
  await new Promise<void>((r) => (first.exited ? r() : first.proc.on('exit', () => r())));
  expect(ourMounts().length).toBeGreaterThanOrEqual(2);
  expect(inHolder(`ls ${dir} 2>&1 || true`)).toMatch(/not connected/);

  const second = await HarnessNode.spawn(ns, holder!.pid);
  nodes.push(second);
  await second.call('prim', spec);
  inHolder(`echo two > ${dir}/two.txt`);
  expect(inHolder(`cat ${dir}/kept.txt ${dir}/one.txt ${dir}/two.txt`)).toBe('kept\none\ntwo\n');
  await second.call('stop');
  expect(ourMounts()).toEqual([]);
}, 60000);
