// Where one captured operation goes, given the link phase. The single decision behind
// "writes to regions already re-integrated are replicated live, others are marked dirty".
import { type MirrorOp, isNamespaceOp } from './ops';
import { type ExcludeRules, isExcluded } from './exclude';
import { type PendingSet } from './pending';

export type LinkPhase =
  /** SECOND absent: everything is recorded, nothing shipped. */
  | 'alone'
  /** Full comparison is listing both trees: namespace ops wait, data ops stay local. */
  | 'walking'
  /** Re-integration running: pending regions stay dirty, the rest ships live. */
  | 'syncing'
  /** SECOND has everything PRIM acknowledged: every op ships live. */
  | 'in_sync';

export type Route =
  | { readonly to: 'skip' }              // excluded, or has no effect on SECOND
  | { readonly to: 'live' }              // ship now, app waits for the ack
  | { readonly to: 'record' }            // PendingSet.recordUnshipped, no wait for SECOND
  | { readonly to: 'local' }             // nothing to do: a later comparison picks it up
  | { readonly to: 'wait' }              // hold until the phase or the busy file changes
  | { readonly to: 'import'; readonly path: string }   // renamed in from an excluded name
  | { readonly to: 'drop'; readonly path: string };    // renamed out to an excluded name

export interface RouteView {
  readonly phase: LinkPhase;
  readonly rules: ExcludeRules;
  readonly pending: PendingSet;
  /** Files whose pending data the re-integrator is reading right now. */
  readonly busy: ReadonlySet<string>;
}

function excluded(view: RouteView, path: string, op: MirrorOp): boolean {
  return isExcluded(view.rules, path, op.kind === 'mkdir' || op.kind === 'rmdir');
}

export function routeOp(view: RouteView, op: MirrorOp): Route {
  if (op.kind === 'rename') {
    const fromEx = isExcluded(view.rules, op.from, false);
    const toEx = isExcluded(view.rules, op.to, false);
    if (fromEx && toEx) return { to: 'skip' };
    if (fromEx) return view.phase === 'walking' ? { to: 'wait' } : { to: 'import', path: op.to };
    if (toEx) return view.phase === 'walking' ? { to: 'wait' } : { to: 'drop', path: op.from };
  } else if (op.kind === 'link') {
    if (isExcluded(view.rules, op.to, false)) return { to: 'skip' };
    if (isExcluded(view.rules, op.from, false)) return view.phase === 'walking' ? { to: 'wait' } : { to: 'import', path: op.to };
  } else if (excluded(view, op.path, op)) {
    return { to: 'skip' };
  }
  if (view.phase === 'alone') return op.kind === 'fsync' ? { to: 'skip' } : { to: 'record' };
  if (view.phase === 'in_sync') return { to: 'live' };
  const paths = op.kind === 'rename' || op.kind === 'link' ? [op.from, op.to] : [op.path];
  if (paths.some((p) => view.busy.has(p))) return { to: 'wait' };
  if (view.phase === 'walking') {
    if (isNamespaceOp(op)) return { to: 'wait' };
    return op.kind === 'write' || op.kind === 'truncate' || op.kind === 'fsync' ? { to: 'local' } : { to: 'wait' };
  }
  // syncing
  if (op.kind === 'write') {
    if (view.pending.needsCompare(op.path)) return { to: 'local' };
    if (view.pending.isDirtyOverlap(op.path, op.offset, op.offset + op.data.length)) return { to: 'record' };
    return { to: 'live' };
  }
  if (op.kind === 'truncate' && view.pending.needsCompare(op.path)) return { to: 'local' };
  return { to: 'live' };
}
