// The false-failover soak of the failover benchmark (issue 4 item 10), simulated: a healthy
// PRIM + SECOND with a witness, nothing fails, but the network loses packets, the witness
// answers late now and then and timers fire early (a loaded CPU). Nothing may change state.
import type { NodeId } from '../../core/membership/pure/types';
import { setup } from './run';
import { World, type FaultRates } from './world';

/** Lossy and slow but nothing fails: every state change is a false failover. */
export const SOAK_RATES: FaultRates = { loss: 0.1, dup: 0.03, spike: 0.05, maxDelay_ms: 20, witnessLate: 0.1, timerEarly_ms: 20, scriptFail: 0, maxScript_ms: 400 };

export interface SoakResult {
  readonly seed: number;
  /** `node FROM -> TO at t` for every state change during the soak. */
  readonly changes: readonly string[];
  readonly leaseLost: number;
  readonly setupOk: boolean;
}

export function runSoak(seed: number, profile: 'default' | 'fast', soak_ms: number): SoakResult {
  const w = new World({ seed, mode: 'mirror', nodes: 2, witness: true, lans: 2, profile, maxDrift: 0.005 });
  setup(w, 'mirror');
  const setupOk = w.violations.length === 0 && w.converged();
  const states = new Map<NodeId, string>(w.ids.map((id) => [id, w.node(id).machine?.state ?? 'DOWN']));
  const lostBefore = w.codes.get('HAKIT_E_WITNESS_LEASE_LOST') ?? 0;
  const changes: string[] = [];
  w.rates = SOAK_RATES;
  w.runUntil(w.now + soak_ms, () => {
    for (const id of w.ids) {
      const s = w.node(id).machine?.state ?? 'DOWN';
      if (s !== states.get(id)) changes.push(`${id} ${states.get(id)} -> ${s} at ${w.now} ms`);
      states.set(id, s);
    }
    return false;
  });
  return { seed, changes, leaseLost: (w.codes.get('HAKIT_E_WITNESS_LEASE_LOST') ?? 0) - lostBefore, setupOk: setupOk && w.violations.length === 0 };
}
