// Installs of one module at the same moment on one node (hakitd's API, its config service and
// the CLI are separate callers): each gets its own release number, the link ends on one of
// them, the history is pruned as usual, nothing is left in staging. Real processes, a real
// file system in a private temp dir.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { installCluster } from '../../../core/config/cluster-store';
import { HISTORY_KEEP, moduleDir, releasesDir, stagingDir } from '../../../core/config/paths';
import { packModule } from '../../../modules/safe/pack';
import { installModule, keptReleases, rollbackModule } from '../../../modules/store/module-store';
import { CLUSTER_XML } from '../config/fixtures';

const root = path.resolve(__dirname, '../../..');
const examples = path.join(root, 'modules/examples');
const PROCESSES = 6;
const ROUNDS = 8;
const CHILD_TIMEOUT_MS = 30_000;
let tmp = '';
let env: NodeJS.ProcessEnv = {};

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-store-conc-'));
  env = { ...process.env, HAKIT_CONF_DIR: path.join(tmp, 'etc'), HAKIT_STATE_DIR: path.join(tmp, 'state') };
  fs.writeFileSync(path.join(tmp, 'cluster.xml'), CLUSTER_XML);
  installCluster(path.join(tmp, 'cluster.xml'), env);
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function pack(example: string, tag: string): Promise<string> {
  const dir = path.join(tmp, `src-${tag}`);
  fs.cpSync(path.join(examples, example), dir, { recursive: true });
  // A distinct file per package, so each release can be told apart on disk.
  fs.writeFileSync(path.join(dir, 'conf', `tag-${tag}.txt`), tag);
  const out = path.join(tmp, `${example}-${tag}.safe`);
  await packModule(dir, out);
  return out;
}

function checkStore(name: string, expected: number): void {
  const kept = keptReleases(name, env);
  expect(kept.filter((k) => k.applied)).toHaveLength(1);
  expect(kept.length).toBe(Math.min(expected, HISTORY_KEEP + 1));
  // The applied release is the newest: installs point the link in the order they numbered.
  expect(kept[kept.length - 1]?.applied).toBe(true);
  expect(fs.realpathSync(moduleDir(name, env))).toBe(fs.realpathSync(path.join(releasesDir(name, env), String(kept[kept.length - 1]?.release))));
  expect(fs.readdirSync(stagingDir(env))).toEqual([]);
  expect(fs.readdirSync(path.dirname(moduleDir(name, env))).filter((f) => f.startsWith('.'))).toEqual([]);
  expect(fs.readdirSync(path.dirname(releasesDir(name, env))).filter((f) => f.endsWith('.lock'))).toEqual([]);
}

test('installs of one module started together in one process get distinct releases', async () => {
  const files = await Promise.all([1, 2, 3, 4, 5].map((i) => pack('mirror_http', `p${i}`)));
  const out = await Promise.all(files.map((f) => installModule(f, 'mirror_http', env)));
  expect(new Set(out.map((o) => o.release)).size).toBe(files.length);
  checkStore('mirror_http', files.length);
});

test('installs of one module by several processes at the same moment never collide', async () => {
  // The store module bundled for plain node (the tests run from TypeScript sources).
  const entry = path.join(tmp, 'child.ts');
  fs.writeFileSync(
    entry,
    `import { installModule } from ${JSON.stringify(path.join(root, 'modules/store/module-store'))};
const [file, go] = process.argv.slice(2);
// Every child starts installing when the same instant comes, to make the collision likely.
// Each installs ROUNDS times in a row, so the short numbering steps of the others overlap often.
async function main(): Promise<void> {
  const releases: number[] = [];
  for (let i = 0; i < ${ROUNDS}; i++) {
    try {
      releases.push((await installModule(file, 'mirror_http')).release);
    } catch (e) {
      console.log(JSON.stringify({ code: (e as { code?: string }).code ?? String(e) }));
      return;
    }
  }
  console.log(JSON.stringify({ releases }));
}
setTimeout(() => void main(), Math.max(0, Number(go) - Date.now()));
`,
  );
  const bundle = path.join(tmp, 'child.js');
  buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', packages: 'external', outfile: bundle, logLevel: 'error' });
  const files = await Promise.all(Array.from({ length: PROCESSES }, (_, i) => pack('mirror_http', `c${i}`)));
  const go_ms = Date.now() + 1_500;
  const results = await Promise.all(
    files.map(
      (f) =>
        new Promise<{ releases?: number[]; code?: string }>((resolve, reject) => {
          const child = spawn(process.execPath, [bundle, f, String(go_ms)], { env: { ...env, NODE_PATH: path.join(root, 'node_modules') }, stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
          child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
          const t = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
          child.on('close', (code) => {
            clearTimeout(t);
            try {
              resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as { releases?: number[]; code?: string });
            } catch {
              reject(new Error(`child exited ${code}: ${stdout} ${stderr}`));
            }
          });
        }),
    ),
  );
  expect(results.filter((r) => r.code !== undefined)).toEqual([]);
  const numbers = results.flatMap((r) => r.releases ?? []);
  expect(numbers).toHaveLength(PROCESSES * ROUNDS);
  expect([...numbers].sort((a, b) => a - b)).toEqual(Array.from({ length: PROCESSES * ROUNDS }, (_, i) => i + 1));
  checkStore('mirror_http', PROCESSES * ROUNDS);
});

test('a lock left by a dead process is taken over; a rollback takes the lock too', async () => {
  const a = await pack('mirror_http', 'a');
  const b = await pack('mirror_http', 'b');
  await installModule(a, 'mirror_http', env);
  // A pid that cannot be running: beyond the kernel's pid_max.
  const lock = path.join(path.dirname(releasesDir('mirror_http', env)), '.mirror_http.lock');
  fs.writeFileSync(lock, '2147483646 stale');
  expect((await installModule(b, 'mirror_http', env)).release).toBe(2);
  expect(fs.existsSync(lock)).toBe(false);
  expect((await rollbackModule('mirror_http', env)).release).toBe(1);
  expect(fs.existsSync(lock)).toBe(false);
});
