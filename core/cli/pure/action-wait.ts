// When has an operator action (`hakit start|stop|prim|second|swap`) finished? Pure: the state
// before the command, the state seen now, and whether the module has moved since; the CLI
// polls the daemon and asks this function after each answer.
import type { CommandKind, ModuleMode, ModuleStateName, SubStatus } from '../../module/pure/types';

/** The actions that wait for their end (the others answer when the daemon accepts them). */
export const WAITING_ACTIONS: ReadonlySet<CommandKind> = new Set(['start', 'stop', 'prim', 'second', 'swap']);

/** `hakit start|stop|prim|second|swap` exit codes beyond 0 (reached), 1 (refused), 2 (usage). */
export const ACTION_EXIT_OTHER_STATE = 3;
export const ACTION_EXIT_TIMEOUT = 4;

export interface Observed {
  readonly state: ModuleStateName;
  readonly status: SubStatus;
}

export type Progress =
  | { readonly kind: 'waiting' }
  | { readonly kind: 'reached' }
  /** Settled in a state the action does not lead to (a script failed, the peer refused...). */
  | { readonly kind: 'other'; readonly why: string };

/** The states that end the action successfully. */
export function targetStates(kind: CommandKind, mode: ModuleMode, before: ModuleStateName): readonly ModuleStateName[] {
  switch (kind) {
    case 'stop':
      return ['STOP'];
    case 'start':
      return mode === 'mirror' ? ['PRIM', 'SECOND', 'ALONE'] : ['UP']; // farm and light: STOP|WAIT|UP
    case 'prim':
      return ['PRIM', 'ALONE'];
    case 'second':
      return ['SECOND'];
    case 'swap':
      return before === 'PRIM' ? ['SECOND'] : before === 'SECOND' ? ['PRIM', 'ALONE'] : [];
    default:
      return [];
  }
}

/**
 * A started module may settle in WAIT (a mirror node waiting for its peer or for `hakit prim`,
 * a farm node waiting for a resource). WAIT is also a short step on the way to SECOND, so
 * `start` ends in WAIT only once WAIT has held this long.
 */
export const WAIT_STABLE_MS = 3_000;

/**
 * Progress of an action. `moved`: the module was seen in another state or in a transition
 * since the command (a settled state seen before it moved may be the state before the
 * command). `waitStable_ms`: how long the module has been seen settled in WAIT without a break.
 * For prim/second/swap a settled WAIT is a step on the way, never an end.
 */
export function actionProgress(kind: CommandKind, mode: ModuleMode, before: Observed, now: Observed, moved: boolean, waitStable_ms = 0): Progress {
  const targets = targetStates(kind, mode, before.state);
  const settled = now.status !== 'Transient';
  if (!settled) return { kind: 'waiting' };
  if (targets.includes(now.state)) {
    // A swap ends in the other role: PRIM -> SECOND is never the state before the command.
    return kind !== 'swap' || moved ? { kind: 'reached' } : { kind: 'waiting' };
  }
  if (now.state === 'WAIT') return kind === 'start' && moved && waitStable_ms >= WAIT_STABLE_MS ? { kind: 'reached' } : { kind: 'waiting' };
  if (!moved) return { kind: 'waiting' };
  return { kind: 'other', why: `${now.state} (${now.status}), wanted ${targets.join('|') || 'a role this action cannot give here'}` };
}

/** True when `now` differs from `before` (state, or the sub-status went through a transition). */
export function hasMoved(before: Observed, now: Observed): boolean {
  return now.state !== before.state || now.status === 'Transient' || (now.status !== before.status);
}
