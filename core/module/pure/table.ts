// The transition table: every (from, to) pair a module machine may take, with the triggers
// that cause it. `become` asserts against it; docs/state-machine.md is generated from it.
import { HakitError } from '../../errors/catalogue';
import type { ModuleMode, ModuleStateName } from './types';

export interface TransitionRow {
  readonly from: ModuleStateName;
  readonly to: ModuleStateName;
  /** Why the machine takes this edge (operator command or automatic rule). */
  readonly triggers: readonly string[];
  /** Scripts run on this edge, in order ('vip+' / 'vip-' mark the VIP changes). */
  readonly scripts: readonly string[];
}

export const MIRROR_TABLE: readonly TransitionRow[] = [
  { from: 'STOP', to: 'WAIT', triggers: ['start', 'boot', 'stopstart', 'adopt (hakitd restarted; a serving node runs stop_prim, vip- first)'], scripts: ['prestart'] },
  { from: 'WAIT', to: 'STOP', triggers: ['stop', 'prestart failed', 'maxloop'], scripts: ['poststop'] },
  { from: 'STOP', to: 'ALONE', triggers: ['adopt (hakitd restarted, its capture mount outlived it: application left running, vip+ only)'], scripts: ['vip+'] },
  { from: 'STOP', to: 'PRIM', triggers: ['adopt (hakitd restarted, its capture mount outlived it: application left running, vip+ only)'], scripts: ['vip+'] },
  { from: 'WAIT', to: 'ALONE', triggers: ['prim', 'primforce', 'up-to-date copy', 'failover', 'failover approved (manual failover: operator or timer)'], scripts: ['vip+', 'start_prim'] },
  { from: 'WAIT', to: 'SECOND', triggers: ['second', 'peer serves'], scripts: ['start_second'] },
  { from: 'ALONE', to: 'PRIM', triggers: ['peer became SECOND'], scripts: [] },
  { from: 'PRIM', to: 'ALONE', triggers: ['peer lost or left SECOND'], scripts: [] },
  { from: 'ALONE', to: 'ALONE', triggers: ['restart'], scripts: ['stop_prim', 'start_prim'] },
  { from: 'PRIM', to: 'PRIM', triggers: ['restart'], scripts: ['stop_prim', 'start_prim'] },
  { from: 'SECOND', to: 'SECOND', triggers: ['restart'], scripts: ['stop_second', 'start_second'] },
  { from: 'ALONE', to: 'WAIT', triggers: ['witness lease lost', 'split brain: yield', 'start_prim failed'], scripts: ['stop_prim', 'vip-'] },
  { from: 'PRIM', to: 'WAIT', triggers: ['swap', 'defaultprim', 'witness lease lost', 'split brain: yield', 'start_prim failed'], scripts: ['stop_prim', 'vip-'] },
  { from: 'ALONE', to: 'STOP', triggers: ['stop', 'stopstart', 'maxloop'], scripts: ['stop_prim', 'vip-', 'poststop'] },
  { from: 'PRIM', to: 'STOP', triggers: ['stop', 'stopstart', 'maxloop'], scripts: ['stop_prim', 'vip-', 'poststop'] },
  { from: 'SECOND', to: 'ALONE', triggers: ['failover: peer lost', 'failover: peer stopped', 'swap'], scripts: ['stop_second', 'vip+', 'start_prim'] },
  { from: 'SECOND', to: 'WAIT', triggers: ['peer lost, copy incomplete', 'peer lost, copy not brought up to date since this node rejoined', 'failover off', 'peer lost, manual failover (waits for approval)', 'witness refused', 'start_second failed'], scripts: ['stop_second'] },
  { from: 'SECOND', to: 'STOP', triggers: ['stop', 'stopstart', 'maxloop'], scripts: ['stop_second', 'poststop'] },
];

export const FARM_TABLE: readonly TransitionRow[] = [
  { from: 'STOP', to: 'UP', triggers: ['start', 'boot', 'stopstart', 'adopt (hakitd restarted, application left running: vip+ only)'], scripts: ['prestart', 'start_both'] },
  { from: 'STOP', to: 'WAIT', triggers: ['start while a resource is down', 'adopt'], scripts: ['prestart'] },
  { from: 'UP', to: 'WAIT', triggers: ['resource down', 'start_both failed'], scripts: ['stop_both'] },
  { from: 'WAIT', to: 'UP', triggers: ['resources up'], scripts: ['start_both'] },
  { from: 'UP', to: 'UP', triggers: ['restart'], scripts: ['stop_both', 'start_both'] },
  { from: 'UP', to: 'STOP', triggers: ['stop', 'stopstart', 'maxloop', 'prestart failed'], scripts: ['stop_both', 'poststop'] },
  { from: 'WAIT', to: 'STOP', triggers: ['stop', 'maxloop'], scripts: ['poststop'] },
];

export function tableFor(mode: ModuleMode): readonly TransitionRow[] {
  return mode === 'mirror' ? MIRROR_TABLE : FARM_TABLE;
}

/** Assertion (docs/architecture.md, rule 3): a transition the table cannot produce is a bug. */
export function assertTransition(mode: ModuleMode, from: ModuleStateName, to: ModuleStateName, where: string): void {
  if (!tableFor(mode).some((r) => r.from === from && r.to === to)) {
    throw new HakitError('HAKIT_E_BAD_TRANSITION', `${mode} module cannot go from ${from} to ${to}`, where);
  }
}
