// A module machine in the state a node announces now, settled (no script running), so the
// what-if world starts from the cluster as it is instead of from a cold start. Only what the
// announcement carries is known; the rest takes the value a settled machine in that state
// has (docs/whatif.md lists what this assumes).
import { initMachine, type ModuleMachine } from '../../module/pure/machine-state';
import type { ModulePolicy } from '../../module/pure/policy';
import { INITIAL_PERSISTED, type ModuleAnnouncement, type PersistedModuleState, type PersistedRole } from '../../module/pure/types';

/** Far enough back that a seeded WAIT has listened for a whole timeout already. */
const STARTED_LONG_AGO_MS = 3_600_000;

function lastRoleOf(a: ModuleAnnouncement): PersistedRole {
  return a.lastRole;
}

function persistedOf(policy: ModulePolicy, a: ModuleAnnouncement, failover: boolean | null): PersistedModuleState {
  return {
    epoch: a.epoch,
    copyComplete: a.copyComplete,
    lastRole: lastRoleOf(a),
    tookOver: a.tookOver,
    failover: failover === null || failover === policy.failover ? null : failover,
    boot: false,
    wasStarted: a.started,
    sessions: a.sessions ?? 0,
  };
}

export interface SeedOptions {
  readonly now_ms: number;
  /** The witness lease a serving node holds now (its own clock), when a witness is configured. */
  readonly lease_until_ms: number;
}

export function seedMachine(node: string, policy: ModulePolicy, a: ModuleAnnouncement | null, failover: boolean | null, o: SeedOptions): ModuleMachine {
  const base = initMachine(node, policy, a === null ? INITIAL_PERSISTED : persistedOf(policy, a, failover));
  if (a === null || a.state === 'STOP') return base;
  const serving = a.state === 'ALONE' || a.state === 'PRIM';
  const farmUp = policy.mode !== 'mirror' && a.state === 'UP';
  const m: ModuleMachine = {
    ...base,
    state: a.state,
    status: a.status === 'Transient' && a.state !== 'SECOND' ? 'Ready' : a.status,
    app: serving || farmUp,
    vip: serving || (farmUp && policy.mode === 'farm'),
    replication: policy.mode !== 'mirror' ? 'off' : a.state === 'PRIM' ? 'sender' : a.state === 'SECOND' ? 'receiver' : 'off',
    synced: a.state === 'SECOND' && a.status === 'Ready' && a.copyComplete,
    // A complete SECOND got there through a session, nearly always this one (the announcement
    // cannot tell one that rejoined after a restart and was not brought up to date yet).
    followed: a.state === 'SECOND' && a.copyComplete,
    sessionUp: a.state === 'PRIM' && a.replicating !== false,
    wantsPrim: a.wantsPrim,
    startedAt_ms: o.now_ms - STARTED_LONG_AGO_MS,
    // A WAIT node left by a failover-off or a refused witness keeps its right to take over.
    takeoverPending: a.state === 'WAIT' && a.copyComplete && a.lastRole === 'SECOND',
  };
  if (!policy.hasWitness || !serving) return m;
  return {
    ...m,
    lease: { until_ms: o.lease_until_ms, epoch: a.epoch, fresh: false, confirmed: true, request_id: 0 },
    lastWitnessRequest_ms: o.now_ms,
  };
}
