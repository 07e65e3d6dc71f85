// A careless admin, issue 15 item 6: the CLI's rough edges. Runs the real `hakit` program
// in-process against a stand-in daemon socket (root's, in a private run dir) that answers
// `state` with two modules, and checks that every command taking -m treats a bad module name
// the same way (one code, one exit code), that `state -m ''` does not list every module, and
// that `module package` of a missing directory is a coded error, not HAKIT_E_INTERNAL.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../core/cli/main';

let dir = '';
let server: net.Server | undefined;
const saved = { run: process.env['HAKIT_RUN_DIR'], log: process.env['HAKIT_LOG_DIR'] };

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-hostile-cli-'));
  const run = path.join(dir, 'run');
  fs.mkdirSync(run, { mode: 0o700 });
  fs.mkdirSync(path.join(dir, 'log', 'modules'), { recursive: true });
  process.env['HAKIT_RUN_DIR'] = run;
  process.env['HAKIT_LOG_DIR'] = path.join(dir, 'log');
  const status = (m: string) => ({ module: m, mode: 'mirror', state: 'STOP', status: 'NotReady', epoch: 0, copyComplete: false, failover: true, boot: false, peers: [], last_error: null });
  server = net.createServer((c) =>
    c.on('data', (d) => {
      const req = JSON.parse(d.toString().split('\n')[0] as string) as { id: number; cmd: string; args: { module?: string } };
      const names = req.args.module === undefined ? ['web', 'db'] : [req.args.module];
      const body = req.cmd === 'state' ? { ok: true, result: { node: 'n1', modules: names.map(status), not_loaded: [] } } : { ok: false, error: { code: 'HAKIT_E_UNKNOWN_MODULE', message: 'no such module' } };
      c.end(JSON.stringify({ id: req.id, ...body }) + '\n');
    }),
  );
  await new Promise<void>((r) => server!.listen(path.join(run, 'hakitd.sock'), () => r()));
});
afterEach(() => {
  server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.env['HAKIT_RUN_DIR'] = saved.run;
  process.env['HAKIT_LOG_DIR'] = saved.log;
  process.exitCode = undefined;
});

async function hakit(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const w1 = jest.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const w2 = jest.spyOn(process.stderr, 'write').mockImplementation((s) => ((out += String(s)), true));
  let code: number;
  try {
    code = await main(args);
  } catch (e) {
    out += `thrown: ${e instanceof Error ? e.message : String(e)}`;
    code = -1;
  } finally {
    w1.mockRestore();
    w2.mockRestore();
    process.exitCode = undefined;
  }
  return { code, out: out.trim() };
}

const codeOf = (out: string): string => /HAKIT_E_[A-Z_]+/.exec(out)?.[0] ?? 'none';

it("`state -m ''` does not list every module", async () => {
  const r = await hakit(['state', '-m', '']);
  process.stdout.write(`state -m '': exit ${r.code}, ${r.out.split('\n').length} line(s): ${r.out.slice(0, 120)}\n`);
  expect(r.code).not.toBe(0);
  expect(r.out).not.toMatch(/\bdb\b/);
});

it('a bad module name gets one code and one exit code from every command', async () => {
  const bad = '../x';
  const commands: string[][] = [['state', '-m', bad], ['start', '-m', bad], ['nagios', '-m', bad], ['collect', '-m', bad], ['resources', '-m', bad], ['log', '-m', bad], ['snapshot', path.join(dir, 's.zip'), '-m', bad]];
  const seen: string[] = [];
  for (const c of commands) {
    const r = await hakit(c);
    seen.push(`${c[0]}: exit ${r.code} ${codeOf(r.out)}${/module log:/.test(r.out) ? ' (prefixed "module log:")' : ''}`);
  }
  process.stdout.write(`bad module name: ${seen.join('; ')}\n`);
  const distinct = new Set(seen.map((s) => s.replace(/^[a-z]+: /, '')));
  // nagios keeps its plugin contract (exit 3 UNKNOWN with the code in its line).
  expect([...distinct].filter((s) => !s.startsWith('exit 3 '))).toEqual(['exit 1 HAKIT_E_MOD_NAME']);
  expect(seen.find((s) => s.startsWith('nagios'))).toBe('nagios: exit 3 HAKIT_E_MOD_NAME');
});

it('`module package --dir` of a missing directory is a coded error naming it', async () => {
  const r = await hakit(['module', 'package', '--dir', path.join(dir, 'nonexistent'), path.join(dir, 'out.safe')]);
  process.stdout.write(`module package --dir /nonexistent: exit ${r.code} ${r.out.slice(0, 160)}\n`);
  expect(r.code).toBe(1);
  expect(codeOf(r.out)).toBe('HAKIT_E_MOD_IO');
  expect(r.out).toContain('nonexistent');
});
