// The failure detector and view keeper: per peer per LAN last-heard time; a peer is lost only
// when silent on ALL its LANs for the profile's timeout. Each module machine gets the view of
// its peers whenever it changes (a PeerView event), never a stale rollback (payload version).
import type { ModuleAnnouncement } from './announcement';
import type { HeartbeatProfile, LanIndex, MembershipEffect, MembershipEvent, NodeId, PeerModuleView, ReceivedHeartbeat } from './types';

export interface MembershipConfig {
  readonly self: NodeId;
  readonly profile: HeartbeatProfile;
  /**
   * `timeout_ms`: this peer's own silence timeout, when it differs from the profile's (a peer
   * on another site is timed with at least the `wan` profile, docs/geo.md).
   */
  readonly peers: readonly { readonly node: NodeId; readonly lans: readonly LanIndex[]; readonly timeout_ms?: number }[];
  /** The modules of this node and the nodes each runs on. */
  readonly modules: readonly { readonly module: string; readonly nodes: readonly NodeId[] }[];
}

export interface PeerState {
  readonly node: NodeId;
  readonly lans: readonly LanIndex[];
  readonly lastHeard_ms: Readonly<Record<number, number>>;
  readonly up: boolean;
  readonly incarnation: number;
  readonly version: number;
  readonly modules: readonly ModuleAnnouncement[];
  /** The silence the peer last asked to be waited for before it is lost (HeartbeatPayload). */
  readonly lost_after_ms?: number;
}

export interface MembershipState {
  readonly config: MembershipConfig;
  readonly peers: Readonly<Record<NodeId, PeerState>>;
  /** Last view sent per module, serialized, to emit ModuleView only on change. */
  readonly sentViews: Readonly<Record<string, string>>;
}

export interface MembershipStep {
  readonly state: MembershipState;
  readonly effects: readonly MembershipEffect[];
}

export function initMembership(config: MembershipConfig): MembershipState {
  const peers: Record<NodeId, PeerState> = {};
  for (const p of config.peers) {
    peers[p.node] = { node: p.node, lans: p.lans, lastHeard_ms: {}, up: false, incarnation: -1, version: -1, modules: [] };
  }
  return { config, peers, sentViews: {} };
}

export function membershipStep(state: MembershipState, event: MembershipEvent, now_ms: number): MembershipStep {
  let peers = state.peers;
  if (event.type === 'HeartbeatReceived') {
    const updated = absorb(state, event.heartbeat, now_ms);
    if (updated === null) return { state, effects: [] };
    peers = { ...peers, [updated.node]: updated };
  }
  return refresh({ ...state, peers }, now_ms);
}

/** The peer record after one heartbeat, or null when the sender is not a configured peer. */
function absorb(state: MembershipState, hb: ReceivedHeartbeat, now_ms: number): PeerState | null {
  const peer = state.peers[hb.from];
  if (peer === undefined || !peer.lans.includes(hb.lan)) return null;
  if (hb.incarnation < peer.incarnation) return null; // a packet from a previous life of the peer
  const lastHeard_ms = { ...peer.lastHeard_ms, [hb.lan]: now_ms };
  const newLife = hb.incarnation > peer.incarnation;
  const newer = newLife || hb.payload.version > peer.version;
  return {
    ...peer,
    lastHeard_ms,
    incarnation: hb.incarnation,
    version: newer ? hb.payload.version : peer.version,
    modules: newer ? hb.payload.modules : peer.modules,
    lost_after_ms: newer ? hb.payload.lost_after_ms : peer.lost_after_ms,
  };
}

export function lansUp(peer: PeerState, timeout_ms: number, now_ms: number): LanIndex[] {
  return peer.lans.filter((lan) => {
    const t = peer.lastHeard_ms[lan];
    return t !== undefined && now_ms - t < timeout_ms;
  });
}

/** The silence after which this peer counts as lost: its own (another site) or the profile's,
 *  and never less than the peer asked for (its fences are sized by its own profile). */
export function peerTimeout(config: MembershipConfig, node: NodeId, peer?: PeerState): number {
  const ours = config.peers.find((p) => p.node === node)?.timeout_ms ?? config.profile.timeout_ms;
  return Math.max(ours, peer?.lost_after_ms ?? 0);
}

function refresh(state: MembershipState, now_ms: number): MembershipStep {
  const effects: MembershipEffect[] = [];
  const peers: Record<NodeId, PeerState> = {};
  for (const [node, peer] of Object.entries(state.peers)) {
    const timeout_ms = peerTimeout(state.config, node, peer);
    const up = lansUp(peer, timeout_ms, now_ms).length > 0;
    if (up !== peer.up) {
      effects.push({ type: up ? 'PeerUp' : 'PeerDown', node });
      effects.push({ type: 'Log', level: up ? 'info' : 'warn', msg: up ? `peer ${node} is up` : `peer ${node} lost: silent on all LANs for ${timeout_ms} ms` });
    }
    peers[node] = up === peer.up ? peer : { ...peer, up };
  }
  const sentViews: Record<string, string> = { ...state.sentViews };
  for (const m of state.config.modules) {
    const view = moduleView({ ...state, peers }, m.module, m.nodes, now_ms);
    const key = JSON.stringify(view);
    if (sentViews[m.module] !== key) {
      sentViews[m.module] = key;
      effects.push({ type: 'ModuleView', module: m.module, peers: view });
    }
  }
  return { state: { ...state, peers, sentViews }, effects };
}

export function moduleView(state: MembershipState, module: string, nodes: readonly NodeId[], now_ms: number): PeerModuleView[] {
  const view: PeerModuleView[] = [];
  for (const node of nodes) {
    if (node === state.config.self) continue;
    const peer = state.peers[node];
    if (peer === undefined) {
      view.push({ node, reachable: false, lansUp: [], module: null });
      continue;
    }
    view.push({
      node,
      reachable: peer.up,
      lansUp: lansUp(peer, peerTimeout(state.config, node, peer), now_ms),
      module: peer.modules.find((a) => a.module === module) ?? null,
    });
  }
  return view;
}
