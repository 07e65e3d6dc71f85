// The console's words for a mirror module's replication (webconsole/pure/replication.ts), per
// phase: what the grid cell adds and what the Replication tab lists.
import type { ReplicationStatus } from '../../core/api/contract/pure/types';
import { replicationStatus } from '../../core/api/pure/map';
import { passPercent, replicationGridLine, replicationPhase, replicationRows } from '../../webconsole/pure/replication';

function status(over: Partial<ReplicationStatus>): ReplicationStatus {
  return { module: 'm1', node: 'n1', engine: 'prim', phase: 'in_sync', in_sync: true, pending_bytes: 0, rate_bytes_per_s: null, eta_s: 0, bytes_applied: null, ops_applied: null, last: { state: 'in_sync' }, ...over };
}

const syncing = status({
  phase: 'reintegrating',
  in_sync: false,
  pending_bytes: 750,
  shipped_bytes: 250,
  pending_files: 3,
  rate_bytes_per_s: 500,
  eta_s: 2,
  reintegration_mode: 'journal',
  last: { state: 'syncing', mode: 'journal', shipped_bytes: 250, pending_bytes: 750, pending_files: 3, rate_bytes_per_s: 500, eta_s: 2 },
});

const rows = (r: ReplicationStatus): Record<string, string> => Object.fromEntries(replicationRows(r).map((x) => [x.label, x.value]));

test('PRIM in sync: one row, nothing pending to show, no extra grid line', () => {
  const r = status({});
  expect(replicationPhase(r)).toBe('in_sync');
  expect(rows(r)).toEqual({ Replication: '✔ in sync: the SECOND holds every acknowledged write' });
  expect(replicationGridLine(r)).toBeNull();
});

test('PRIM re-integrating: pass kind, shipped with its share, pending files, rate and ETA', () => {
  expect(replicationPhase(syncing)).toBe('reintegrating');
  expect(passPercent(syncing)).toBe(25);
  const t = rows(syncing);
  expect(t.Replication).toMatch(/re-integrating the SECOND \(journal pass/);
  expect(t.Shipped).toBe('250 B (25 %)');
  expect(t.Pending).toBe('750 B in 3 file(s)');
  expect(t.Rate).toBe('500 B/s');
  expect(t.ETA).toBe('2 s');
  expect(replicationGridLine(syncing)).toBe('resync 25 %');
  // A pass kind this console does not know is named as the engine names it.
  expect(rows({ ...syncing, last: { ...(syncing.last as object), mode: 'toString' } }).Replication).toBe('⟳ re-integrating the SECOND (toString pass)');
  // The first second of a pass: no rate or ETA yet.
  expect(rows({ ...syncing, rate_bytes_per_s: null, eta_s: null })).toMatchObject({ Rate: 'measuring', ETA: 'unknown until bytes move' });
  // Long passes in minutes and hours, as `hakit state -v` says them.
  expect(rows({ ...syncing, eta_s: 600 }).ETA).toBe('10 min');
  expect(rows({ ...syncing, eta_s: 9000 }).ETA).toBe('2.5 h');
  // Nothing said about the shares: no percent.
  expect(replicationGridLine({ ...syncing, shipped_bytes: null })).toBe('resync starting');
  expect(passPercent({ ...syncing, shipped_bytes: 0, pending_bytes: 0 })).toBe(100);
});

test('PRIM ALONE is not re-integrating: it says why, and the grid cell (magenta) gets no resync line', () => {
  const r = status({ phase: 'alone', in_sync: false, pending_bytes: null, eta_s: null, last: { state: 'alone', reason: 'connect ECONNREFUSED 198.18.0.2:7800' } });
  expect(replicationPhase(r)).toBe('alone');
  expect(rows(r).Replication).toBe('◐ ALONE: no SECOND (connect ECONNREFUSED 198.18.0.2:7800); changes are journaled for its return');
  expect(replicationGridLine(r)).toBeNull();
});

test('PRIM with a SECOND connected but no pass reported yet, or with its link just lost', () => {
  const connected = status({ phase: 'reintegrating', in_sync: false, pending_bytes: null, last: { state: 'connected', peer: 'n2' } });
  expect(replicationGridLine(connected)).toBe('resync starting');
  expect(rows(connected)).toEqual({ Replication: '⟳ SECOND connected: re-integration starting' });
  const lost = status({ phase: 'alone', in_sync: false, last: { state: 'lost', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'connection closed by peer' } });
  expect(replicationRows(lost)).toEqual([{ label: 'Replication', value: '✖ link to the SECOND lost: connection closed by peer', bad: true }]);
});

test('SECOND: its copy and what it applied; pending is the PRIM\'s to say', () => {
  const complete = status({ engine: 'second', phase: 'in_sync', in_sync: true, pending_bytes: null, eta_s: null, bytes_applied: 3 * 1024 * 1024, ops_applied: 12, last: { state: 'second_complete', complete: true } });
  expect(rows(complete)).toEqual({
    Copy: '✔ complete: this node can take over with every acknowledged write',
    Applied: '3.0 MiB in 12 operation(s) since this node\'s engine started',
  });
  expect(replicationGridLine(complete)).toBeNull();
  // Incomplete: the cell already says "copy NOT up to date"; the tab says why.
  const incomplete = { ...complete, phase: 'receiving', in_sync: false } as const;
  expect(replicationGridLine(incomplete)).toBeNull();
  expect(rows({ ...incomplete, last: { state: 'second_complete', complete: false } }).Copy).toBe('✖ incomplete: the PRIM is re-integrating it (its progress is shown on the PRIM)');
  expect(rows({ ...incomplete, last: { state: 'lost', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'connection closed by peer' } }).Copy).toBe('✖ incomplete: no PRIM connected; it is re-integrated when one connects');
  expect(rows({ ...incomplete, last: null }).Copy).toMatch(/no PRIM connected/);
  expect(rows({ ...incomplete, last: { state: 'apply_error', code: 'HAKIT_E_MIRROR_APPLY', message: 'write /srv/db/a: ENOSPC' } }).Copy).toBe('✖ incomplete: this node could not apply an operation (write /srv/db/a: ENOSPC); the PRIM re-integrates it again');
  expect(replicationRows(incomplete)[0]).toMatchObject({ bad: true });
});

test('no engine', () => {
  expect(rows(status({ engine: 'none', phase: 'none', in_sync: null, last: null }))).toEqual({ Replication: 'no replication engine on this node (module stopped, or waiting)' });
});

test('a node older than the phase field (rolling upgrade) is worded from what it sends', () => {
  const older = (over: Partial<ReplicationStatus>) => replicationPhase(status({ ...over, phase: undefined }));
  expect(older({})).toBe('in_sync');
  expect(older({ last: syncing.last })).toBe('reintegrating');
  expect(older({ last: { state: 'connected', peer: 'n2' } })).toBe('reintegrating');
  expect(older({ last: { state: 'alone', reason: 'x' } })).toBe('alone');
  expect(older({ last: null })).toBe('alone');
  expect(older({ last: { state: 'lost', code: 'c', message: 'm' } })).toBe('lost');
  expect(older({ engine: 'second', in_sync: true })).toBe('copy_complete');
  expect(older({ engine: 'second', in_sync: false })).toBe('copy_incomplete');
  expect(older({ engine: 'second', in_sync: null })).toBe('unknown');
  expect(older({ engine: 'none', in_sync: null })).toBe('stopped');
});

test('the API names the phase as `hakit state -v` does (core/mirror/pure/progress.ts)', () => {
  const api = (engine: 'prim' | 'second' | 'none', last: unknown, copy_complete: boolean | null = null) =>
    replicationStatus({ module: 'm1', node: 'n1', engine, last, copy_complete, bytes_applied: engine === 'second' ? 0 : null, ops_applied: engine === 'second' ? 0 : null } as never);
  expect(replicationPhase(api('prim', { state: 'in_sync' }))).toBe('in_sync');
  expect(replicationPhase(api('prim', syncing.last))).toBe('reintegrating');
  expect(replicationPhase(api('prim', { state: 'connected', peer: 'n2' }))).toBe('reintegrating');
  expect(replicationPhase(api('prim', { state: 'alone', reason: 'x' }))).toBe('alone');
  expect(replicationPhase(api('prim', { state: 'lost', code: 'HAKIT_E_MIRROR_PEER_LOST', message: 'x' }))).toBe('lost');
  expect(replicationPhase(api('second', { state: 'second_complete', complete: true }, true))).toBe('copy_complete');
  expect(replicationPhase(api('second', { state: 'second_connected' }, false))).toBe('copy_incomplete');
  expect(replicationPhase(api('none', null))).toBe('stopped');
});
