// How long an aggregated view (the cluster state, the cluster timeline) waits for a peer's
// answer. A peer whose last answer failed is waited for briefly only, until any answer from
// it arrives, even a late one: during a cut of the command LAN every console refresh (and its
// first paint) would otherwise take the full wait, once per view that asks peers.
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
