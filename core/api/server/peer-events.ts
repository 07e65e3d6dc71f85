// This node's subscriptions to its peers' events (socket.io clients, signed with the cluster
// key, the peer's certificate verified against the cluster CA). What a peer says about
// itself is relayed to this node's consoles, so one connection sees the whole cluster.
// Reconnects by itself (socket.io-client's back-off); a peer's reachability is an event too.
import { io as connect, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../contract/events';
import { EVENTS_PATH } from '../contract/version';
import type { TlsMaterial } from '../tls/load';
import type { PeerEndpoint } from './backend';
import { signHeaders, H_NONCE, H_SIG, H_TS } from './node-auth';

export const PEER_RECONNECT_MAX_MS = 5_000;

type PeerSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export class PeerEvents {
  private readonly sockets = new Map<string, PeerSocket>();
  private logs = false;

  constructor(
    private readonly me: string,
    private readonly key: Buffer,
    private readonly tls: TlsMaterial,
    private readonly relay: (name: 'state' | 'resource' | 'log' | 'replication' | 'node', payload: unknown) => void,
    private readonly now_ms: () => number = Date.now,
  ) {}

  start(peers: readonly PeerEndpoint[]): void {
    for (const p of peers) {
      const addr = p.addresses[0];
      if (addr === undefined || this.sockets.has(p.node)) continue;
      const host = addr.includes(':') ? `[${addr}]` : addr;
      const s: PeerSocket = connect(`https://${host}:${p.port}`, {
        path: EVENTS_PATH,
        transports: ['websocket'],
        ca: this.tls.ca ?? undefined,
        reconnectionDelayMax: PEER_RECONNECT_MAX_MS,
        // Fresh signature for every (re)connection attempt.
        auth: (cb: (a: object) => void) => {
          const h = signHeaders(this.key, this.me, 'SOCKET', EVENTS_PATH, '', '-', '', this.now_ms());
          cb({ node: this.me, ts: h[H_TS], nonce: h[H_NONCE], sig: h[H_SIG] });
        },
      } as never);
      const own = <T extends { node?: string; line?: { node: string }; status?: { node: string } }>(e: T): boolean => (e.node ?? e.line?.node ?? e.status?.node) === p.node;
      s.on('state', (e) => own(e) && this.relay('state', e));
      s.on('resource', (e) => own(e) && this.relay('resource', e));
      s.on('replication', (e) => own(e) && this.relay('replication', e));
      s.on('log', (e) => own(e) && this.relay('log', e));
      s.on('connect', () => {
        this.relay('node', { node: p.node, reachable: true, at: new Date(this.now_ms()).toISOString() });
        if (this.logs) s.emit('logs:subscribe', { node: p.node });
      });
      s.on('disconnect', () => this.relay('node', { node: p.node, reachable: false, at: new Date(this.now_ms()).toISOString() }));
      this.sockets.set(p.node, s);
    }
  }

  setLogInterest(on: boolean): void {
    if (on === this.logs) return;
    this.logs = on;
    for (const s of this.sockets.values()) if (s.connected) s.emit(on ? 'logs:subscribe' : 'logs:unsubscribe', {} as never);
  }

  close(): void {
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }
}
