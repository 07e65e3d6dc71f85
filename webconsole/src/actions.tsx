// Operator actions on one module of one node, offered only to roles the API allows (it refuses
// the others anyway). A running action shows "running…" and then its result in a live region.
// Force start (primforce) needs the module's name typed, after saying what data it may lose.
import { useRef, useState } from 'preact/hooks';
import { COMMAND_ACCESS, routeById } from '../../core/api/contract/routes';
import { roleAllows, type Role } from '../../core/api/contract/pure/roles';
import type { CommandOutcome, ModuleCommandKind, ModuleOnNode } from '../../core/api/contract/pure/types';
import { api, ApiError, enc } from './api';

export interface ActionSpec {
  readonly id: string;
  readonly label: string;
  readonly run: () => Promise<unknown>;
  readonly allowed: boolean;
  readonly dangerous?: boolean;
}

export type ActionProgress = { readonly what: string; readonly phase: 'running' | 'ok' | 'failed'; readonly message: string };

function command(node: string, module: string, kind: ModuleCommandKind, on?: boolean): Promise<CommandOutcome> {
  return api<CommandOutcome>('POST', `/nodes/${enc(node)}/modules/${enc(module)}/commands`, on === undefined ? { kind } : { kind, on });
}

export function actionsFor(role: Role, node: string, m: ModuleOnNode): ActionSpec[] {
  const can = (k: ModuleCommandKind): boolean => roleAllows(role, COMMAND_ACCESS[k]);
  const monitorRoute = routeById('monitor-switch');
  const canSwitch = monitorRoute !== undefined && roleAllows(role, monitorRoute.access);
  const c = (kind: ModuleCommandKind, label: string, on?: boolean): ActionSpec => ({ id: on === undefined ? kind : `${kind}-${on ? 'on' : 'off'}`, label, allowed: can(kind), run: () => command(node, m.module, kind, on) });
  const sw = (on: boolean): ActionSpec => ({
    id: `checkers-${on ? 'on' : 'off'}`,
    label: `Checkers ${on ? 'on' : 'off'}`,
    allowed: canSwitch,
    run: () => api('PUT', `/nodes/${enc(node)}/modules/${enc(m.module)}/monitor`, { what: 'checkers', on }),
  });
  const list: ActionSpec[] = [c('start', 'Start'), c('stop', 'Stop'), c('restart', 'Restart')];
  if (m.mode === 'mirror') list.push(c('prim', 'Prim'), c('second', 'Second'), c('swap', 'Swap'));
  // Each switch offers the change from its current state; checkers both ways when the node did not say.
  list.push(c('failover', m.failover ? 'Failover off' : 'Failover on', !m.failover), c('boot', m.boot ? 'Boot off' : 'Boot on', !m.boot));
  if (m.checkers === undefined) list.push(sw(false), sw(true));
  else list.push(sw(!m.checkers));
  if (m.mode === 'mirror') list.push({ ...c('primforce', 'Force start…'), dangerous: true });
  return list.filter((a) => a.allowed);
}

export function ActionMenu(props: { node: string; module: ModuleOnNode; role: Role; progress: ActionProgress | undefined; onRun: (a: ActionSpec) => void }) {
  const acts = actionsFor(props.role, props.node, props.module);
  const [confirming, setConfirming] = useState<ActionSpec | null>(null);
  const details = useRef<HTMLDetailsElement>(null);
  if (acts.length === 0) return null;
  const id = `${props.node}-${props.module.module}`;
  return (
    <div class="actions">
      <details ref={details}>
        <summary aria-label={`Actions for ${props.module.module} on ${props.node}`}>Actions ▾</summary>
        <ul class="action-list">
          {acts.map((a) => (
            <li key={a.id}>
              <button
                type="button"
                class={a.dangerous ? 'danger' : ''}
                data-action={a.id}
                disabled={props.progress?.phase === 'running'}
                onClick={() => {
                  if (a.dangerous) return setConfirming(a);
                  if (details.current) details.current.open = false;
                  props.onRun(a);
                }}
              >
                {a.label}
              </button>
            </li>
          ))}
        </ul>
      </details>
      {confirming && (
        <ForceStartConfirm
          id={id}
          node={props.node}
          module={props.module.module}
          onCancel={() => setConfirming(null)}
          onConfirm={() => {
            const a = confirming;
            setConfirming(null);
            if (details.current) details.current.open = false;
            props.onRun(a);
          }}
        />
      )}
      <p class={`progress ${props.progress?.phase ?? ''}`} role="status" aria-live="polite">
        {props.progress && (props.progress.phase === 'running' ? `⏳ ${props.progress.what} running…` : `${props.progress.phase === 'ok' ? '✔' : '✖'} ${props.progress.what}: ${props.progress.message}`)}
      </p>
    </div>
  );
}

function ForceStartConfirm(props: { id: string; node: string; module: string; onCancel: () => void; onConfirm: () => void }) {
  const [typed, setTyped] = useState('');
  const inputId = `force-${props.id}`;
  return (
    <div class="confirm" role="alertdialog" aria-labelledby={`${inputId}-title`} aria-describedby={`${inputId}-risk`}>
      <h3 id={`${inputId}-title`}>Force start {props.module} on {props.node}?</h3>
      <p id={`${inputId}-risk`} class="risk">
        ⚠ Data-loss risk: {props.node} becomes PRIM with its own copy even if it is not up to date. Every change written on the other node since this copy was last in sync is lost.
      </p>
      <label for={inputId}>Type the module name ({props.module}) to confirm</label>
      <input id={inputId} value={typed} autoFocus onInput={(e) => setTyped((e.target as HTMLInputElement).value)} onKeyDown={(e) => e.key === 'Escape' && props.onCancel()} />
      <div class="row">
        <button type="button" class="danger" disabled={typed !== props.module} onClick={props.onConfirm}>
          Force start
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

/** Runs an action, reporting progress and its result (the API's coded error when it fails). */
export async function runAction(a: ActionSpec, report: (p: ActionProgress) => void): Promise<void> {
  report({ what: a.label, phase: 'running', message: '' });
  try {
    const out = (await a.run()) as Partial<CommandOutcome> | null;
    if (out && out.ok === false) report({ what: a.label, phase: 'failed', message: out.error ? `${out.error.message} (${out.error.code})` : 'failed' });
    else report({ what: a.label, phase: 'ok', message: 'done' });
  } catch (e) {
    report({ what: a.label, phase: 'failed', message: e instanceof ApiError ? `${e.message} (${e.code})` : String(e) });
  }
}
