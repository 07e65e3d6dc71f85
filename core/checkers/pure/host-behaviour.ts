// How the checkers' host (core/checkers/host.ts) behaves in time and what it counts as up,
// as plain values: the what-if world (core/whatif) replays the host with them, so both keep
// one definition.
/** How often the rules see time pass (handle_time, maxloop window). */
export const RULES_TICK_MS = 250;
/** When an errd watch starts, a count out of bounds is confirmed for this long before it is reported. */
export const ERRD_START_GRACE_MS = 1_000;
/** Module states in which a module checker's target counts as up. */
const MODULE_OK_STATES: ReadonlySet<string> = new Set(['ALONE', 'PRIM', 'SECOND', 'UP']);

/** A module checker's verdict on the other module's state: running and settled. */
export function moduleTargetUp(view: { readonly state: string; readonly status: string }): boolean {
  return MODULE_OK_STATES.has(view.state) && view.status === 'Ready';
}
