// The in-memory state of one module machine on one node (what a crash loses; the persisted
// record is the part that survives).
import type { NodeId, PeerModuleView } from '../../membership/pure/types';
import type { ModulePolicy } from './policy';
import type { ModuleEffect, ModuleStateName, PersistedModuleState, ScriptName, SubStatus } from './types';

/** One step of a job: a script, or a VIP / ARP / replication change between scripts. */
export type JobStep = ScriptName | 'vip+' | 'vip-' | 'arp' | 'repl-receiver';

/** Scripts (and actions between them) run in order on one edge of the table. */
export interface Job {
  readonly action: string;
  readonly from: ModuleStateName;
  readonly steps: readonly JobStep[];
  readonly index: number;
  /** run_id of the script in flight; null between steps. */
  readonly run_id: number | null;
  /** The script in flight is the retry with `force`. */
  readonly forceTried: boolean;
}

export interface Lease {
  /** Local time after which the lease may have ended at the witness (drift already deducted). */
  readonly until_ms: number;
  /** The epoch the witness recorded with this grant. */
  readonly epoch: number;
  /** A new epoch assigned for serving alone, not yet adopted (becomeAlone adopts it). */
  readonly fresh: boolean;
  /** The witness renewed the lease with this epoch as ours: the application may write. */
  readonly confirmed: boolean;
  /** The request this grant answered: answers to older requests are older news. */
  readonly request_id: number;
}

export interface WitnessRequestInFlight {
  readonly id: number;
  readonly sentAt_ms: number;
  readonly epoch: number;
  readonly bump: boolean;
}

/** Manual failover: the survivor lost its peer and waits for an operator (approval.ts). */
export interface ApprovalWait {
  readonly since_ms: number;
  /** When the timer lets it take over by itself; null: no timer, or cancelled by deny. */
  readonly deadline_ms: number | null;
  /** The operator said deny (it keeps waiting until an approve). */
  readonly denied: boolean;
  /** Who let it take over; null while it waits. */
  readonly approved: 'operator' | 'timer' | null;
}

export interface ModuleMachine {
  readonly node: NodeId;
  readonly policy: ModulePolicy;
  readonly state: ModuleStateName;
  readonly status: SubStatus;
  readonly persisted: PersistedModuleState;
  readonly peers: readonly PeerModuleView[];
  /** The application runs here: from the start_prim/start_both launch to the end of stop_prim/stop_both. */
  readonly app: boolean;
  readonly vip: boolean;
  readonly job: Job | null;
  readonly next_run_id: number;
  /** Times of automatic restarts within loop_interval_ms (maxloop). */
  readonly restarts_ms: readonly number[];
  readonly lease: Lease | null;
  /** The newest request, until answered or witness_renew_ms old (then the next may go). */
  readonly witnessReq: WitnessRequestInFlight | null;
  /** Requests whose grant is still accepted, oldest first (lease.ts MAX_OUTSTANDING_WITNESS_REQUESTS). */
  readonly witnessRecent: readonly WitnessRequestInFlight[];
  readonly lastWitnessRequest_ms: number | null;
  /** The last lease request was refused or unanswered. */
  readonly witnessDenied: boolean;
  readonly next_witness_id: number;
  /** Witness mode: serving alone from now on, waiting for the witness to assign the new epoch. */
  readonly epochBumpPending: boolean;
  /** Mirror PRIM: the engine's FenceWanted token not answered yet (mirror.ts grantFence). */
  readonly fenceWanted: number | null;
  /** Serving because of primforce (the invariant's one exception). */
  readonly forced: boolean;
  readonly replication: 'off' | 'sender' | 'receiver';
  /** SECOND: the mirror engine reported the copy equal to the PRIM's. */
  readonly synced: boolean;
  /** SECOND: a session made this copy complete since the node last became SECOND. Only then
   *  may it take over: a copy complete as of before a restart may lack what the PRIM wrote
   *  after it declared this node lost (mirror.ts stepSecond). */
  readonly followed: boolean;
  /** Serving node: its replication session is up (ReplicationConnected until ReplicationLost
   *  or the replication stops); announced as `replicating`. */
  readonly sessionUp: boolean;
  /** This node was the in-sync SECOND when its PRIM went away: it may still take over. */
  readonly takeoverPending: boolean;
  readonly wantsPrim: boolean;
  readonly handover: boolean;
  readonly pendingStop: boolean;
  readonly pendingStart: boolean;
  /** The operator said `prim` / `primforce`: serve as soon as the peer does not and the witness agrees. */
  readonly primRequested: boolean;
  readonly forceRequested: boolean;
  /** The operator said `second` (needed on a node's first start). */
  readonly secondAllowed: boolean;
  readonly resourcesDown: readonly string[];
  /** When the module last started: it decides alone only after a full heartbeat timeout of listening. */
  readonly startedAt_ms: number;
  readonly splitBrainSeen: boolean;
  /** Manual failover: waiting for (or just given) an approval; null otherwise. */
  readonly approval: ApprovalWait | null;
  /** Serialized last Announce / FarmMembers, to emit them only on change. */
  readonly announced: string;
  readonly farmMembers: string;
}

export function initMachine(node: NodeId, policy: ModulePolicy, persisted: PersistedModuleState): ModuleMachine {
  return {
    node,
    policy,
    state: 'STOP',
    status: 'NotReady',
    persisted,
    peers: [],
    app: false,
    vip: false,
    job: null,
    next_run_id: 1,
    restarts_ms: [],
    lease: null,
    witnessReq: null,
    witnessRecent: [],
    lastWitnessRequest_ms: null,
    witnessDenied: false,
    next_witness_id: 1,
    epochBumpPending: false,
    fenceWanted: null,
    forced: false,
    replication: 'off',
    synced: false,
    followed: false,
    sessionUp: false,
    takeoverPending: false,
    wantsPrim: false,
    handover: false,
    pendingStop: false,
    pendingStart: false,
    primRequested: false,
    forceRequested: false,
    secondAllowed: false,
    resourcesDown: [],
    startedAt_ms: 0,
    splitBrainSeen: false,
    approval: null,
    announced: '',
    farmMembers: '',
  };
}

/** Effects accumulate in order during one step (pure: a local array, returned at the end). */
export type Fx = ModuleEffect[];
