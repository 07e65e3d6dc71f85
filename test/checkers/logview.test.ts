// `hakit logview` follows a module log: lines appended later are printed; SIGINT ends it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { distPath } from '../support/dist';

test('logview prints the last lines, then appended ones, and ends on SIGINT', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-logview-'));
  fs.mkdirSync(path.join(dir, 'modules'));
  const file = path.join(dir, 'modules', 'app.log');
  fs.writeFileSync(file, '{"level":30,"time":"t1","msg":"old"}\n');
  // The built CLI (npm test builds first): compiling the sources on the fly made this test
  // depend on the machine's load.
  const p = spawn(process.execPath, [distPath('core/cli/main.ts'), 'logview', '-m', 'app'], { env: { ...process.env, HAKIT_LOG_DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const wait = async (s: string): Promise<void> => {
      const end = Date.now() + 15_000;
      while (!out.includes(s) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    };
    await wait('old');
    fs.appendFileSync(file, '{"level":50,"time":"t2","msg":"new","code":"X"}\n');
    await wait('new');
    expect(out).toBe('t1 INFO  old\nt2 ERROR new  code=X\n');
    p.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => p.once('exit', (c) => resolve(c)));
    expect(code).toBe(0);
  } finally {
    p.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
