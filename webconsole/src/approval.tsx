// Manual failover (docs/geo.md): a mirror survivor in WAIT/Approval does not take over until an
// operator approves. The cell says so in words (how long it has waited, the timer, a denial),
// and roles the API allows get "Approve failover" (after a confirmation naming the split-brain
// risk) and "Deny". The result shows in the cell's action status line (actions.tsx), which
// outlives this panel: an approved module leaves WAIT and the panel disappears.
import { useState } from 'preact/hooks';
import { COMMAND_ACCESS } from '../../core/api/contract/routes';
import { roleAllows, type Role } from '../../core/api/contract/pure/roles';
import type { ApprovalWait, CommandOutcome, ModuleOnNode } from '../../core/api/contract/pure/types';
import type { ActionProgress, ActionSpec } from './actions';
import { api, enc } from './api';

/** "42 s", "9 min 18 s", "2 h 5 min": whole seconds are enough for an operator's decision. */
export function durationText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The wait in words, as `hakit state -v` says it. */
export function approvalText(a: ApprovalWait): { waiting: string; timer: string } {
  const timer = a.timer_left_ms !== null ? `the timer approves in ${durationText(a.timer_left_ms)}` : a.denied ? 'denied, no timer' : 'no timer';
  return { waiting: `waiting for approval for ${durationText(a.waiting_ms)}`, timer };
}

function command(node: string, module: string, kind: 'approve' | 'deny'): Promise<CommandOutcome> {
  return api<CommandOutcome>('POST', `/nodes/${enc(node)}/modules/${enc(module)}/commands`, { kind });
}

export function isWaitingForApproval(m: ModuleOnNode): boolean {
  return m.approval !== undefined || (m.state === 'WAIT' && m.status === 'Approval');
}

export function ApprovalPanel(props: { node: string; module: ModuleOnNode; role: Role; progress: ActionProgress | undefined; onRun: (a: ActionSpec) => void }) {
  const [confirming, setConfirming] = useState(false);
  const m = props.module;
  if (!isWaitingForApproval(m)) return null;
  const text = m.approval ? approvalText(m.approval) : { waiting: 'waiting for approval', timer: '' };
  const canApprove = roleAllows(props.role, COMMAND_ACCESS.approve);
  const canDeny = roleAllows(props.role, COMMAND_ACCESS.deny);
  const busy = props.progress?.phase === 'running';
  const id = `approve-${props.node}-${m.module}`;
  const approve: ActionSpec = { id: 'approve', label: 'Approve failover', allowed: canApprove, run: () => command(props.node, m.module, 'approve') };
  const deny: ActionSpec = { id: 'deny', label: 'Deny', allowed: canDeny, run: () => command(props.node, m.module, 'deny') };
  return (
    <div class="approval" data-approval={m.approval?.denied ? 'denied' : 'waiting'}>
      <p class="approval-state">
        <span aria-hidden="true">⚠</span> <strong>{text.waiting}</strong>
        {text.timer && <> · {m.approval?.denied ? <strong>{text.timer}</strong> : text.timer}</>}
      </p>
      {(canApprove || canDeny) && !confirming && (
        <div class="row">
          {canApprove && (
            <button type="button" class="danger" data-action="approve" disabled={busy} onClick={() => setConfirming(true)}>
              Approve failover
            </button>
          )}
          {canDeny && (
            <button type="button" data-action="deny" disabled={busy} onClick={() => props.onRun(deny)}>
              Deny
            </button>
          )}
        </div>
      )}
      {confirming && (
        <div class="confirm" role="alertdialog" aria-labelledby={`${id}-title`} aria-describedby={`${id}-risk`}>
          <h3 id={`${id}-title`}>
            Approve the failover of {m.module} to {props.node}?
          </h3>
          <p id={`${id}-risk`} class="risk">
            ⚠ Split-brain risk: {props.node} starts the application with its own copy. If the other site is not really down (only the link between the sites is cut), it may still be serving: both sites then serve and their data diverge. Approve only once you know the other site is stopped.
          </p>
          <div class="row">
            <button
              type="button"
              class="danger"
              autoFocus
              disabled={busy}
              onClick={() => {
                setConfirming(false);
                props.onRun(approve);
              }}
              onKeyDown={(e) => e.key === 'Escape' && setConfirming(false)}
            >
              Yes, approve failover
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
