// The ports the API server runs on. The daemon's adapter (core/daemon/api-host.ts) passes
// the control socket's own dispatch as `call`, so a command from the API runs exactly the
// code a command from `hakit` runs. Tests pass a fake.
import type { ClusterNodeInfo } from '../contract/pure/types';
import type { WhatIfCluster } from '../../whatif/pure/types';

export interface ApiBackend {
  readonly node: string;
  readonly cluster_name: string;
  /** Every node of cluster.xml (this one included) and its addresses. */
  nodes(): readonly ClusterNodeInfo[];
  /** One control-socket request (cmd and args as in core/control/api.ts), run in-process. */
  call(cmd: string, args: Record<string, unknown>): Promise<unknown>;
  /** hakitd's log folder: the daemon log, module logs, the audit log. */
  readonly log_dir: string;
  /** The what-if engine's starting point (core/whatif/snapshot.ts); absent or null: not available here. */
  whatif?(): WhatIfCluster | null;
}

/** How this node reaches a peer's API. */
export interface PeerEndpoint {
  readonly node: string;
  /** Tried in order (the peer's addresses on command LANs). */
  readonly addresses: readonly string[];
  readonly port: number;
}

export interface PeerAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** Requests to other nodes' APIs on a user's behalf (signed with the cluster key). */
export interface PeerClient {
  request(node: string, method: string, path: string, body: unknown, user: string, role: string): Promise<PeerAnswer>;
}
