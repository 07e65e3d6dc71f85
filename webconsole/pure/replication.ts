// What the console says of a mirror module's replication on one node, in the grid cell and in
// the detail's Replication tab. Pure: the views render what this returns. The words follow
// the engine's phase. An ALONE PRIM has no SECOND and re-integrates nothing. A SECOND does
// not know how much is pending: the PRIM measures the pass, and the SECOND counts what it
// applied.
import type { ReplicationStatus } from '../../core/api/contract/pure/types';

/**
 * The console's phase: the API's `phase` (the one `hakit state -v` and `collect` name), split
 * by side, so that a SECOND's words differ from a PRIM's, and with a lost link apart from
 * ALONE.
 */
export type ReplicationPhase =
  | 'in_sync' // PRIM: SECOND holds every acknowledged write
  | 'reintegrating' // PRIM: a pass ships what SECOND lacks (or is about to)
  | 'alone' // PRIM: no SECOND; changes are journaled for its return
  | 'lost' // PRIM: the session just ended
  | 'copy_complete' // SECOND
  | 'copy_incomplete' // SECOND: a pass from PRIM has yet to complete
  | 'stopped' // no engine on this node
  | 'unknown'; // a SECOND that does not say whether its copy is complete

export interface ReplicationRow {
  readonly label: string;
  readonly value: string;
  /** Shown in red (as the fence and journal rows). */
  readonly bad?: true;
}

/** The fields of the engine's last status event this reads (core/mirror/pure/link.ts SenderStatus). */
interface LastStatus {
  readonly state?: unknown;
  readonly reason?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly mode?: unknown;
}

function lastOf(r: ReplicationStatus): LastStatus {
  return typeof r.last === 'object' && r.last !== null ? (r.last as LastStatus) : {};
}

export function replicationPhase(r: ReplicationStatus): ReplicationPhase {
  switch (r.phase ?? olderNodePhase(r)) {
    case 'none': return 'stopped';
    case 'in_sync': return r.engine === 'second' ? 'copy_complete' : 'in_sync';
    case 'receiving': return 'copy_incomplete';
    case 'reintegrating': return 'reintegrating';
    case 'alone': return lastOf(r).state === 'lost' ? 'lost' : 'alone';
    default: return 'unknown';
  }
}

/**
 * A node older than the API's `phase` (a rolling upgrade) is worded from the fields it sends,
 * by the rule of core/mirror/pure/progress.ts, which the console cannot import.
 */
function olderNodePhase(r: ReplicationStatus): ReplicationStatus['phase'] {
  if (r.engine === 'none') return 'none';
  if (r.engine === 'second') return r.in_sync === true ? 'in_sync' : r.in_sync === false ? 'receiving' : undefined;
  const state = lastOf(r).state;
  if (state === 'syncing' || state === 'connected') return 'reintegrating';
  return state === 'in_sync' ? 'in_sync' : 'alone';
}

export function bytesText(n: number | null | undefined): string {
  if (n === null || n === undefined) return 'unknown';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Seconds left, as `hakit state -v` prints them (core/mirror/pure/progress.ts formatEta). */
export function etaText(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** Share of a pass already shipped, 0-100; null when PRIM did not say. */
export function passPercent(r: ReplicationStatus): number | null {
  const shipped = r.shipped_bytes;
  const pending = r.pending_bytes;
  if (typeof shipped !== 'number' || typeof pending !== 'number') return null;
  const total = shipped + pending;
  if (total <= 0) return 100;
  return Math.max(0, Math.min(100, Math.floor((shipped * 100) / total)));
}

const PASS_WORDS: ReadonlyMap<string, string> = new Map([
  ['journal', 'journal pass: the ranges changed while SECOND was away'],
  ['activity', 'activity pass: the files PRIM was changing when it stopped'],
  ['full', 'full comparison: every file, block by block'],
]);

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The grid cell's extra line; null when the cell says enough (in sync, ALONE, a SECOND's
 *  copy, which the cell already calls up to date or not, stopped). */
export function replicationGridLine(r: ReplicationStatus): string | null {
  switch (replicationPhase(r)) {
    case 'reintegrating': {
      const pct = passPercent(r);
      return pct === null ? 'resync starting' : `resync ${pct} %`;
    }
    case 'lost': return 'replication link lost';
    default: return null;
  }
}

/** Why a SECOND's copy is not complete, from its receiver's last event. */
function incompleteWhy(last: LastStatus): string {
  switch (last.state) {
    case 'apply_error': return `this node could not apply an operation (${text(last.message) ?? text(last.code) ?? 'no detail'}); the PRIM re-integrates it again`;
    case 'second_connected':
    case 'second_complete': return 'the PRIM is re-integrating it (its progress is shown on the PRIM)';
    default: return 'no PRIM connected; it is re-integrated when one connects';
  }
}

/** The Replication tab's rows, before the fence, journal and verify rows (detail.tsx). */
export function replicationRows(r: ReplicationStatus): ReplicationRow[] {
  const last = lastOf(r);
  const phase = replicationPhase(r);
  switch (phase) {
    case 'in_sync':
      return [{ label: 'Replication', value: '✔ in sync: the SECOND holds every acknowledged write' }];
    case 'reintegrating': {
      // A session up whose pass has not reported yet: no figures to show.
      if (last.state !== 'syncing') return [{ label: 'Replication', value: '⟳ SECOND connected: re-integration starting' }];
      const mode = text(last.mode);
      const pct = passPercent(r);
      return [
        { label: 'Replication', value: `⟳ re-integrating the SECOND${mode ? ` (${PASS_WORDS.get(mode) ?? `${mode} pass`})` : ''}` },
        { label: 'Shipped', value: `${bytesText(r.shipped_bytes)}${pct === null ? '' : ` (${pct} %)`}` },
        { label: 'Pending', value: `${bytesText(r.pending_bytes)}${typeof r.pending_files === 'number' ? ` in ${r.pending_files} file(s)` : ''}` },
        { label: 'Rate', value: r.rate_bytes_per_s === null ? 'measuring' : `${bytesText(r.rate_bytes_per_s)}/s` },
        { label: 'ETA', value: r.eta_s === null ? 'unknown until bytes move' : etaText(r.eta_s) },
      ];
    }
    case 'alone': {
      // Whether only the journaled changes will be shipped depends on the journal (its own
      // row says when its disk emptied it) and on how PRIM stopped: not promised here.
      const why = text(last.reason);
      return [{ label: 'Replication', value: `◐ ALONE: no SECOND${why ? ` (${why})` : ''}; changes are journaled for its return` }];
    }
    case 'lost': {
      const why = text(last.message) ?? text(last.code);
      return [{ label: 'Replication', value: `✖ link to the SECOND lost${why ? `: ${why}` : ''}`, bad: true }];
    }
    case 'copy_complete':
    case 'copy_incomplete':
      return [
        phase === 'copy_complete'
          ? { label: 'Copy', value: '✔ complete: this node can take over with every acknowledged write' }
          : { label: 'Copy', value: `✖ incomplete: ${incompleteWhy(last)}`, bad: true },
        { label: 'Applied', value: `${bytesText(r.bytes_applied)} in ${r.ops_applied ?? 'unknown'} operation(s) since this node's engine started` },
      ];
    case 'stopped':
      return [{ label: 'Replication', value: 'no replication engine on this node (module stopped, or waiting)' }];
    case 'unknown':
      return [{ label: 'Replication', value: 'unknown: this node does not say whether its copy is complete' }];
  }
}
