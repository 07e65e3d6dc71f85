// rise/fall: a target changes state only after `rise` consecutive successes or `fall`
// consecutive failures (keepalived, HAProxy), so one lost packet does not fail a module over.
import type { ResourceState } from '../../rules/pure/types';
import type { RiseFall } from './types';

export const RISEFALL_INIT: RiseFall = { state: 'init', okRun: 0, failRun: 0 };

export function observe(rf: RiseFall, ok: boolean, rise: number, fall: number): RiseFall {
  const okRun = ok ? rf.okRun + 1 : 0;
  const failRun = ok ? 0 : rf.failRun + 1;
  let state = rf.state;
  if (ok && okRun >= rise) state = 'up';
  if (!ok && failRun >= fall) state = 'down';
  return { state, okRun, failRun };
}

/** One resource from its targets' states (see CheckSpec.downWhen). */
export function combine(states: readonly ResourceState[], downWhen: 'any' | 'all'): ResourceState {
  if (states.length === 0) return 'init';
  if (downWhen === 'any') {
    if (states.includes('down')) return 'down';
    return states.every((s) => s === 'up') ? 'up' : 'init';
  }
  if (states.includes('up')) return 'up';
  return states.every((s) => s === 'down') ? 'down' : 'init';
}
