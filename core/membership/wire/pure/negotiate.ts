// Heartbeat wire version negotiation (docs/architecture.md, "Upgrades"). Every packet of wire
// version 3 or later says, inside its authenticated envelope, the range of versions its sender
// speaks (a version-2 packet speaks 2 only). Each node sends to each peer the highest version
// both speak; to a peer not heard yet it sends its own highest (a peer that cannot read it
// still answers in a version it speaks, and the first authentic packet heard settles it). A
// peer whose range does not overlap ours is reported once per range it announces (a coded
// error, never a crash) and shown by `hakit state -v`; nothing of it is used.
// Only ranges from authentic packets of the peer's newest life count: a packet of an older
// life of the peer (a replay, or its previous version before an upgrade) changes nothing.
// Pure: the transport feeds what it heard and performs the log effects.

export interface WireRange {
  readonly min: number;
  readonly max: number;
}

export interface PeerWire {
  /** The peer life (incarnation) the range was heard from. */
  readonly incarnation: number;
  readonly range: WireRange;
  /** The version we send it: the highest common one; null when there is none. */
  readonly version: number | null;
}

export interface NegotiationState {
  readonly own: WireRange;
  readonly peers: Readonly<Record<string, PeerWire>>;
}

export type NegotiationEffect =
  | { readonly type: 'Log'; readonly level: 'error'; readonly code: 'HAKIT_E_WIRE_INCOMPATIBLE'; readonly node: string; readonly msg: string }
  | { readonly type: 'Log'; readonly level: 'info'; readonly node: string; readonly msg: string };

export interface NegotiationStep {
  readonly state: NegotiationState;
  readonly effects: readonly NegotiationEffect[];
}

export const rangeText = (r: WireRange): string => (r.min === r.max ? `${r.min}` : `${r.min}..${r.max}`);

/** A well-formed range: whole numbers, 1 <= min <= max <= 255 (one byte each on the wire). */
export function isWireRange(r: WireRange): boolean {
  return Number.isInteger(r.min) && Number.isInteger(r.max) && r.min >= 1 && r.min <= r.max && r.max <= 255;
}

/** The highest version both ranges contain, or null when they do not overlap. */
export function commonVersion(own: WireRange, peer: WireRange): number | null {
  const high = Math.min(own.max, peer.max);
  return high >= Math.max(own.min, peer.min) ? high : null;
}

export function initNegotiation(own: WireRange): NegotiationState {
  return { own, peers: {} };
}

/** The version to send `node` now: the negotiated one, else our highest. */
export function sendVersion(state: NegotiationState, node: string): number {
  return state.peers[node]?.version ?? state.own.max;
}

/** An authentic packet of `node` (life `incarnation`) announced `range`. */
export function peerRangeHeard(state: NegotiationState, node: string, incarnation: number, range: WireRange): NegotiationStep {
  const known = state.peers[node];
  if (known !== undefined && incarnation < known.incarnation) return { state, effects: [] };
  if (known !== undefined && known.range.min === range.min && known.range.max === range.max) {
    if (known.incarnation === incarnation) return { state, effects: [] };
    return { state: { ...state, peers: { ...state.peers, [node]: { ...known, incarnation } } }, effects: [] };
  }
  const version = commonVersion(state.own, range);
  const next: PeerWire = { incarnation, range, version };
  const effects: NegotiationEffect[] = [];
  if (version === null) {
    effects.push({
      type: 'Log',
      level: 'error',
      code: 'HAKIT_E_WIRE_INCOMPATIBLE',
      node,
      msg: `node ${node} speaks heartbeat wire version ${rangeText(range)}, this node ${rangeText(state.own)}: no common version, its heartbeats are ignored and it cannot read ours; upgrade the older node (docs/architecture.md, "Upgrades")`,
    });
  } else if (known === undefined || known.version !== version) {
    const was = known?.version === null ? ' (it was incompatible)' : '';
    effects.push({ type: 'Log', level: 'info', node, msg: `node ${node} speaks heartbeat wire version ${rangeText(range)}: using version ${version}${was}` });
  }
  return { state: { ...state, peers: { ...state.peers, [node]: next } }, effects };
}

/** Peers heard with no common version (for `hakit state -v`). */
export function incompatiblePeers(state: NegotiationState): Record<string, WireRange> {
  const out: Record<string, WireRange> = {};
  for (const [node, p] of Object.entries(state.peers)) if (p.version === null) out[node] = p.range;
  return out;
}
