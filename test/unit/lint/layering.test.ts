// The layering rule (docs/architecture.md, rule 4) is what keeps pure code pure: prove it fires.
// ESLint runs as a child process: its ESM config cannot load inside jest's module sandbox.
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
});
