// Ports the module runner needs besides scripts and VIPs, with the stand-ins used until the
// real subsystems exist (docs/architecture.md, rule 5).

/** The mirror engine, as the runner drives it. Results come back through `report`. */
export interface ReplicationPort {
  start(role: 'sender' | 'receiver', report: (e: ReplicationReport) => void): void;
  stop(): void;
  /**
   * Optional lifecycle hooks around the module's scripts (the mirror engine: the capture must
   * be mounted before start_prim lets the application write, and unmounted only after
   * stop_prim ended). The runner waits for them; a rejected beforeScript fails the script.
   */
  beforeScript?(script: string): Promise<void>;
  afterScript?(script: string): Promise<void>;
  /** Releases everything (mounts, sockets) when the runner is disposed. */
  dispose?(): Promise<void>;
  /**
   * Mirror PRIM, the fence (docs/mirror.md): `want` is called whenever the engine holds sync
   * calls until SECOND can no longer take over without them (set once, by the runner, for the
   * port's whole life: the fence is wanted also while replication reporting is off, e.g.
   * during stop_prim); `fenced(token)` answers the `want` of that token, or
   * `fenceRefused(token, reason)` when the fence cannot hold (held sync calls fail).
   */
  onFenceWanted?(want: (token: number) => void): void;
  fenced?(token: number): void;
  fenceRefused?(token: number, reason: string): void;
  /** Mirror PRIM: the peer is lost by the heartbeats; the link gives up its session at once. */
  peerLost?(): void;
}
export type ReplicationReport = { readonly type: 'ReplicationConnected' } | { readonly type: 'ReplicationSynced' } | { readonly type: 'ReplicationLost'; readonly reason: string };

/**
 * A module without replicated directories (or before the mirror engine is wired): there is
 * nothing to copy, so the session is up and in sync as soon as it starts.
 */
export class NothingToReplicate implements ReplicationPort {
  start(_role: 'sender' | 'receiver', report: (e: ReplicationReport) => void): void {
    setImmediate(() => {
      report({ type: 'ReplicationConnected' });
      report({ type: 'ReplicationSynced' });
    });
  }
  stop(): void {}
}

export interface WitnessGrant {
  readonly granted: boolean;
  readonly lease_ms: number;
  /** The epoch the witness holds for the module after the request (the new one for a bump). */
  readonly epoch: number;
}

export interface WitnessAsk {
  readonly request_id: number;
  readonly epoch: number;
  readonly force: boolean;
  readonly bump: boolean;
  /** The lease length the node asks for (policy.witness_lease_ms); the witness may grant less. */
  readonly lease_ms?: number;
}

/** The split-brain witness client. `request` rejects when the witness does not answer in time. */
export interface WitnessPort {
  request(module: string, ask: WitnessAsk): Promise<WitnessGrant>;
  /** Gives the lease back, for requests up to `up_to_request_id` (a later request keeps its grant). */
  release(module: string, up_to_request_id?: number): void;
}

/** No witness configured or reachable: every request is refused (the safe answer). */
export class NoWitness implements WitnessPort {
  async request(_module: string, ask: WitnessAsk): Promise<WitnessGrant> {
    return { granted: false, lease_ms: 0, epoch: ask.epoch };
  }
  release(): void {}
}
