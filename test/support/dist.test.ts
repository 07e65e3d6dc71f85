// distPath maps a source file to its build output and refuses a missing or stale one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { builtPath, distPath, REPO_ROOT } from './dist';

let root = '';
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-support-dist-'));
  fs.mkdirSync(path.join(root, 'core/x'), { recursive: true });
  fs.mkdirSync(path.join(root, 'dist/core/x'), { recursive: true });
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const setMtime = (file: string, s: number): void => fs.utimesSync(file, s, s);

test('a built file newer than its source is returned', () => {
  fs.writeFileSync(path.join(root, 'core/x/a.ts'), 'export {};\n');
  fs.writeFileSync(path.join(root, 'dist/core/x/a.js'), '"use strict";\n');
  setMtime(path.join(root, 'core/x/a.ts'), 1_000);
  setMtime(path.join(root, 'dist/core/x/a.js'), 2_000);
  expect(builtPath(root, 'core/x/a.ts')).toBe(path.join(root, 'dist/core/x/a.js'));
});

test('a missing build says to build first', () => {
  fs.writeFileSync(path.join(root, 'core/x/a.ts'), 'export {};\n');
  expect(() => builtPath(root, 'core/x/a.ts')).toThrow('dist/core/x/a.js is missing: run npm run build first');
});

test('a build older than its source says to build first', () => {
  fs.writeFileSync(path.join(root, 'core/x/a.ts'), 'export {};\n');
  fs.writeFileSync(path.join(root, 'dist/core/x/a.js'), '"use strict";\n');
  setMtime(path.join(root, 'dist/core/x/a.js'), 1_000);
  setMtime(path.join(root, 'core/x/a.ts'), 2_000);
  expect(() => builtPath(root, 'core/x/a.ts')).toThrow('dist/core/x/a.js is older than core/x/a.ts: run npm run build first');
});

test('only repository-relative .ts paths are accepted', () => {
  expect(() => builtPath(root, '/abs/a.ts')).toThrow(/repository-relative \.ts path/);
  expect(() => builtPath(root, 'core/x/a.js')).toThrow(/repository-relative \.ts path/);
});

test('the repository root holds package.json, and distPath points into its dist/', () => {
  expect(fs.existsSync(path.join(REPO_ROOT, 'package.json'))).toBe(true);
  expect(distPath('test/support/dist.ts')).toBe(path.join(REPO_ROOT, 'dist/test/support/dist.js'));
});
