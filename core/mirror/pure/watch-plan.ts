// Watch mode's decisions: given what was last shipped for a path and what is there now,
// the operations that bring SECOND up to date. Block contents are compared by the runner
// while it reads the file (it ships the blocks whose hash changed); this file decides the
// namespace and metadata side and pairs removals with additions into renames.
import { type MirrorOp } from './ops';

export type WatchEntryType = 'f' | 'd' | 'l';

/** What the watcher last shipped for one path (or found at its start). */
export interface WatchEntry {
  readonly type: WatchEntryType;
  readonly mode: number;
  readonly size: number;
  readonly mtime_ms: number;
  readonly target?: string;
  /** Block hashes of a regular file, in order (block size fixed per watcher). */
  readonly hashes?: readonly bigint[];
}

export interface EntryPlan {
  /** Ops to perform before any block of the file is shipped. */
  readonly before: MirrorOp[];
  /** Ship every block whose hash differs from `prev_hashes` (all blocks when empty). */
  readonly compare_blocks: boolean;
  readonly prev_hashes: readonly bigint[];
}

/** What changed between `prev` (last shipped, or undefined) and `cur` (on disk now). */
export function planEntry(path: string, prev: WatchEntry | undefined, cur: WatchEntry): EntryPlan {
  const before: MirrorOp[] = [];
  const none: EntryPlan = { before, compare_blocks: false, prev_hashes: [] };
  if (prev && prev.type !== cur.type) {
    const fresh = planEntry(path, undefined, cur);
    return { ...fresh, before: [{ kind: 'remove', path }, ...fresh.before] };
  }
  switch (cur.type) {
    case 'd':
      if (!prev) before.push({ kind: 'mkdir', path, mode: cur.mode });
      else if (prev.mode !== cur.mode) before.push({ kind: 'chmod', path, mode: cur.mode });
      return none;
    case 'l':
      if (prev && prev.target === cur.target) return none;
      if (prev) before.push({ kind: 'remove', path });
      before.push({ kind: 'symlink', path, target: cur.target ?? '' });
      return none;
    case 'f':
      if (!prev) {
        before.push({ kind: 'create', path, mode: cur.mode }, { kind: 'truncate', path, size: cur.size });
        return { before, compare_blocks: true, prev_hashes: [] };
      }
      if (prev.mode !== cur.mode) before.push({ kind: 'chmod', path, mode: cur.mode });
      if (prev.size !== cur.size) before.push({ kind: 'truncate', path, size: cur.size });
      return { before, compare_blocks: true, prev_hashes: prev.hashes ?? [] };
  }
}

/** Same kind, size and content: a removal and an addition of such a pair were a rename. */
function sameContent(a: WatchEntry, b: WatchEntry): boolean {
  if (a.type !== 'f' || b.type !== 'f' || a.size !== b.size || a.size === 0) return false;
  const ha = a.hashes ?? [];
  const hb = b.hashes ?? [];
  return ha.length === hb.length && ha.every((h, i) => h === hb[i]);
}

export interface RenamePair { readonly from: string; readonly to: string }

/**
 * Pairs paths that disappeared with new paths holding the same non-empty content: the
 * watcher reports a rename as unlink + add, and shipping it as a rename moves no data.
 */
export function matchRenames(removed: ReadonlyMap<string, WatchEntry>, added: ReadonlyMap<string, WatchEntry>): RenamePair[] {
  const pairs: RenamePair[] = [];
  const used = new Set<string>();
  for (const [to, cur] of added) {
    for (const [from, old] of removed) {
      if (used.has(from) || !sameContent(old, cur)) continue;
      used.add(from);
      pairs.push({ from, to });
      break;
    }
  }
  return pairs;
}

/** Paths under `dir` (itself included) among `paths`. */
export function pathsUnder(paths: Iterable<string>, dir: string): string[] {
  const out: string[] = [];
  for (const p of paths) if (p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`)) out.push(p);
  return out;
}
