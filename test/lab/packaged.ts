// The packaged layout in the lab (docs/lab.md, "Packaged layout"): the file tree the Debian
// package installs, built by the package script itself (installers/deb/build.sh with
// HAKIT_PKG_STAGE_DIR: same runtime, same JS, same dependencies, same wrappers and units, no
// .deb and no dpkg) into /var/lib/hakit-lab/package/<fingerprint>/. A packaged lab binds that
// tree's /usr/lib/hakit into every host and starts hakitd from its unit file. The tree is
// staged again only when an input of the package changed (the fingerprint of the built JS,
// the installers, the lock file and the runtime version), so an up-to-date `up` costs a hash
// of the build output, not a package build. Trees no lab uses are removed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LabError } from './errors';
import { REPO_ROOT } from '../support/dist';
import { run } from './sh';
import { DATA_ROOT, listLabKeys, readState } from './state-file';

export const PACKAGE_TREES_DIR = path.join(DATA_ROOT, 'package');
/** Staging copies ~100 MB and writes the man pages: bounded, generously for a shared 2-core box. */
const STAGE_TIMEOUT_MS = 300_000;
/** Marks a complete tree (written after the script renamed it into place). */
const COMPLETE_MARK = '.staged';
/** Serialises staging between labs that start at once. */
const STAGE_LOCK = path.join(PACKAGE_TREES_DIR, '.lock');

/** What the package is made of (installers/deb/build.sh): any change here changes the tree. */
const INPUTS = [
  'dist/core',
  'dist/modules',
  'dist/filters',
  'dist/webconsole',
  'dist/bin',
  'dist/installers/deb/manpages.js',
  'webconsole',
  'modules/templates',
  'modules/examples',
  'installers/deb',
  'installers/systemd',
  'package.json',
  'package-lock.json',
  'docs/install.md',
];

/**
 * Files of the inputs with a digest of their content, in a stable order (directories walked,
 * missing ones skipped). Content, not mtimes: every `tsc` run rewrites all of dist/, and a
 * tree must be staged again only when what it would carry changed (~700 files, ~5 MB: a
 * few tens of ms).
 */
function listInputs(repo: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    let st: fs.Stats;
    try {
      st = fs.statSync(path.join(repo, rel));
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(path.join(repo, rel)).sort()) visit(`${rel}/${name}`);
    } else if (st.isFile()) {
      const digest = crypto.createHash('sha256').update(fs.readFileSync(path.join(repo, rel))).digest('hex');
      out.push(`${rel}\u0000${(st.mode & 0o111) !== 0 ? 'x' : '-'}\u0000${digest}`);
    }
  };
  for (const rel of INPUTS) visit(rel);
  return out;
}

/** Fingerprint of the package's inputs and the runtime version that the tree would carry. */
export function packageFingerprint(repo: string = REPO_ROOT): string {
  const h = crypto.createHash('sha256');
  h.update(process.version);
  for (const line of listInputs(repo)) h.update(line + '\n');
  return h.digest('hex').slice(0, 16);
}

export interface StagedTree {
  /** The root of the tree: `<root>/usr/lib/hakit`, `<root>/usr/sbin/hakitd`, `<root>/lib/systemd/system/...`. */
  readonly root: string;
  /** True when this call built it; false when an up-to-date tree was reused. */
  readonly staged: boolean;
  readonly took_ms: number;
}

function isComplete(root: string): boolean {
  return fs.existsSync(path.join(root, COMPLETE_MARK));
}

/** Trees that labs now up were made with (their hosts have them bound). */
function treesInUse(): Set<string> {
  const used = new Set<string>();
  for (const key of listLabKeys()) {
    try {
      const root = readState(key)?.packagedRoot;
      if (root !== undefined) used.add(root);
    } catch {
      // A damaged record: keep every tree rather than guess.
      return new Set(['*']);
    }
  }
  return used;
}

/** Removes staged trees that neither `keep` nor a lab that is up uses. */
export function removeUnusedTrees(keep: string | undefined): void {
  const used = treesInUse();
  if (used.has('*')) return;
  let names: string[];
  try {
    names = fs.readdirSync(PACKAGE_TREES_DIR);
  } catch {
    return;
  }
  for (const name of names) {
    const dir = path.join(PACKAGE_TREES_DIR, name);
    if (name.startsWith('.') || dir === keep || used.has(dir)) continue;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The staged tree of the current build, staged now if there is none yet. Needs a built tree
 * (`npm run build`); throws HAKIT_E_LAB_COMMAND with the script's last lines on failure.
 */
export async function ensureStagedTree(repo: string = REPO_ROOT): Promise<StagedTree> {
  const t0 = Date.now();
  const root = path.join(PACKAGE_TREES_DIR, packageFingerprint(repo));
  if (isComplete(root)) return { root, staged: false, took_ms: Date.now() - t0 };
  fs.mkdirSync(PACKAGE_TREES_DIR, { recursive: true });
  // Under a lock: a second lab starting now waits for this tree instead of building it twice.
  const script = `[ -f "$1/${COMPLETE_MARK}" ] && exit 0; HAKIT_PKG_STAGE_DIR="$1" bash installers/deb/build.sh && touch "$1/${COMPLETE_MARK}"`;
  const r = await run(['flock', '-w', String(STAGE_TIMEOUT_MS / 1000), STAGE_LOCK, 'sh', '-c', script, 'stage', root], { cwd: repo, timeout_ms: STAGE_TIMEOUT_MS + 10_000 });
  if (r.code !== 0 || !isComplete(root)) {
    const tail = (r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ');
    throw new LabError('HAKIT_E_LAB_PACKAGE', `staging the package tree failed (exit ${r.code}): ${tail}`, 'installers/deb/build.sh');
  }
  removeUnusedTrees(root);
  return { root, staged: true, took_ms: Date.now() - t0 };
}
