// Membership after cluster.xml or the hosted modules changed at runtime (a node joined, a
// module was installed): peers still configured keep what was heard of them (so no running
// module sees its peer vanish), new peers start unheard, removed ones are forgotten, and
// every module's view is sent again on the next step.
import type { MembershipConfig, MembershipState, PeerState } from './membership';

export function reconfigureMembership(state: MembershipState, config: MembershipConfig): MembershipState {
  const peers: Record<string, PeerState> = {};
  for (const p of config.peers) {
    const old = state.peers[p.node];
    peers[p.node] = old !== undefined ? { ...old, lans: p.lans } : { node: p.node, lans: p.lans, lastHeard_ms: {}, up: false, incarnation: -1, version: -1, modules: [] };
  }
  return { config, peers, sentViews: {} };
}
