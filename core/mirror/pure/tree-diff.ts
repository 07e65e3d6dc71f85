// Full comparison, namespace half: from a listing of PRIM's tree and one of SECOND's,
// the operations that make SECOND's names, types, modes and owners match, and the regular
// files whose content must then be compared block by block.
import { type MirrorOp } from './ops';
import { type ExcludeRules, isExcluded } from './exclude';

export type EntryType = 'f' | 'd' | 'l';

export interface ManifestEntry {
  readonly path: string;        // '/'-rooted, as in ops
  readonly type: EntryType;
  readonly mode: number;        // permission bits only (mode & 0o7777)
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime_ms: number;
  readonly target?: string;     // symlinks
  readonly hash?: string;       // whole-content hash (verify only)
}

export interface TreePlan {
  readonly ops: MirrorOp[];
  /** Regular files to compare by block signature, in path order. */
  readonly compare: string[];
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function planTree(local: readonly ManifestEntry[], remote: readonly ManifestEntry[], rules: ExcludeRules): TreePlan {
  const keep = (e: ManifestEntry): boolean => e.path !== '/' && !isExcluded(rules, e.path, e.type === 'd');
  const L = new Map(local.filter(keep).map((e) => [e.path, e]));
  const R = new Map(remote.filter(keep).map((e) => [e.path, e]));
  const ops: MirrorOp[] = [];
  const removed = new Set<string>();
  const isUnderRemoved = (p: string): boolean => {
    for (let q = parentOf(p); q !== '/'; q = parentOf(q)) if (removed.has(q)) return true;
    return false;
  };

  const remotePaths = [...R.keys()].sort();
  for (const p of remotePaths) {
    const r = R.get(p)!;
    const l = L.get(p);
    const sameKind = l && l.type === r.type && (l.type !== 'l' || l.target === r.target);
    if (sameKind || isUnderRemoved(p)) continue;
    removed.add(p);
    ops.push({ kind: 'remove', path: p });
  }

  const compare: string[] = [];
  const localPaths = [...L.keys()].sort();
  for (const p of localPaths) {
    const l = L.get(p)!;
    const r = removed.has(p) || isUnderRemoved(p) ? undefined : R.get(p);
    if (l.type === 'd') {
      if (!r) ops.push({ kind: 'mkdir', path: p, mode: l.mode });
    } else if (l.type === 'l') {
      if (!r) ops.push({ kind: 'symlink', target: l.target ?? '', path: p });
      continue; // symlink modes and owners are not meaningful on Linux
    } else {
      if (!r) ops.push({ kind: 'create', path: p, mode: l.mode });
      compare.push(p);
    }
    if (r && r.mode !== l.mode) ops.push({ kind: 'chmod', path: p, mode: l.mode });
    if (!r || r.uid !== l.uid || r.gid !== l.gid) ops.push({ kind: 'chown', path: p, uid: l.uid, gid: l.gid });
  }
  return { ops, compare };
}

export interface TreeDifference {
  readonly path: string;
  readonly reason: 'missing_on_second' | 'extra_on_second' | 'type' | 'content' | 'target';
}

/** rfsverify: differences between two listings that both carry content hashes. */
export function diffTrees(local: readonly ManifestEntry[], remote: readonly ManifestEntry[], rules: ExcludeRules): TreeDifference[] {
  const keep = (e: ManifestEntry): boolean => e.path !== '/' && !isExcluded(rules, e.path, e.type === 'd');
  const L = new Map(local.filter(keep).map((e) => [e.path, e]));
  const R = new Map(remote.filter(keep).map((e) => [e.path, e]));
  const out: TreeDifference[] = [];
  for (const [p, l] of L) {
    const r = R.get(p);
    if (!r) out.push({ path: p, reason: 'missing_on_second' });
    else if (r.type !== l.type) out.push({ path: p, reason: 'type' });
    else if (l.type === 'l' && l.target !== r.target) out.push({ path: p, reason: 'target' });
    else if (l.type === 'f' && (l.size !== r.size || l.hash !== r.hash)) out.push({ path: p, reason: 'content' });
  }
  for (const p of R.keys()) if (!L.has(p)) out.push({ path: p, reason: 'extra_on_second' });
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
