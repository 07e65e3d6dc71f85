// The last rfsverify of a mirror module on this node, as kept in its state folder and shown
// by `hakit state -v`, the API's replication route and the console: when, how it ended, what
// it compared and found, how long it took. Pure: built from the comparison's result and the
// times around it, and read back from disk without trusting the file.
import type { TreeDifference } from '../../mirror/pure/tree-diff';

export type VerifyOutcome = 'identical' | 'different' | 'failed';

/** The first few differing paths kept with the record (a full list is `hakit rfsdiff`). */
export const VERIFY_RECORD_PATHS_MAX = 20;

export interface VerifyRecord {
  /** When the comparison ended (ISO 8601). */
  readonly at: string;
  readonly duration_ms: number;
  readonly outcome: VerifyOutcome;
  /** The PRIM's regular files compared by content hash and their bytes; null: failed before, or not counted. */
  readonly files_compared: number | null;
  readonly bytes_compared: number | null;
  /** Paths that differ; null when the comparison failed. */
  readonly differences: number | null;
  readonly first_differences: readonly TreeDifference[];
  readonly error: { readonly code: string; readonly message: string } | null;
}

export function verifyDone(started_ms: number, ended_ms: number, r: { readonly differences: readonly TreeDifference[]; readonly files_compared?: number; readonly bytes_compared?: number }): VerifyRecord {
  return {
    at: new Date(ended_ms).toISOString(),
    duration_ms: Math.max(0, ended_ms - started_ms),
    outcome: r.differences.length === 0 ? 'identical' : 'different',
    files_compared: r.files_compared ?? null,
    bytes_compared: r.bytes_compared ?? null,
    differences: r.differences.length,
    first_differences: r.differences.slice(0, VERIFY_RECORD_PATHS_MAX).map((d) => ({ path: d.path, reason: d.reason })),
    error: null,
  };
}

export function verifyFailed(started_ms: number, ended_ms: number, error: { readonly code: string; readonly message: string }): VerifyRecord {
  return { at: new Date(ended_ms).toISOString(), duration_ms: Math.max(0, ended_ms - started_ms), outcome: 'failed', files_compared: null, bytes_compared: null, differences: null, first_differences: [], error: { code: error.code, message: error.message } };
}

const REASONS: ReadonlySet<string> = new Set(['missing_on_second', 'extra_on_second', 'type', 'content', 'target', 'link']);
const count = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null);

/** A record read back from disk, or null when it is not one (hand-edited, another version): shown as "no verify yet". */
export function parseVerifyRecord(raw: unknown): VerifyRecord | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  if (typeof r['at'] !== 'string' || Number.isNaN(Date.parse(r['at']))) return null;
  if (r['outcome'] !== 'identical' && r['outcome'] !== 'different' && r['outcome'] !== 'failed') return null;
  const duration_ms = count(r['duration_ms']);
  if (duration_ms === null) return null;
  const e = r['error'] as { code?: unknown; message?: unknown } | null | undefined;
  const firsts = Array.isArray(r['first_differences']) ? r['first_differences'] : [];
  return {
    at: r['at'],
    duration_ms,
    outcome: r['outcome'],
    files_compared: count(r['files_compared']),
    bytes_compared: count(r['bytes_compared']),
    differences: count(r['differences']),
    first_differences: firsts
      .filter((d): d is TreeDifference => typeof d === 'object' && d !== null && typeof (d as TreeDifference).path === 'string' && REASONS.has(String((d as TreeDifference).reason)))
      .slice(0, VERIFY_RECORD_PATHS_MAX)
      .map((d) => ({ path: d.path, reason: d.reason })),
    error: e && typeof e.code === 'string' && typeof e.message === 'string' ? { code: e.code, message: e.message } : null,
  };
}

/** One line for `hakit state -v`: "identical, 120 files (4.0 MiB) in 310 ms, 2026-12-06T02:40:00.000Z". */
export function verifyLine(r: VerifyRecord): string {
  const what = r.files_compared !== null ? `, ${r.files_compared} files (${r.bytes_compared ?? '?'} bytes)` : '';
  const how = r.outcome === 'failed' ? `failed (${r.error?.code ?? '?'})` : r.outcome === 'identical' ? 'identical' : `${r.differences ?? '?'} difference(s)`;
  return `${how}${what} in ${r.duration_ms} ms, ${r.at}`;
}
