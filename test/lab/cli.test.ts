// The lab CLI: usage errors exit 2, not root exits 1, down without a lab exits 0, and exec
// passes the command's exit code and output through. Runs the built CLI (npm test builds first).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { main, type CliIo } from './cli';
import { Lab } from './index';

const NAME = 'tlc';
const CLI = path.resolve(__dirname, '..', '..', 'dist', 'test', 'lab', 'cli.js');

function capture(): CliIo & { text: () => string } {
  let text = '';
  return { out: (t) => (text += t), err: (t) => (text += t), text: () => text };
}

function cli(args: string[], opts: { uid?: number } = {}): { code: number | null; out: string } {
  const argv = opts.uid === undefined ? [process.execPath, CLI, ...args] : ['setpriv', `--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', process.execPath, CLI, ...args];
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 30_000, env: { ...process.env, HAKIT_LAB: NAME } });
  return { code: r.status, out: r.stdout + r.stderr };
}

afterAll(async () => {
  await Lab.destroy(NAME);
});

describe('lab CLI', () => {
  beforeAll(async () => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    await Lab.destroy(NAME);
  });

  it.each([[['frob']], [['up']], [['cut', 'node1']], [['exec', 'node1']], [['delay', 'node1', 'x']], [['up', '--nodes', '2', '--what']]])('exits 2 with usage for %j', async (argv) => {
    const io = capture();
    expect(await main(argv, io, { HAKIT_LAB: NAME })).toBe(2);
    expect(io.text()).toMatch(/usage: npm run lab/);
  });

  it('says so and exits 0 on down without a lab; exits 1 for other commands', async () => {
    const io = capture();
    expect(await main(['down'], io, { HAKIT_LAB: NAME })).toBe(0);
    expect(io.text()).toMatch(/no lab 'tlc' is up/);
    expect(await main(['status'], capture(), { HAKIT_LAB: NAME })).toBe(1);
  });

  it('refuses clearly when not root, before touching anything', () => {
    const r = cli(['up', '--nodes', '1'], { uid: 65534 });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/HAKIT_E_NOT_ROOT/);
    expect(fs.existsSync(`/run/hakit-lab/${NAME}`)).toBe(false);
  });

  it('brings a lab up, passes exec exit codes through, rejects unknown hosts, takes it down', () => {
    expect(cli(['up', '--nodes', '2', '--witness']).code).toBe(0);
    const again = cli(['up', '--nodes', '2']);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/HAKIT_E_LAB_EXISTS/);
    const r = cli(['exec', 'node2', '--', 'sh', '-c', 'ip -o -4 addr show eth0; exit 42']);
    expect(r.code).toBe(42);
    expect(r.out).toMatch(/inet 198\.1[89]\.\d+\.2\/24/);
    expect(cli(['exec', 'node9', '--', 'true']).code).toBe(2);
    expect(cli(['kill', 'client']).code).toBe(2);
    expect(cli(['cut', 'node1', 'witness', '--oneway']).code).toBe(0);
    expect(cli(['status']).out).toMatch(/cuts: node1->witness \(all LANs\)/);
    expect(cli(['heal']).code).toBe(0);
    const killed = cli(['kill', 'node1']);
    expect(killed.code).toBe(0);
    expect(killed.out).toMatch(/poweron node1/);
    expect(cli(['status']).out).toMatch(/powered off: node1/);
    expect(cli(['poweron', 'node1']).code).toBe(0);
    expect(cli(['status']).out).toMatch(/powered off: none/);
    const down = cli(['down']);
    expect(down.code).toBe(0);
    expect(down.out).toMatch(/lab tlc down/);
  });
});
