// What the insight views show, as pure functions: the bucket map's legend (each owner a
// colour AND a letter, so colour is never the only signal), times of the what-if timeline,
// and which timeline entries are new since the last browser notification.
import type { TimelineEntry } from './cluster-view';

export const OWNER_COLOURS = 8;

export interface OwnerKey {
  readonly owner: string;
  /** One letter shown in every cell the owner holds. */
  readonly letter: string;
  /** Colour class index (o-N). */
  readonly colour: number;
  readonly count: number;
}

export interface BucketCell {
  readonly cls: string;
  readonly label: string;
  readonly title: string;
}

/** The owners of a map (names only; '' and overlaps are not owners), sorted, with their counts. */
export function ownerLegend(owners: readonly string[], known: readonly string[] = []): OwnerKey[] {
  const count = new Map<string, number>();
  for (const k of known) count.set(k, 0);
  for (const o of owners) if (o !== '' && !o.includes('+')) count.set(o, (count.get(o) ?? 0) + 1);
  return [...count.keys()].sort().map((owner, i) => ({ owner, letter: String.fromCharCode(65 + (i % 26)), colour: i % OWNER_COLOURS, count: count.get(owner) ?? 0 }));
}

export function bucketCell(bucket: number, owner: string, legend: readonly OwnerKey[]): BucketCell {
  if (owner === '') return { cls: 'b none', label: '·', title: `bucket ${bucket}: no node accepts it` };
  if (owner.includes('+')) return { cls: 'b overlap', label: '!', title: `bucket ${bucket}: claimed by ${owner.split('+').join(' and ')} (overlap)` };
  const k = legend.find((x) => x.owner === owner);
  return { cls: `b o-${k?.colour ?? 0}${(k?.colour ?? 0) % 2 === 1 ? ' striped' : ''}`, label: k?.letter ?? '?', title: `bucket ${bucket}: ${owner}` };
}

/** Counts of gaps and overlaps (both should be 0 once settled). */
export function mapIssues(owners: readonly string[]): { none: number; overlap: number } {
  return { none: owners.filter((o) => o === '').length, overlap: owners.filter((o) => o.includes('+')).length };
}

/** "+2.75 s" after the fault. */
export function afterFault(at_ms: number): string {
  return `+${(at_ms / 1000).toFixed(at_ms % 1000 === 0 ? 0 : 2)} s`;
}

export function entryKey(e: TimelineEntry): string {
  return `${e.at}|${e.node}|${e.module}|${e.from}|${e.to}`;
}

/**
 * Entries that arrived after the one keyed `lastSeen` (all of them when it is gone from the
 * bounded timeline, none when `lastSeen` is null: the first look only records where we are).
 */
export function newSince(entries: readonly TimelineEntry[], lastSeen: string | null): TimelineEntry[] {
  if (lastSeen === null) return [];
  const i = entries.map(entryKey).lastIndexOf(lastSeen);
  return entries.slice(i + 1);
}

export function notificationText(e: TimelineEntry): { title: string; body: string } {
  return { title: `hakit: ${e.module} on ${e.node}`, body: `${e.from} → ${e.to}` };
}
