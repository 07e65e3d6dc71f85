// The module state machine's vocabulary: states, events, effects, persisted record.
// This file is a contract read by the runner (core/module/runner) and the simulation:
// change it only additively.
import type { ErrorCode } from '../../errors/catalogue';
import type { NodeId, PeerModuleView } from '../../membership/pure/types';

// The announcement vocabulary is shared with membership (core/membership/pure/announcement.ts).
export { MIRROR_STATES, FARM_STATES, MODULE_STATE_NAMES, SUB_STATUSES } from '../../membership/pure/announcement';
export type { ModuleMode, MirrorState, FarmState, ModuleStateName, SubStatus, PersistedRole, ModuleAnnouncement } from '../../membership/pure/announcement';
import type { ModuleAnnouncement, ModuleStateName, PersistedRole, SubStatus } from '../../membership/pure/announcement';

export const SCRIPT_NAMES = [
  'prestart',
  'start_prim',
  'stop_prim',
  'start_second',
  'stop_second',
  'start_both',
  'stop_both',
  'poststop',
  'transition',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];


/**
 * What survives a crash. The runner writes it durably (fsync) when it meets a Persist
 * effect, before it performs any later effect of the same step.
 */
export interface PersistedModuleState {
  /** Data generation: +1 whenever a node starts serving alone (takeover or losing its SECOND). */
  readonly epoch: number;
  /** This node knows its copy holds every acknowledged write of `epoch`. */
  readonly copyComplete: boolean;
  readonly lastRole: PersistedRole;
  /** The node serves since it took over from the SECOND role (split-brain tie-break). */
  readonly tookOver: boolean;
  /** Operator override of the policy's failover setting; null = follow the policy. */
  readonly failover: boolean | null;
  /** Start the module when the daemon starts. */
  readonly boot: boolean;
  /** The module was running (not STOP by operator) when this was written. */
  readonly wasStarted: boolean;
  /**
   * Mirror: replication sessions this node's PRIM engine reported connected, ever (announced as
   * `sessions`). A SECOND echoes the count of the view that showed this node serving without a
   * session, which tells this node that view came after its last session (mirror.ts
   * peerNotYetToldAlone). Durable so that the count never repeats across restarts; records of
   * an older version lack it (read as 0).
   */
  readonly sessions: number;
}

export const INITIAL_PERSISTED: PersistedModuleState = {
  epoch: 0,
  copyComplete: false,
  lastRole: 'none',
  tookOver: false,
  failover: null,
  boot: false,
  wasStarted: false,
  sessions: 0,
};

// ---------------------------------------------------------------- operator commands

export type OperatorCommand =
  | { readonly kind: 'start' }
  | { readonly kind: 'stop' }
  | { readonly kind: 'restart' }
  | { readonly kind: 'stopstart' }
  | { readonly kind: 'prim' }
  | { readonly kind: 'second' }
  | { readonly kind: 'swap' }
  | { readonly kind: 'primforce' }
  | { readonly kind: 'failover'; readonly on: boolean }
  | { readonly kind: 'boot'; readonly on: boolean }
  /** Manual failover: let the waiting survivor take over (docs/geo.md). */
  | { readonly kind: 'approve' }
  /** Manual failover: keep the survivor waiting and cancel its approval timer. */
  | { readonly kind: 'deny' };
export type CommandKind = OperatorCommand['kind'];

// ---------------------------------------------------------------- events

/** An operator command; `request_id` comes back in CommandAccepted/Refuse. */
export interface CommandEvent {
  readonly type: 'Command';
  readonly command: OperatorCommand;
  readonly request_id?: string;
}
/** The daemon started this module's machine (after init from the persisted record). */
export interface BootedEvent {
  readonly type: 'Booted';
  /**
   * What a previous daemon of this same boot announced last (its run-dir record), when it
   * died without stopping the module (kill -9, crash, watchdog): the machine adopts it
   * instead of starting from scratch. Absent after a clean stop or a reboot.
   */
  readonly leftover?: LeftoverState;
}
/** The last state a dead daemon announced for a module (docs/architecture.md, "Restart and adoption"). */
export interface LeftoverState {
  readonly state: ModuleStateName;
  readonly status: SubStatus;
  /** Mirror: every FUSE capture mount of the module outlived the dead daemon and can be
   *  served again (docs/adr/0009-fuse-mount-survives-daemon.md). */
  readonly capture_kept?: boolean;
}
/** Full, idempotent view of the peers of this module (from membership). */
export interface PeerViewEvent {
  readonly type: 'PeerView';
  readonly peers: readonly PeerModuleView[];
}
export interface ScriptExitedEvent {
  readonly type: 'ScriptExited';
  readonly run_id: number;
  readonly script: ScriptName;
  /** Exit code; null when killed by a signal. */
  readonly code: number | null;
  readonly timedOut: boolean;
}
export interface TimerFiredEvent {
  readonly type: 'TimerFired';
  readonly id: TimerId;
}
/** Mirror engine: the replication session with the peer is up (either role). */
export interface ReplicationConnectedEvent {
  readonly type: 'ReplicationConnected';
}
/** Mirror engine, on the SECOND: its copy now equals the PRIM's. On the PRIM: the peer is in sync. */
export interface ReplicationSyncedEvent {
  readonly type: 'ReplicationSynced';
}
export interface ReplicationLostEvent {
  readonly type: 'ReplicationLost';
  readonly reason: string;
}
/**
 * Mirror engine, PRIM: its link left SECOND behind (or started without it) and sync calls
 * wait until SECOND can no longer take over with a copy lacking what PRIM writes now (the
 * fence, docs/mirror.md). Answered by ReplicationFence with the same token.
 */
export interface FenceWantedEvent {
  readonly type: 'FenceWanted';
  readonly token: number;
}
/** A checker's verdict on a resource (interface, checker, custom); for failover rules. */
export interface ResourceChangedEvent {
  readonly type: 'ResourceChanged';
  readonly resource: string;
  readonly state: 'up' | 'down' | 'unknown';
}
/** The witness answered a WitnessRequest effect. */
export interface WitnessReplyEvent {
  readonly type: 'WitnessReply';
  readonly request_id: number;
  readonly granted: boolean;
  /** Lease length the witness granted, measured from its receipt of the request. */
  readonly lease_ms: number;
  /** The epoch the witness holds for this module after the request (the new one for a bump). */
  readonly epoch: number;
}

export type ModuleEvent =
  | CommandEvent
  | BootedEvent
  | PeerViewEvent
  | ScriptExitedEvent
  | TimerFiredEvent
  | ReplicationConnectedEvent
  | ReplicationSyncedEvent
  | ReplicationLostEvent
  | FenceWantedEvent
  | ResourceChangedEvent
  | WitnessReplyEvent;

// ---------------------------------------------------------------- effects

/** Timers a module machine sets; each id has at most one pending expiry (SetTimer replaces). */
export type TimerId = 'witness-retry' | 'witness-renew' | 'lease-expiry' | 'restart-delay' | 'peer-wait' | 'approval';

export interface ScriptEnv {
  readonly HAKIT_MODULE: string;
  readonly HAKIT_NODE: string;
  readonly HAKIT_FROM_STATE: ModuleStateName;
  readonly HAKIT_TO_STATE: ModuleStateName;
  readonly HAKIT_ACTION: string;
}

/**
 * Effects, in the order the runner must perform them. Durable effects (Persist) are always
 * emitted before the effects that announce what they record (Announce, SetVip, RunScript
 * start_prim), so performing them in order is enough. The runner performs Persist
 * synchronously (write + fsync + rename) and stops the module if it fails.
 */
export type ModuleEffect =
  | { readonly type: 'Persist'; readonly record: PersistedModuleState }
  /** Start one script; its exit comes back as ScriptExited with the same run_id. `args` is ['force'] on a retry. */
  | { readonly type: 'RunScript'; readonly run_id: number; readonly script: ScriptName; readonly args: readonly string[]; readonly timeout_ms: number; readonly env: ScriptEnv }
  /** Kill every script of this module still running (process group, SIGKILL). */
  | { readonly type: 'KillScripts' }
  /** Desired presence of the module's virtual IPs on this node. */
  | { readonly type: 'SetVip'; readonly present: boolean }
  | { readonly type: 'GratuitousArp' }
  | { readonly type: 'StartReplication'; readonly role: 'sender' | 'receiver' }
  | { readonly type: 'StopReplication' }
  /** PRIM: the peer is lost by the heartbeats: the replication link gives up its session now. */
  | { readonly type: 'ReplicationPeerLost' }
  /** The fence asked for by FenceWanted `token` holds: the PRIM's held sync calls may return. */
  | { readonly type: 'ReplicationFence'; readonly token: number }
  /** The fence asked for by FenceWanted `token` cannot hold (docs/mirror.md, "The ALONE fence":
   *  this node stops while the peer may take over, or serves, without what it lacks): the
   *  PRIM's held sync calls fail now, and later ones at once, instead of holding stop_prim. */
  | { readonly type: 'ReplicationFenceRefused'; readonly token: number; readonly reason: string }
  /** What the heartbeats carry for this module from now on. */
  | { readonly type: 'Announce'; readonly announcement: ModuleAnnouncement }
  | { readonly type: 'SetTimer'; readonly id: TimerId; readonly at_ms: number }
  | { readonly type: 'CancelTimer'; readonly id: TimerId }
  /** Ask the witness for (or renew) the right to serve this module; reply is WitnessReply. */
  /**
   * `epoch` is the epoch this node's copy is complete at; the witness grants only when it is
   * not older than the newest epoch it has granted (so a stale copy never serves), unless
   * `force` (primforce). A live lease of another node is never overridden.
   */
  /**
   * `bump`: the node is about to serve alone and needs a new epoch; the witness assigns one
   * (newest + 1) and returns it in WitnessReply.epoch, so epochs never collide across nodes.
   */
  | { readonly type: 'WitnessRequest'; readonly request_id: number; readonly epoch: number; readonly force: boolean; readonly bump: boolean; readonly lease_ms: number }
  /**
   * Give the lease back. It covers the requests up to this id only: a later request that
   * overtakes the release on the way keeps the lease it was granted.
   */
  | { readonly type: 'WitnessRelease'; readonly up_to_request_id: number }
  /** Farm: the nodes whose module is UP (this node included when it is UP). */
  | { readonly type: 'FarmMembers'; readonly members: readonly NodeId[] }
  | { readonly type: 'Log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly msg: string; readonly code?: ErrorCode }
  | { readonly type: 'CommandAccepted'; readonly command: CommandKind; readonly request_id?: string }
  | { readonly type: 'Refuse'; readonly command: CommandKind; readonly code: ErrorCode; readonly message: string; readonly request_id?: string };


export interface StepResult<S> {
  readonly state: S;
  readonly effects: readonly ModuleEffect[];
}
