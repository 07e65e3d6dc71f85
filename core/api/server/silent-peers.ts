// How long an aggregated view (the cluster state, the cluster timeline) waits for a peer's
// answer. A peer whose last answer failed is waited for briefly only, until any answer from
// it arrives, even a late one: during a cut of the command LAN every console refresh (and its
// first paint) would otherwise take the full wait, once per view that asks peers. A peer the
// heartbeats say is lost (a power cut) gets the brief wait from the first view on.
import type { StateResult } from '../../control/api';
import { HakitError } from '../../errors/catalogue';

/** How long an aggregated view waits for each peer. */
export const AGGREGATE_TIMEOUT_MS = 3_000;
/** How long it waits for a peer that did not answer the last time it was asked. */
export const AGGREGATE_RETRY_TIMEOUT_MS = 500;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new HakitError('HAKIT_E_API_NODE_UNREACHABLE', `no answer within ${ms} ms`, what)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** One per API server, shared by every view that asks the peers. */
export class SilentPeers {
  /** Peers whose last answer failed, and since when (ms, the server's clock). */
  private readonly since = new Map<string, number>();

  constructor(private readonly now_ms: () => number) {}

  /**
   * The heartbeats lost these peers on every LAN, `silent_ms` ago (null: not heard since this
   * daemon started): waited for briefly, as if they had failed to answer. Marked again on
   * every view while the heartbeats say so, even after a late answer cleared the mark: a peer
   * whose API still answers within the brief wait is shown all the same.
   */
  heardLost(peers: ReadonlyMap<string, number | null>): void {
    const now = this.now_ms();
    for (const [node, silent_ms] of peers) if (!this.since.has(node)) this.since.set(node, silent_ms === null ? now : now - silent_ms);
  }

  /** `asked` bounded by the wait this peer gets now; a failure marks it silent. */
  async wait<T>(node: string, asked: Promise<T>): Promise<T> {
    const since = this.since.get(node);
    const wait_ms = since === undefined ? AGGREGATE_TIMEOUT_MS : AGGREGATE_RETRY_TIMEOUT_MS;
    const what = since === undefined ? `node ${node}` : `node ${node}, silent since ${new Date(since).toISOString()}`;
    // Any answer, even late or an error status, shows the peer is back: the next view waits in full.
    asked.then(() => this.since.delete(node), () => undefined);
    try {
      return await withTimeout(asked, wait_ms, what);
    } catch (e) {
      if (!this.since.has(node)) this.since.set(node, this.now_ms());
      throw e;
    }
  }
}

/**
 * The peers this node's heartbeats lost on every LAN, and for how long (ms; null: not heard
 * since hakitd started), from its `state`: a peer counts as lost when every module that
 * names it says so (a node without modules tells nothing).
 */
export function lostByHeartbeats(st: StateResult): Map<string, number | null> {
  const lost = new Map<string, number | null>();
  const heard = new Set<string>();
  for (const m of st.modules) {
    for (const p of m.peers) {
      if (p.reachable) heard.add(p.node);
      else lost.set(p.node, p.silent_ms ?? null);
    }
  }
  for (const node of heard) lost.delete(node);
  return lost;
}
