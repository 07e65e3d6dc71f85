// What `hakit state`, `nagios`, `collect` and the API report of a mirror module: the machine's
// state corrected by the replication link's real state (issue 15 item 1). The machine stays
// PRIM while its engine tries to reach the SECOND (a link blip must not restart anything),
// but a PRIM whose link is down replicates nothing: monitoring must say ALONE. On the SECOND,
// a peer announcing PRIM while no session from it is up is reported ALONE too (the SECOND is
// the only place that PRIM could replicate to). Pure.
import type { ModuleStatus } from '../../control/api';

export type LinkState = 'up' | 'down';

export function reportedStatus(s: ModuleStatus, link: LinkState | null): ModuleStatus {
  if (s.mode !== 'mirror' || link === null) return s;
  if (s.state === 'PRIM' && link === 'down') return { ...s, state: 'ALONE', replication: link };
  if (s.state === 'SECOND' && link === 'down') {
    return { ...s, replication: link, peers: s.peers.map((p) => (p.state === 'PRIM' ? { ...p, state: 'ALONE' } : p)) };
  }
  return { ...s, replication: link };
}
