// Re-integration progress as operators see it (`hakit state -v`, `hakit collect`, the API):
// the engine's last status event turned into one flat record, and that record into one line.
// Pure: the caller passes the engine's status; nothing here reads a clock or a socket.

/** What the engine reports while a pass runs (see core/mirror/sender.ts SenderStatus). */
interface SyncingEvent {
  readonly state: 'syncing';
  readonly mode?: string;
  readonly shipped_bytes?: number;
  readonly pending_bytes?: number;
  readonly pending_files?: number;
  readonly rate_bytes_per_s?: number;
  readonly eta_s?: number | null;
}

export type ProgressPhase = 'reintegrating' | 'in_sync' | 'alone' | 'receiving' | 'none';

export interface ReplicationProgress {
  readonly phase: ProgressPhase;
  /** 'journal' (dirty ranges only) or 'full' (block comparison); null outside a pass. */
  readonly mode: string | null;
  /** Bytes the pass still has to deal with (null: not known here, e.g. on SECOND). */
  readonly pending_bytes: number | null;
  readonly pending_files: number | null;
  /** Bytes the pass has shipped so far. */
  readonly shipped_bytes: number | null;
  readonly rate_bytes_per_s: number | null;
  /** Seconds left at the current rate (null: rate still 0 or not known). */
  readonly eta_s: number | null;
  /** SECOND: bytes applied to the copy since its engine started. */
  readonly bytes_applied: number | null;
  /** PRIM: how long sync calls have waited for the ALONE fence (absent or null: they do not wait). */
  readonly fence_wait_ms?: number | null;
  /** PRIM: how long its journal has been emptied (absent or null: it is kept). */
  readonly journal_emptied_ms?: number | null;
  /** SECOND, copy incomplete: no PRIM is connected (its link's last event is none or 'lost'),
   *  so nothing is being received; absent otherwise. */
  readonly waiting_for_prim?: true;
  /** PRIM ALONE: why, from its link's last event (not connected yet and what SECOND's return
   *  will cost, the failed connections' cause, the lost link's message); absent otherwise. */
  readonly alone_reason?: string;
  /** PRIM: its link to SECOND was lost and it tries to resume the session (the ops in flight
   *  are sent again if it does); absent otherwise. */
  readonly resuming?: true;
}

export interface EngineView {
  readonly engine: 'prim' | 'second' | 'none';
  readonly last: unknown;
  readonly copy_complete?: boolean | null;
  readonly bytes_applied?: number | null;
  readonly fence_wait_ms?: number | null;
  readonly journal_emptied_ms?: number | null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function isSyncing(last: unknown): last is SyncingEvent {
  return typeof last === 'object' && last !== null && (last as { state?: unknown }).state === 'syncing';
}

function stateOf(last: unknown): string | null {
  if (typeof last !== 'object' || last === null) return null;
  const s = (last as { state?: unknown }).state;
  return typeof s === 'string' ? s : null;
}

const NOTHING = { mode: null, pending_bytes: null, pending_files: null, shipped_bytes: null, rate_bytes_per_s: null, eta_s: null } as const;

export function replicationProgress(v: EngineView): ReplicationProgress {
  const p = phaseProgress(v);
  const fence_wait_ms = v.engine === 'prim' ? num(v.fence_wait_ms) : null;
  const journal_emptied_ms = v.engine === 'prim' ? num(v.journal_emptied_ms) : null;
  return { ...p, ...(fence_wait_ms === null ? {} : { fence_wait_ms }), ...(journal_emptied_ms === null ? {} : { journal_emptied_ms }) };
}

function phaseProgress(v: EngineView): ReplicationProgress {
  const bytes_applied = num(v.bytes_applied);
  if (v.engine === 'none') return { phase: 'none', ...NOTHING, bytes_applied };
  if (v.engine === 'second') {
    const phase: ProgressPhase = v.copy_complete === true ? 'in_sync' : 'receiving';
    const st = stateOf(v.last);
    const waiting = phase === 'receiving' && (st === null || st === 'lost');
    return { phase, ...NOTHING, ...(phase === 'in_sync' ? { pending_bytes: 0, pending_files: 0, eta_s: 0 } : {}), bytes_applied, ...(waiting ? { waiting_for_prim: true as const } : {}) };
  }
  const last = v.last;
  if (isSyncing(last)) {
    return {
      phase: 'reintegrating',
      mode: typeof last.mode === 'string' ? last.mode : null,
      pending_bytes: num(last.pending_bytes),
      pending_files: num(last.pending_files),
      shipped_bytes: num(last.shipped_bytes),
      rate_bytes_per_s: num(last.rate_bytes_per_s),
      eta_s: num(last.eta_s),
      bytes_applied,
    };
  }
  const st = stateOf(last);
  if (st === 'in_sync') return { phase: 'in_sync', ...NOTHING, pending_bytes: 0, pending_files: 0, eta_s: 0, bytes_applied };
  if (st === 'connected') return { phase: 'reintegrating', ...NOTHING, bytes_applied };
  const why = aloneReason(last);
  return { phase: 'alone', ...NOTHING, bytes_applied, ...(why === null ? {} : { alone_reason: why }), ...(st === 'lost' ? { resuming: true as const } : {}) };
}

/** An ALONE PRIM's reason from its link's last event: 'alone' {reason}, 'lost' {message}. */
function aloneReason(last: unknown): string | null {
  if (typeof last !== 'object' || last === null) return null;
  const e = last as { state?: unknown; reason?: unknown; message?: unknown };
  if (e.state === 'alone' && typeof e.reason === 'string' && e.reason !== '') return e.reason;
  if (e.state === 'lost' && typeof e.message === 'string' && e.message !== '') return e.message;
  return null;
}

/** 1536 -> "1.5 KiB"; binary units, as `df -h` and the bench print them. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function formatEta(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** One line for `hakit state -v`. */
export function formatProgress(p: ReplicationProgress): string {
  const lines = [phaseLine(p)];
  if (typeof p.fence_wait_ms === 'number') lines.push(`  sync calls: held ${Math.round(p.fence_wait_ms / 1000)} s for the ALONE fence (the peer may still believe its copy complete; docs/mirror.md)`);
  if (typeof p.journal_emptied_ms === 'number') {
    lines.push(`  journal: emptied ${Math.round(p.journal_emptied_ms / 1000)} s ago, its disk refused a record (HAKIT_E_MIRROR_JOURNAL): a crash of this node now costs a full comparison; rewritten once the disk takes it (docs/mirror.md)`);
  }
  return lines.join('\n');
}

function phaseLine(p: ReplicationProgress): string {
  switch (p.phase) {
    case 'none':
      return '  replication: engine not running';
    case 'in_sync':
      return p.bytes_applied !== null ? `  replication: in sync (applied ${formatBytes(p.bytes_applied)} since start)` : '  replication: in sync, pending 0 B';
    case 'receiving':
      if (p.waiting_for_prim) return `  replication: copy incomplete, waiting for the PRIM to connect (applied ${formatBytes(p.bytes_applied ?? 0)} since start)`;
      return `  replication: receiving re-integration (applied ${formatBytes(p.bytes_applied ?? 0)}; progress is shown on the PRIM)`;
    case 'alone':
      if (p.resuming) return `  replication: link to the SECOND lost${p.alone_reason ? ` (${p.alone_reason})` : ''}, trying to resume`;
      return `  replication: ALONE${p.alone_reason ? ` (${p.alone_reason})` : ''}, changes journaled for the SECOND`;
    case 'reintegrating': {
      const pending = p.pending_bytes === null ? 'pending ?' : `pending ${formatBytes(p.pending_bytes)}${p.pending_files !== null ? ` in ${p.pending_files} files` : ''}`;
      const shipped = `shipped ${formatBytes(p.shipped_bytes ?? 0)}`;
      const rate = p.rate_bytes_per_s === null ? '' : `  rate ${formatBytes(p.rate_bytes_per_s)}/s`;
      const eta = p.eta_s === null ? '  eta ?' : `  eta ${formatEta(p.eta_s)}`;
      return `  replication: re-integrating${p.mode ? ` (${p.mode})` : ''}: ${pending}, ${shipped}${rate}${eta}`;
    }
  }
}

/** `hakit collect`: each mirror module of the view gets its progress as `replication`. */
export function withReplication<V extends { readonly modules: readonly { readonly module: string }[] }>(view: V, progress: ReadonlyMap<string, ReplicationProgress>): V {
  return { ...view, modules: view.modules.map((m) => (progress.has(m.module) ? { ...m, replication: progress.get(m.module) } : m)) };
}
