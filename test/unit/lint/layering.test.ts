// The layering rule (docs/architecture.md, rule 4) is what keeps pure code pure: prove it fires.
// ESLint runs as a child process: its ESM config cannot load inside jest's module sandbox.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const ESLINT_BIN = path.join(repoRoot, 'node_modules', 'eslint', 'bin', 'eslint.js');

interface LintMessage { ruleId: string | null; message: string }

async function lintAs(relPath: string, code: string): Promise<string[]> {
  const run = spawnSync(process.execPath, [ESLINT_BIN, '--format', 'json', '--stdin', '--stdin-filename', path.join(repoRoot, relPath)], {
    cwd: repoRoot,
    input: code,
    encoding: 'utf8',
    timeout: 30_000,
  });
  const [result] = JSON.parse(run.stdout) as Array<{ messages: LintMessage[] }>;
  return (result?.messages ?? []).filter((m) => m.ruleId === 'hakit/layering').map((m) => m.message);
}

describe('hakit/layering', () => {
  it('refuses node I/O modules and packages in pure code', async () => {
    const msgs = await lintAs('core/demo/pure/x.ts', "import fs from 'node:fs';\nimport pino from 'pino';\nexport const a = [fs, pino];\n");
    expect(msgs).toHaveLength(2);
    expect(msgs[0]).toMatch(/pure code .* must not import node:fs/);
  });

  it('refuses an adapter import from pure code but allows type-only imports and other pure code', async () => {
    const bad = await lintAs('core/demo/pure/x.ts', "import { run } from '../runner/run';\nexport const a = run;\n");
    expect(bad).toHaveLength(1);
    const ok = await lintAs(
      'core/demo/pure/x.ts',
      "import type { Run } from '../runner/run';\nimport { b } from '../../other/pure/b';\nimport { HakitError } from '../../errors/catalogue';\nexport type A = Run;\nexport const a = [b, HakitError];\n",
    );
    expect(ok).toEqual([]);
  });

  it('refuses test imports outside test/', async () => {
    const msgs = await lintAs('core/demo/x.ts', "import { Lab } from '../../test/lab';\nexport const a = Lab;\n");
    expect(msgs).toEqual([expect.stringMatching(/only test\/ may import test code/)]);
  });

  it('keeps leaf libraries free of hakit imports', async () => {
    const msgs = await lintAs('filters/buckets/x.ts', "import { HakitError } from '../../core/errors/catalogue';\nexport const a = HakitError;\n");
    expect(msgs).toEqual([expect.stringMatching(/leaf library/)]);
  });

  it('lets the console import only the API contract', async () => {
    const bad = await lintAs('webconsole/x.ts', "import { a } from '../core/daemon/main';\nexport const b = a;\n");
    expect(bad).toEqual([expect.stringMatching(/web console may import only/)]);
    const ok = await lintAs('webconsole/x.ts', "import type { S } from '../core/api/contract/state';\nexport type T = S;\n");
    expect(ok).toEqual([]);
  });

  it('orders the subsystems: a lower layer never imports a higher one, not even its types', async () => {
    const up = await lintAs('core/membership/pure/x.ts', "import type { ModulePolicy } from '../../module/pure/policy';\nexport type A = ModulePolicy;\n");
    expect(up).toEqual([expect.stringMatching(/membership \(layer \d+\) must not import .* \(module, layer \d+\)/)]);
    const down = await lintAs('core/farm/x.ts', "import type { ModulePolicy } from '../module/pure/policy';\nimport { HakitError } from '../errors/catalogue';\nexport type A = ModulePolicy;\nexport const b = HakitError;\n");
    expect(down).toEqual([]);
    const daemonFromFarm = await lintAs('core/farm/x.ts', "import type { LoadedModule } from '../daemon/module-loader';\nexport type A = LoadedModule;\n");
    expect(daemonFromFarm).toEqual([expect.stringMatching(/farm .* must not import .* \(daemon, layer/)]);
  });

  it('keeps siblings of one layer apart: farm does not import mirror', async () => {
    const msgs = await lintAs('core/farm/x.ts', "import type { MirrorEngine } from '../mirror/engine';\nexport type A = MirrorEngine;\n");
    expect(msgs).toEqual([expect.stringMatching(/farm .* must not import .* \(mirror, layer/)]);
  });

  it('lets composition roots wire every layer, and honours the listed exceptions', async () => {
    expect(await lintAs('core/daemon/main.ts', "import { runCli } from '../cli/main';\nexport const a = runCli;\n")).toEqual([]);
    expect(await lintAs('core/module/pure/machine.ts', "import { farmStart } from '../../farm/pure/machine';\nexport const a = farmStart;\n")).toEqual([]);
  });

  it('lets only composition roots (and the listed wiring files) create real adapters', async () => {
    const code = "import { NftFilterBackend } from '../../filters/nft/nft-backend';\nexport const b = () => new NftFilterBackend();\n";
    expect(await lintAs('core/farm/x.ts', code)).toEqual([expect.stringMatching(/only a composition root creates the real adapter NftFilterBackend/)]);
    expect(await lintAs('core/daemon/main.ts', code.replace('../../filters', '../../filters'))).toEqual([]);
    expect(await lintAs('test/unit/x.ts', code)).toEqual([]);
  });

  it('every listed exception names files that exist', async () => {
    // The rule is an ES module: read its lists in a child process, as ESLint does.
    const script = "import('./installers/lint/layering-rule.mjs').then((m) => console.log(JSON.stringify({ LAYER_EXCEPTIONS: m.LAYER_EXCEPTIONS, ADAPTER_EXCEPTIONS: m.ADAPTER_EXCEPTIONS, COMPOSITION_ROOTS: m.COMPOSITION_ROOTS })))";
    const run = spawnSync(process.execPath, ['-e', script], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
    const rule = JSON.parse(run.stdout) as { LAYER_EXCEPTIONS: string[][]; ADAPTER_EXCEPTIONS: string[][]; COMPOSITION_ROOTS: string[] };
    const paths = [...rule.LAYER_EXCEPTIONS.flatMap(([f, t]) => [f!, t!]), ...rule.ADAPTER_EXCEPTIONS.map(([f]) => f!), ...rule.COMPOSITION_ROOTS];
    expect(paths.filter((p) => !fs.existsSync(path.join(repoRoot, p)))).toEqual([]);
    for (const e of [...rule.LAYER_EXCEPTIONS, ...rule.ADAPTER_EXCEPTIONS]) expect(e[e.length - 1]!.length).toBeGreaterThan(20);
  });
});
