// The activity record's decisions (pure). DRBD keeps an activity log: before a write goes to
// the local disk, the extent it touches is recorded as "hot" on disk; after a crash of the
// primary only hot extents can differ from the peer, so only they are resynchronised. hakit
// does the same per file: before PRIM changes a file's content locally, the file's path is
// durably recorded as hot (core/mirror/activity-record.ts); a file becomes cold again once
// SECOND acknowledged every op on it and PRIM's own copy of it is on disk (a sync call that
// went to SECOND covered its last write). When a PRIM that lost power comes back as SECOND,
// the new PRIM reconciles names by listing both trees (cheap: no data is read) and compares
// content only for the files the returning node's record calls hot, plus those the new PRIM
// changed itself (its journal) and those whose size differs or that one side lacks.
import { type ManifestEntry } from './tree-diff';

/** More hot paths than this and the record says "everything" (a full comparison). */
export const MAX_HOT_PATHS = 20_000;
/** A hot file with no write for this long is synced and cooled (bounds the record). */
export const COOL_IDLE_MS = 5_000;

/** What a returning node says about its own copy (its SECOND's WELCOME carries it). */
export interface ActivitySummary {
  /** The copy (SECOND's copy id) this node was replicating into while its record was kept. */
  readonly base_copy: string;
  /** Paths whose content may differ from that copy (a directory path covers its subtree). */
  readonly hot: readonly string[];
  /** True: the record cannot bound the difference (overflow, a change no path names). */
  readonly all: boolean;
}

/** True when `p` is `prefix` or lies under it. */
export function under(p: string, prefix: string): boolean {
  return prefix === '/' || p === prefix || p.startsWith(prefix + '/');
}

/** Whether any of `hot` covers `p` (one of them is `p` or a directory above it). */
export function isCovered(hot: ReadonlySet<string>, p: string): boolean {
  if (hot.has('/') || hot.has(p)) return true;
  for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) if (hot.has(p.slice(0, i))) return true;
  return false;
}

export type ReintegrationChoice = 'journal' | 'activity' | 'full';

export interface SessionFacts {
  /** PRIM's journal cannot say what it changed (crash, overflow, fullsync asked, first sync). */
  readonly need_full: boolean;
  /** SECOND's copy is the one PRIM's journal tracks and SECOND trusts it (clean stop). */
  readonly journal_matches: boolean;
  /** PRIM took over from this copy id (its SECOND copy was complete) and has journaled every change since. */
  readonly takeover_of: string | undefined;
  /** The returning node's activity record, if it has one. */
  readonly activity: ActivitySummary | undefined;
}

/**
 * How a re-integration pass compares: 'journal' (ship the journaled changes only) when SECOND
 * holds exactly the copy PRIM's journal tracks; 'activity' when SECOND is a former PRIM whose
 * activity record names what it may hold beyond the copy this PRIM took over from; else
 * 'full' (every file compared by block signatures).
 */
export function chooseReintegration(f: SessionFacts): ReintegrationChoice {
  if (f.need_full) return 'full';
  if (f.journal_matches) return 'journal';
  const a = f.activity;
  if (a && !a.all && f.takeover_of !== undefined && a.base_copy === f.takeover_of) return 'activity';
  return 'full';
}

/**
 * Activity mode, content half: of the regular files both listings hold (`candidates`, the
 * full plan's compare list), those that may differ: missing on SECOND, a different size, hot
 * in the returning node's record, or still to compare from an earlier pass (`also`), under
 * any of its names (`otherNames`: a hard-linked file is compared under its first name only,
 * and may have been written and recorded under another).
 */
export function activityCompare(candidates: readonly string[], local: readonly ManifestEntry[], remote: readonly ManifestEntry[], hot: ReadonlySet<string>, also: ReadonlySet<string>, otherNames: ReadonlyMap<string, readonly string[]> = new Map()): string[] {
  const L = new Map(local.map((e) => [e.path, e] as const));
  const R = new Map(remote.map((e) => [e.path, e] as const));
  return candidates.filter((p) => {
    const l = L.get(p);
    const r = R.get(p);
    if (!r || r.type !== 'f' || !l) return true;
    if (l.size !== r.size) return true;
    return [p, ...(otherNames.get(p) ?? [])].some((n) => also.has(n) || isCovered(hot, n));
  });
}

/** Per-file write and sync generations, to tell when a hot file may cool. */
export interface HotFile {
  /** Incremented at every content change. */
  readonly write_gen: number;
  /** write_gen when the last sync that reached SECOND began (covers writes up to it). */
  readonly synced_gen: number;
  /** write_gen at the previous cooling tick (unchanged: the file was idle for a tick). */
  readonly seen_gen: number;
}

/** See syncLikelySoon: a file synced at most this many writes ago. */
export const SYNC_SOON_WRITES = 4;

/**
 * Is the next sync of this file likely to come within a few writes? True for a file synced
 * before and written at most SYNC_SOON_WRITES times since (a database's WAL: a write or two,
 * then fdatasync). Its writes are then acknowledged by SECOND at once, so that the sync finds
 * them acknowledged and needs no barrier of its own (pure/link.ts, "Barrier-free sync calls");
 * a bulk writer's files keep SECOND's batched ACKs.
 */
export function syncLikelySoon(f: HotFile | undefined): boolean {
  return f !== undefined && f.synced_gen > 0 && f.write_gen - f.synced_gen <= SYNC_SOON_WRITES;
}

/**
 * Cooling tick: which hot files are idle since the previous tick (so they may cool), and of
 * those which are already covered by a sync (cool now) or need one first (sync, then cool if
 * still idle). Busy files stay hot: a file under steady writes costs no record traffic.
 */
export function coolingPlan(files: ReadonlyMap<string, HotFile>): { cool: string[]; sync_first: string[] } {
  const cool: string[] = [];
  const sync_first: string[] = [];
  for (const [p, f] of files) {
    if (f.write_gen !== f.seen_gen) continue;
    if (f.synced_gen >= f.write_gen) cool.push(p);
    else sync_first.push(p);
  }
  return { cool, sync_first };
}
