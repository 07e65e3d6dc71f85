// The Transport port (docs/architecture.md, rule 5): sends this node's heartbeat on every LAN to every
// peer, delivers the authenticated heartbeats of peers. Contract:
//  - `announce(payload)` records the payload to send from now on and sends it at once on
//    every LAN (so a state change is heard without waiting for the next period);
//  - every `period_ms` the last payload is sent again on every LAN;
//  - handlers get only authenticated, fresh heartbeats; a bad packet is counted, never thrown;
//  - each peer is sent the highest wire version both speak (core/membership/wire/pure/negotiate.ts);
//    a peer with none in common is reported (HAKIT_E_WIRE_INCOMPATIBLE, `wireStatus()`), never used;
//  - `close()` releases every socket and timer; afterwards nothing is sent or delivered.
import type { DropCounters, Heartbeat } from '../wire/codec';
import type { WireRange } from '../wire/pure/negotiate';

export interface LanPeer {
  readonly node_id: string;
  readonly address: string;
  /** The peer's heartbeat port on this LAN (cluster.xml gives one per node per LAN). */
  readonly port: number;
}

export interface LanConfig {
  /** Index of the LAN in cluster.xml order; carried in (and checked against) every packet. */
  readonly index: number;
  /** This node's own address on the LAN; the socket binds to it. */
  readonly local_address: string;
  /** The port this node's socket binds to on this LAN. */
  readonly port: number;
  readonly peers: readonly LanPeer[];
}

export type HeartbeatHandler<P> = (heartbeat: Heartbeat<P>, received_at_ms: number) => void;

/** What the transport negotiated with one peer (wire/pure/negotiate.ts). */
export interface PeerWireStatus {
  /** The versions the peer announced. */
  readonly range: WireRange;
  /** The version sent to it; null: no version in common (its heartbeats are ignored). */
  readonly version: number | null;
}

export interface WireStatus {
  /** The versions this node speaks. */
  readonly own: WireRange;
  /** Peers heard so far. */
  readonly peers: Readonly<Record<string, PeerWireStatus>>;
}

export interface Transport<P> {
  start(): Promise<void>;
  announce(payload: P): void;
  onHeartbeat(handler: HeartbeatHandler<P>): void;
  dropCounters(): DropCounters;
  /** Wire versions negotiated with each peer heard (optional: fakes speak no wire). */
  wireStatus?(): WireStatus;
  close(): Promise<void>;
}
