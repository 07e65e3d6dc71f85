// Builds the web console into dist/webconsole/public/: one bundled, minified script, the page
// and the style sheet. esbuild from npm, no network. `--check` also type-checks the TSX first.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '..', 'dist', 'webconsole', 'public');

export async function buildConsole({ check = false } = {}) {
  const t0 = Date.now();
  if (check) execFileSync(process.execPath, [path.resolve(here, '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(here, 'tsconfig.json')], { stdio: 'inherit' });
  fs.mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [path.join(here, 'src', 'main.tsx')],
    outfile: path.join(out, 'app.js'),
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    platform: 'browser',
    legalComments: 'none',
    logLevel: 'warning',
  });
  fs.copyFileSync(path.join(here, 'static', 'index.html'), path.join(out, 'index.html'));
  fs.copyFileSync(path.join(here, 'static', 'style.css'), path.join(out, 'style.css'));
  return { out, ms: Date.now() - t0 };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await buildConsole({ check: process.argv.includes('--check') });
  process.stdout.write(`webconsole: built ${path.relative(process.cwd(), r.out)} in ${r.ms} ms\n`);
}
