// What a node announces about each of its modules in every heartbeat: the wire types shared
// by membership (which carries and checks them) and the module machine (which writes and reads
// them). They live here, below both, so neither layer imports the other's vocabulary for them.
// Change them only additively: peers of another version read them.
export type ModuleMode = 'mirror' | 'farm' | 'light';

export const MIRROR_STATES = ['STOP', 'WAIT', 'ALONE', 'PRIM', 'SECOND'] as const;
export const FARM_STATES = ['STOP', 'WAIT', 'UP'] as const;
export type MirrorState = (typeof MIRROR_STATES)[number];
export type FarmState = (typeof FARM_STATES)[number];
export type ModuleStateName = MirrorState | FarmState;
/** Every state name of either machine (for parsing records). */
export const MODULE_STATE_NAMES: readonly ModuleStateName[] = [...MIRROR_STATES, 'UP'];

/**
 * Transient while scripts run (or a SECOND re-integrates); Ready when settled. Approval: a
 * mirror module with manual failover lost its peer and waits in WAIT for `hakit failover
 * approve` or its timer (docs/geo.md); it is not Ready.
 */
export const SUB_STATUSES = ['NotReady', 'Transient', 'Ready', 'Approval'] as const;
export type SubStatus = (typeof SUB_STATUSES)[number];

/** The role a node persisted last; `none` until it first served or replicated. */
export type PersistedRole = 'none' | 'ALONE' | 'PRIM' | 'SECOND';

/** What a node tells its peers about one module (inside every heartbeat). */
export interface ModuleAnnouncement {
  readonly module: string;
  readonly mode: ModuleMode;
  readonly state: ModuleStateName;
  readonly status: SubStatus;
  /** The application runs or is being started/stopped here (VIP may be present). */
  readonly serving: boolean;
  readonly epoch: number;
  readonly copyComplete: boolean;
  readonly lastRole: PersistedRole;
  readonly tookOver: boolean;
  /** This node stepped down on purpose (swap, defaultprim): its SECOND takes over even with failover off. */
  readonly handover: boolean;
  /** A SECOND in sync asks its PRIM to hand over (swap issued on the SECOND, or defaultprim). */
  readonly wantsPrim: boolean;
  /** The module has been started by its operator (not STOP). */
  readonly started: boolean;
  /**
   * Mirror, the serving node: its replication session with its SECOND is up (from the
   * engine's "connected" to its "lost"). Absent from older peers.
   */
  readonly replicating?: boolean;
  /**
   * Mirror: this node's latest view of its peer shows it serving with no replication session
   * (`replicating` false). A PRIM that left its SECOND behind releases held sync calls on
   * "copy out of date" only from an announcement that says so: an older one may predate an
   * in_sync of the given-up session still on its way (docs/mirror.md, "The ALONE fence").
   * Absent from older peers.
   */
  readonly peerUnreplicatedSeen?: boolean;
  /**
   * Mirror: the node's persisted count of replication sessions (PersistedModuleState.sessions).
   * Absent from older peers.
   */
  readonly sessions?: number;
  /**
   * Mirror, with `peerUnreplicatedSeen` true: the peer's `sessions` in that view. Its PRIM
   * takes the view as news of its session's end only when the count is its own current one:
   * a view from before its last session (one that showed it ALONE before the session came
   * up) may be followed by an in_sync of that session (found by the cluster simulation).
   * Absent from older peers, and when `peerUnreplicatedSeen` is false.
   */
  readonly peerUnreplicatedSession?: number;
}
