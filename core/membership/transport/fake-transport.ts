// The fake beside the Transport port: an in-memory network for runner and daemon tests.
// Delivery is synchronous-per-tick (queued with setImmediate) and can be cut per pair.
import { DROP_REASONS, type DropCounters, type Heartbeat } from '../wire/codec';
import type { HeartbeatHandler, Transport } from './types';

export class FakeNetwork<P> {
  private readonly members = new Map<string, FakeTransport<P>>();
  private readonly cuts = new Set<string>();
  private readonly lans: number;

  constructor(lans = 1) {
    this.lans = lans;
  }

  join(node_id: string, now_ms: () => number = () => Date.now()): FakeTransport<P> {
    const t = new FakeTransport<P>(this, node_id, now_ms);
    this.members.set(node_id, t);
    return t;
  }

  leave(node_id: string): void {
    this.members.delete(node_id);
  }

  /** Cuts traffic from `a` to `b` on `lan` (both ways unless oneway). */
  cut(a: string, b: string, lan: number, oneway = false): void {
    this.cuts.add(`${a}>${b}@${lan}`);
    if (!oneway) this.cuts.add(`${b}>${a}@${lan}`);
  }

  heal(): void {
    this.cuts.clear();
  }

  /** @internal */
  deliver(from: string, payload: P, seq: number, incarnation: number): void {
    for (let lan = 0; lan < this.lans; lan++) {
      for (const [id, t] of this.members) {
        if (id === from || this.cuts.has(`${from}>${id}@${lan}`)) continue;
        const hb: Heartbeat<P> = { node_id: from, lan, incarnation, seq, payload };
        setImmediate(() => t.receive(hb));
      }
    }
  }
}

export class FakeTransport<P> implements Transport<P> {
  private readonly handlers: HeartbeatHandler<P>[] = [];
  private seq = 0;
  private closed = false;
  readonly sent: P[] = [];

  constructor(
    private readonly network: FakeNetwork<P>,
    readonly node_id: string,
    private readonly now_ms: () => number,
    readonly incarnation = 1,
  ) {}

  async start(): Promise<void> {}

  announce(payload: P): void {
    if (this.closed) return;
    this.sent.push(payload);
    this.network.deliver(this.node_id, payload, ++this.seq, this.incarnation);
  }

  /** @internal */
  receive(hb: Heartbeat<P>): void {
    if (this.closed) return;
    for (const h of this.handlers) h(hb, this.now_ms());
  }

  onHeartbeat(handler: HeartbeatHandler<P>): void {
    this.handlers.push(handler);
  }

  dropCounters(): DropCounters {
    return Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as DropCounters;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.network.leave(this.node_id);
  }
}
