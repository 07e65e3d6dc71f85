// Membership's vocabulary: what a decoded, authenticated heartbeat carries, the peer views
// the failure detector keeps, and what it tells the module machines. Contract read by the
// daemon's runner (H6) and the simulation: change it only additively.
import type { ModuleAnnouncement } from './announcement';

export type NodeId = string;
/** Index of a heartbeat LAN in the cluster config (matches the wire format's `lan`). */
export type LanIndex = number;

/** The JSON payload of one heartbeat (the wire codec adds node id, lan, incarnation, seq, MAC). */
export interface HeartbeatPayload {
  /**
   * Grows with every heartbeat a node sends (over all LANs of one incarnation). Heartbeats
   * travel on several LANs with their own seq, so membership keeps the module states of the
   * highest version only: a late packet on a slow LAN never rolls a peer's state back.
   */
  readonly version: number;
  readonly modules: readonly ModuleAnnouncement[];
  /**
   * The silence after which the sender wants to be taken for lost: its own profile's timeout,
   * which its fences are sized by (a farm bucket lease, the ALONE fence: period + lease +
   * margin <= timeout). A peer whose own modules use a faster profile waits at least this long
   * for it, or it would take over what the sender still holds. Absent from older senders.
   */
  readonly lost_after_ms?: number;
}

/** One heartbeat after decoding and authentication (replays already dropped by the wire layer). */
export interface ReceivedHeartbeat {
  readonly from: NodeId;
  readonly lan: LanIndex;
  /** Grows each time the peer's daemon restarts; a new incarnation resets what we knew. */
  readonly incarnation: number;
  readonly seq: number;
  readonly payload: HeartbeatPayload;
}

export interface HeartbeatProfile {
  readonly name: string;
  readonly period_ms: number;
  /** A peer silent on all its LANs for this long is lost. */
  readonly timeout_ms: number;
}

/** Per peer: what this node knows. */
export interface PeerRecord {
  readonly node: NodeId;
  readonly lans: readonly LanIndex[];
  /** last time (local monotonic ms) a heartbeat arrived on each LAN; absent = never. */
  readonly lastHeard_ms: Readonly<Record<number, number>>;
  readonly up: boolean;
  readonly incarnation: number;
  readonly modules: readonly ModuleAnnouncement[];
}

/** What a module machine sees of one peer (PeerViewEvent.peers). */
export interface PeerModuleView {
  readonly node: NodeId;
  /** Heard on at least one LAN within the timeout. */
  readonly reachable: boolean;
  /** The LANs on which the peer was heard within the timeout. */
  readonly lansUp: readonly LanIndex[];
  /** The peer's last announcement for this module; null if it never announced the module. */
  readonly module: ModuleAnnouncement | null;
}

export type MembershipEvent =
  | { readonly type: 'HeartbeatReceived'; readonly heartbeat: ReceivedHeartbeat }
  /** The runner ticks membership every `period_ms` (and may tick more often). */
  | { readonly type: 'Tick' };

export type MembershipEffect =
  | { readonly type: 'PeerUp'; readonly node: NodeId }
  | { readonly type: 'PeerDown'; readonly node: NodeId }
  /** Deliver to module `module` as a PeerViewEvent; emitted only when the view changed. */
  | { readonly type: 'ModuleView'; readonly module: string; readonly peers: readonly PeerModuleView[] }
  | { readonly type: 'Log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly msg: string };
