// Adds to each peer of a module status how long ago it was last heard (for `hakit state -v`,
// which must not pass an unreachable peer's last announcement off as its state). Pure.
import type { ModuleStatus, PeerStatus } from '../../control/api';

export interface HeardRecord {
  /** Last heard per LAN (monotonic ms); empty: never heard. */
  readonly lastHeard_ms: Readonly<Record<number, number>>;
}

export function peerSilence_ms(rec: HeardRecord | undefined, now_ms: number): number | null {
  const heard = Object.values(rec?.lastHeard_ms ?? {});
  return heard.length === 0 ? null : Math.max(0, Math.round(now_ms - Math.max(...heard)));
}

export function withPeerSilence<T extends ModuleStatus>(status: T, peers: Readonly<Record<string, HeardRecord>>, now_ms: number): T {
  const out: PeerStatus[] = status.peers.map((p) => ({ ...p, silent_ms: peerSilence_ms(peers[p.node], now_ms) }));
  return { ...status, peers: out };
}
