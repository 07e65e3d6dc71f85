// Marks each peer of a module status with which no heartbeat wire version is in common (for
// `hakit state -v`: such a peer looks silent, and the reason must show). Pure.
import type { ModuleStatus, PeerStatus } from '../../control/api';
import type { WireStatus } from '../../membership/transport/types';
import { rangeText } from '../../membership/wire/pure/negotiate';

export function withPeerWire<T extends ModuleStatus>(status: T, wire: WireStatus | undefined): T {
  if (wire === undefined) return status;
  const peers: PeerStatus[] = status.peers.map((p) => {
    const w = wire.peers[p.node];
    if (w === undefined || w.version !== null) return p;
    return { ...p, wire_incompatible: { peer_versions: rangeText(w.range), own_versions: rangeText(wire.own) } };
  });
  return { ...status, peers };
}
