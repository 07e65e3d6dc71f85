// Manual failover approval (docs/geo.md). Two sites cannot tell a dead site from a cut WAN:
// with `<failover mode="manual">` a mirror survivor that loses its peer does not take over. It
// waits in WAIT with the sub-status Approval until an operator says `hakit failover approve`
// (or the optional timer runs out); `deny` keeps it waiting and cancels the timer. Pure: the
// approval is an event (an operator command or the `approval` timer), the decision stays in
// mirror.ts's WAIT handler, which asks `approvalGate` whether it may take over now.
import type { ApprovalWait, Fx, ModuleMachine } from './machine-state';
import type { ModuleEffect, OperatorCommand } from './types';

type Refusal = Extract<ModuleEffect, { type: 'Refuse' }>['code'];
export type ApprovalOutcome = { readonly m: ModuleMachine; readonly refused: null | { code: Refusal; message: string } };

/** The module's failover on the loss of its peer needs an operator (or the timer). */
export function manualFailover(m: ModuleMachine): boolean {
  return m.policy.mode === 'mirror' && m.policy.failover_mode === 'manual';
}

/** WAIT/Approval: waiting, not yet approved. */
export function awaitingApproval(m: ModuleMachine): boolean {
  return m.approval !== null && m.approval.approved === null;
}

/**
 * The WAIT handler found its peer lost and a takeover due. Returns `go` once approved; else
 * starts (or keeps) the wait, with its timer.
 */
export function approvalGate(m: ModuleMachine, fx: Fx, now_ms: number): { m: ModuleMachine; go: boolean } {
  if (!manualFailover(m)) return { m, go: true };
  const a = m.approval;
  if (a !== null && a.approved !== null) return { m, go: true };
  if (a !== null) return { m: m.status === 'Approval' ? m : { ...m, status: 'Approval' }, go: false };
  const timer = m.policy.approval_timer_ms;
  const deadline_ms = timer === null ? null : now_ms + timer;
  const wait: ApprovalWait = { since_ms: now_ms, deadline_ms, denied: false, approved: null };
  const how = deadline_ms === null ? 'until `hakit failover approve`' : `until \`hakit failover approve\` or ${timer} ms from now`;
  fx.push({ type: 'Log', level: 'warn', code: 'HAKIT_E_FAILOVER_AWAITING_APPROVAL', msg: `${m.policy.module}: peer lost, failover is manual: waiting ${how}` });
  if (deadline_ms !== null) fx.push({ type: 'SetTimer', id: 'approval', at_ms: deadline_ms });
  return { m: { ...m, approval: wait, status: 'Approval' }, go: false };
}

/** The wait ends without a takeover (peer back, module stopped, state left WAIT). */
export function endApproval(m: ModuleMachine, fx: Fx, why: string): ModuleMachine {
  const a = m.approval;
  if (a === null) return m;
  if (a.deadline_ms !== null && a.approved === null) fx.push({ type: 'CancelTimer', id: 'approval' });
  if (a.approved === null) fx.push({ type: 'Log', level: 'info', msg: `${m.policy.module}: no longer waiting for failover approval (${why})` });
  return { ...m, approval: null, status: m.status === 'Approval' ? 'NotReady' : m.status };
}

/** `hakit failover approve|deny`: only a module waiting for approval accepts it. */
export function approvalCommand(m: ModuleMachine, fx: Fx, cmd: Extract<OperatorCommand, { kind: 'approve' | 'deny' }>, now_ms: number): ApprovalOutcome {
  const a = m.approval;
  if (a === null || a.approved !== null || m.state !== 'WAIT' || m.job !== null) {
    const what = manualFailover(m) ? `the module is ${m.state}/${m.status}` : 'the module\'s failover is not manual';
    return { m, refused: { code: 'HAKIT_E_FAILOVER_NOT_WAITING', message: `${cmd.kind} needs a module waiting for failover approval; ${what}` } };
  }
  const waited_ms = now_ms - a.since_ms;
  if (cmd.kind === 'deny') {
    if (a.deadline_ms !== null) fx.push({ type: 'CancelTimer', id: 'approval' });
    fx.push({ type: 'Log', level: 'warn', msg: `${m.policy.module}: failover denied by the operator after ${waited_ms} ms: still waiting${a.deadline_ms !== null ? ' (timer cancelled)' : ''}` });
    return { m: { ...m, approval: { ...a, denied: true, deadline_ms: null } }, refused: null };
  }
  fx.push({ type: 'Log', level: 'warn', msg: `${m.policy.module}: failover approved by the operator after ${waited_ms} ms: taking over` });
  return { m: { ...m, approval: { ...a, approved: 'operator' }, status: 'NotReady' }, refused: null };
}

/** The `approval` timer fired: approve if it is (still) due; a timer that fired early is set again. */
export function onApprovalTimer(m: ModuleMachine, fx: Fx, now_ms: number): ModuleMachine {
  const a = m.approval;
  if (a === null || a.approved !== null || a.deadline_ms === null || m.state !== 'WAIT') return m;
  if (now_ms < a.deadline_ms) {
    fx.push({ type: 'SetTimer', id: 'approval', at_ms: a.deadline_ms });
    return m;
  }
  fx.push({ type: 'Log', level: 'warn', msg: `${m.policy.module}: failover approval timer ran out after ${now_ms - a.since_ms} ms: taking over` });
  return { ...m, approval: { ...a, approved: 'timer' }, status: 'NotReady' };
}

/** What `hakit state -v` and the API show of a wait for approval; null when not waiting. */
export interface ApprovalStatus {
  readonly waiting_ms: number;
  /** Time left before the timer approves; null: no timer (or cancelled by deny). */
  readonly timer_left_ms: number | null;
  readonly denied: boolean;
}

export function approvalStatus(m: ModuleMachine, now_ms: number): ApprovalStatus | null {
  const a = m.approval;
  if (a === null || a.approved !== null) return null;
  return { waiting_ms: Math.max(0, now_ms - a.since_ms), timer_left_ms: a.deadline_ms === null ? null : Math.max(0, a.deadline_ms - now_ms), denied: a.denied };
}
