// Child processes of tests run the built JavaScript in dist/ (npm test builds before jest),
// never the TypeScript sources through a home-made loader. `distPath` maps a source file to
// its build output and refuses, naming the file, when that output is missing or stale.
import fs from 'node:fs';
import path from 'node:path';

/** The repository: this file runs from test/support/ under jest and from dist/test/support/ once built. */
function findRepoRoot(): string {
  const up2 = path.resolve(__dirname, '..', '..');
  return path.basename(up2) === 'dist' ? path.dirname(up2) : up2;
}

export const REPO_ROOT = findRepoRoot();
export const DIST_DIR = path.join(REPO_ROOT, 'dist');

/**
 * `distPath('core/daemon/main.ts')` → `<repo>/dist/core/daemon/main.js`. Throws when the
 * built file does not exist or is older than its source: a child running yesterday's build
 * would test the wrong code and fail (or pass) for no visible reason.
 */
export function distPath(sourceRel: string): string {
  return builtPath(REPO_ROOT, sourceRel);
}

/** `distPath` for the repository at `root` (tests of this file use a temp dir). */
export function builtPath(root: string, sourceRel: string): string {
  if (path.isAbsolute(sourceRel) || !sourceRel.endsWith('.ts')) {
    throw new Error(`distPath wants a repository-relative .ts path, got '${sourceRel}'`);
  }
  const source = path.join(root, sourceRel);
  const built = path.join(root, 'dist', sourceRel.replace(/\.ts$/, '.js'));
  const builtStat = statOrNull(built);
  if (builtStat === null) {
    throw new Error(`${path.relative(root, built)} is missing: run npm run build first`);
  }
  const sourceStat = statOrNull(source);
  if (sourceStat !== null && sourceStat.mtimeMs > builtStat.mtimeMs) {
    throw new Error(`${path.relative(root, built)} is older than ${sourceRel}: run npm run build first`);
  }
  return built;
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}
