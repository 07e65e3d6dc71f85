// Full comparison, namespace half: from a listing of PRIM's tree and one of SECOND's,
// the operations that make SECOND's names, types, modes, owners and hard links match, and
// the regular files whose content must then be compared block by block.
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
  /** A regular file with more than one name: its inode (`dev:ino`), the same for every name
   *  of it in one listing. Absent otherwise, and from listings of older versions. */
  readonly link?: string;
}

export interface TreePlan {
  readonly ops: MirrorOp[];
  /** Regular files to compare by block signature, in path order. */
  readonly compare: string[];
  /** The other names of each hard-linked file to compare (its head): they are not compared
   *  themselves, so what says one of them changed says the head may differ. */
  readonly otherNames: ReadonlyMap<string, readonly string[]>;
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The names of each hard-linked file of a listing (regular files sharing a `link`), sorted. */
function linkGroups(entries: ReadonlyMap<string, ManifestEntry>): Map<string, string[]> {
  const byInode = new Map<string, string[]>();
  for (const e of entries.values()) {
    if (e.type !== 'f' || typeof e.link !== 'string') continue;
    const names = byInode.get(e.link);
    if (names) names.push(e.path);
    else byInode.set(e.link, [e.path]);
  }
  const byPath = new Map<string, string[]>();
  for (const names of byInode.values()) {
    if (names.length < 2) continue;
    names.sort();
    for (const n of names) byPath.set(n, names);
  }
  return byPath;
}

/**
 * Hard links: SECOND must hold each of PRIM's hard-linked files as one file too, or a write
 * through one name (replicated under that name) would leave another name's copy behind, and a
 * file linked on SECOND only would take writes meant for another. The first name of a group
 * (in path order) is its head: SECOND keeps its copy of a name when that copy is linked to no
 * name outside the name's group and, for a name other than the head, is the head's copy
 * (keptFile). Otherwise the name is removed there; the head is created and compared, the
 * other names are linked to it. Only heads are compared. Listings without inode identities
 * (older versions) make every hard-linked name on PRIM be linked again, which is correct.
 */
export function planTree(local: readonly ManifestEntry[], remote: readonly ManifestEntry[], rules: ExcludeRules): TreePlan {
  const keep = (e: ManifestEntry): boolean => e.path !== '/' && !isExcluded(rules, e.path, e.type === 'd');
  const L = new Map(local.filter(keep).map((e) => [e.path, e]));
  const R = new Map(remote.filter(keep).map((e) => [e.path, e]));
  const localLinks = linkGroups(L);
  const remoteLinks = linkGroups(R);
  const headOf = (p: string): string => localLinks.get(p)?.[0] ?? p;
  const remoteShare = (p: string): readonly string[] => remoteLinks.get(p) ?? [p];
  const within = (p: string): boolean => {
    const group = localLinks.get(p);
    return remoteShare(p).every((q) => (group ? group.includes(q) : q === p));
  };
  const keptFile = (p: string): boolean => {
    const head = headOf(p);
    if (!within(head) || R.get(head)?.type !== 'f') return false;
    return p === head || remoteShare(head).includes(p);
  };
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
    const sameKind = l && l.type === r.type && (l.type !== 'l' || l.target === r.target) && (l.type !== 'f' || keptFile(p));
    if (sameKind || isUnderRemoved(p)) continue;
    removed.add(p);
    ops.push({ kind: 'remove', path: p });
  }

  const compare: string[] = [];
  const otherNames = new Map<string, readonly string[]>();
  for (const names of localLinks.values()) otherNames.set(names[0]!, names.slice(1));
  const localPaths = [...L.keys()].sort();
  for (const p of localPaths) {
    const l = L.get(p)!;
    const r = removed.has(p) || isUnderRemoved(p) ? undefined : R.get(p);
    if (l.type === 'd') {
      if (!r) ops.push({ kind: 'mkdir', path: p, mode: l.mode });
    } else if (l.type === 'l') {
      if (!r) ops.push({ kind: 'symlink', target: l.target ?? '', path: p });
      continue; // symlink modes and owners are not meaningful on Linux
    } else if (headOf(p) !== p) {
      // Another name of the head's file (created or kept above): its content, mode and owner.
      if (!r) ops.push({ kind: 'link', from: headOf(p), to: p });
      continue;
    } else {
      if (!r) ops.push({ kind: 'create', path: p, mode: l.mode });
      compare.push(p);
    }
    if (r && r.mode !== l.mode) ops.push({ kind: 'chmod', path: p, mode: l.mode });
    if (!r || r.uid !== l.uid || r.gid !== l.gid) ops.push({ kind: 'chown', path: p, uid: l.uid, gid: l.gid });
  }
  return { ops, compare, otherNames };
}

export interface TreeDifference {
  readonly path: string;
  /** `link`: the file's names share one file on one copy and not alike on the other. */
  readonly reason: 'missing_on_second' | 'extra_on_second' | 'type' | 'content' | 'target' | 'link';
}

/** rfsverify: differences between two listings that both carry content hashes. */
export function diffTrees(local: readonly ManifestEntry[], remote: readonly ManifestEntry[], rules: ExcludeRules): TreeDifference[] {
  const keep = (e: ManifestEntry): boolean => e.path !== '/' && !isExcluded(rules, e.path, e.type === 'd');
  const L = new Map(local.filter(keep).map((e) => [e.path, e]));
  const R = new Map(remote.filter(keep).map((e) => [e.path, e]));
  const localLinks = linkGroups(L);
  const remoteLinks = linkGroups(R);
  const sameNames = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((n, i) => n === b[i]);
  const out: TreeDifference[] = [];
  for (const [p, l] of L) {
    const r = R.get(p);
    if (!r) out.push({ path: p, reason: 'missing_on_second' });
    else if (r.type !== l.type) out.push({ path: p, reason: 'type' });
    else if (l.type === 'l' && l.target !== r.target) out.push({ path: p, reason: 'target' });
    else if (l.type === 'f' && (l.size !== r.size || l.hash !== r.hash)) out.push({ path: p, reason: 'content' });
    else if (l.type === 'f' && !sameNames(localLinks.get(p) ?? [p], remoteLinks.get(p) ?? [p])) out.push({ path: p, reason: 'link' });
  }
  for (const p of R.keys()) if (!L.has(p)) out.push({ path: p, reason: 'extra_on_second' });
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
