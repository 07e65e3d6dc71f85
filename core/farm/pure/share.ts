// Which buckets a farm node may accept now (docs/architecture.md, rule 1: pure, no I/O). Two rules keep
// one client from ever being answered by two nodes:
//  - the member list: this node (UP, Ready, not leaving) and every reachable peer that
//    announces UP/Ready without `leaving`. A peer still running start_both is not a member
//    yet: its application cannot answer.
//  - a bucket is taken only when no reachable peer may still hold it. Each node announces the
//    member list its filter applies (`applied`); a peer holds at most the buckets that list
//    gives it. So when ownership moves, the old owner lets go (and announces it) before the
//    new owner takes: new SYNs in the gap are dropped and retried by the client (a gap costs
//    one SYN retransmission), while an overlap would let two nodes answer one handshake.
// A dead peer (unreachable: silent for the heartbeat timeout) holds nothing: every bucket in
// its kernel had a lease shorter than that timeout minus one period and a margin, and its
// daemon stopped renewing when it stopped sending (core/net/pure/fence-timing.ts,
// docs/adr/0005-fencing-by-expiry.md). So its buckets go to the survivors at once. The one
// exception is a peer this node has not listened to for a whole timeout yet (its daemon just
// started): silence proves nothing then, and such a peer may hold any bucket.
import { BUCKET_COUNT, BucketInputError, bucketOwners, type BucketMember, type BucketTable } from '../../../filters/buckets';
import type { PeerModuleView } from '../../membership/pure/types';
import type { ModuleStateName, SubStatus } from '../../module/pure/types';

/** What a farm node adds to its module announcement (an additive heartbeat field). */
export interface FarmWire {
  /** The node is giving its buckets away before it stops its application. */
  readonly leaving: boolean;
  /** Members its loaded filter applies (it holds at most their table's buckets); null: holds none. */
  readonly applied: readonly string[] | null;
}

/** The farm field of a peer's announcement; anything malformed counts as absent. */
export function parseWire(x: unknown): FarmWire | null {
  if (typeof x !== 'object' || x === null) return null;
  const o = x as Record<string, unknown>;
  const applied = o['applied'];
  if (typeof o['leaving'] !== 'boolean') return null;
  if (applied !== null && !(Array.isArray(applied) && applied.every((n) => typeof n === 'string'))) return null;
  return { leaving: o['leaving'], applied: applied as string[] | null };
}

export interface FarmPeer {
  readonly node: string;
  readonly reachable: boolean;
  readonly state: ModuleStateName | null;
  readonly status: SubStatus | null;
  readonly farm: FarmWire | null;
}

export interface FarmShareInput {
  readonly self: string;
  readonly state: ModuleStateName;
  readonly status: SubStatus;
  readonly leaving: boolean;
  readonly peers: readonly FarmPeer[];
  /** `power` of every farm node of the module (from userconfig, identical on every node). */
  readonly powers: Readonly<Record<string, number>>;
  /**
   * True until this node has listened for a whole heartbeat timeout: an unreachable peer may
   * then still be alive and holding buckets. Absent: false.
   */
  readonly listening?: boolean;
}

export interface FarmShare {
  /** Members, sorted. Empty when this node is not serving. */
  readonly members: readonly string[];
  /** Buckets the member table gives this node. */
  readonly assigned: readonly number[];
  /** Of those, the ones no reachable peer may still hold: the filter's owned set. */
  readonly owned: readonly number[];
  /** Buckets the member table gives each member (for `hakit state -v`). */
  readonly counts: Readonly<Record<string, number>>;
  /** Owner of bucket 0 in the member table ('' when no member). */
  readonly default_owner: string;
  /** Node names holding back buckets assigned to this node (waiting for them to let go). */
  readonly waiting_for: readonly string[];
  /** Bad member list (unknown power…): the reason; nothing is owned then. */
  readonly error: string | null;
}

/** A peer's membership view as the share rules read it. */
export function farmPeer(p: PeerModuleView): FarmPeer {
  const a = p.module as (PeerModuleView['module'] & { farm?: unknown }) | null;
  return { node: p.node, reachable: p.reachable, state: a?.state ?? null, status: a?.status ?? null, farm: parseWire(a?.farm) };
}

/** This node counts itself a member only when its application is up and it is not leaving. */
export function selfIsMember(i: Pick<FarmShareInput, 'state' | 'status' | 'leaving'>): boolean {
  return i.state === 'UP' && i.status === 'Ready' && !i.leaving;
}

function peerIsMember(p: FarmPeer): boolean {
  return p.reachable && p.state === 'UP' && p.status === 'Ready' && !(p.farm?.leaving ?? false);
}

export function farmMembers(i: FarmShareInput): string[] {
  const out = i.peers.filter(peerIsMember).map((p) => p.node);
  if (selfIsMember(i)) out.push(i.self);
  return [...new Set(out)].sort();
}

function toMembers(names: readonly string[], powers: Readonly<Record<string, number>>): BucketMember[] {
  return names.map((id) => {
    const power = powers[id];
    if (power === undefined) throw new BucketInputError(`node "${id}" is not a farm node of this module`);
    return { id, power };
  });
}

function bucketsOf(table: BucketTable, node: string): number[] {
  const out: number[] = [];
  table.forEach((owner, b) => {
    if (owner === node) out.push(b);
  });
  return out;
}

const ALL_BUCKETS: ReadonlySet<number> = new Set(Array.from({ length: BUCKET_COUNT }, (_, b) => b));

/** Buckets peer P may still hold: those its announced `applied` list gives it. */
function heldByPeer(p: FarmPeer, powers: Readonly<Record<string, number>>, cache: Map<string, BucketTable | null>, listening: boolean): ReadonlySet<number> {
  if (!p.reachable && listening) return ALL_BUCKETS;
  const applied = p.reachable ? p.farm?.applied : null;
  if (!applied || !applied.includes(p.node)) return new Set();
  const key = [...applied].sort().join(',');
  let table = cache.get(key);
  if (table === undefined) {
    try {
      table = bucketOwners(toMembers(applied, powers));
    } catch {
      table = null; // a list we cannot read: assume the worst, the peer may hold anything
    }
    cache.set(key, table);
  }
  if (table === null) return ALL_BUCKETS;
  return new Set(bucketsOf(table, p.node));
}

const NONE: FarmShare = { members: [], assigned: [], owned: [], counts: {}, default_owner: '', waiting_for: [], error: null };

export function farmShare(i: FarmShareInput): FarmShare {
  const members = farmMembers(i);
  if (!members.includes(i.self)) return { ...NONE, members };
  let table: BucketTable;
  try {
    table = bucketOwners(toMembers(members, i.powers));
  } catch (e) {
    return { ...NONE, members, error: e instanceof Error ? e.message : String(e) };
  }
  const assigned = bucketsOf(table, i.self);
  const cache = new Map<string, BucketTable | null>();
  const blocked = new Set<number>();
  const waiting_for: string[] = [];
  for (const p of i.peers) {
    if (p.node === i.self) continue;
    const held = heldByPeer(p, i.powers, cache, i.listening ?? false);
    let blocks = false;
    for (const b of assigned) {
      if (held.has(b)) {
        blocked.add(b);
        blocks = true;
      }
    }
    if (blocks) waiting_for.push(p.node);
  }
  const owned = assigned.filter((b) => !blocked.has(b));
  const counts: Record<string, number> = {};
  for (const owner of table) counts[owner] = (counts[owner] ?? 0) + 1;
  return { members, assigned, owned, counts, default_owner: table[0] ?? '', waiting_for: waiting_for.sort(), error: null };
}

/** The leaving node may stop its application once no reachable member still applies a list naming it. */
export function peersReleased(self: string, peers: readonly FarmPeer[]): { done: boolean; pending: string[] } {
  const pending = peers.filter((p) => peerIsMember(p) && (p.farm?.applied ?? []).includes(self)).map((p) => p.node);
  return { done: pending.length === 0, pending: pending.sort() };
}
