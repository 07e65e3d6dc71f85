// hakitd's API server: HTTPS only (TLS 1.2+), express routes and socket.io events on one
// port. Bounded: connections in total and per client address, header and request times,
// body size (app.ts), event clients (socket-events.ts). Plain HTTP on the port fails the TLS
// handshake: there is no HTTP listener to fall back to.
import https from 'node:https';
import type net from 'node:net';
import type { LogSink } from '../../log/sink';
import { buildOpenApi } from '../contract/openapi';
import type { AuditLog } from '../audit';
import type { TlsMaterial } from '../tls/load';
import { buildMetrics } from '../pure/metrics-build';
import { renderMetrics } from '../pure/metrics-text';
import { UsersRuntime } from '../users/runtime';
import { buildApp } from './app';
import { SessionStore, type AuthDeps } from './auth';
import type { ApiBackend, PeerClient, PeerEndpoint } from './backend';
import { EventHub, EVENT_POLL_MS } from './event-hub';
import { makeHandlers, type HandlerDeps } from './handlers';
import { homePage } from './home';
import { NonceCache } from './node-auth';
import { HttpsPeerClient } from './peers';
import { PeerEvents } from './peer-events';
import { SocketEvents } from './socket-events';

export const MAX_API_CONNECTIONS = 1024;
export const MAX_CONNECTIONS_PER_ADDRESS = 128;
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 30_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
export const MAX_HEADER_BYTES = 16 * 1024;
export const TIMEOUT_CHECK_MS = 1_000;

export interface ApiServerOptions {
  readonly backend: ApiBackend;
  readonly conf_dir: string;
  readonly tls: TlsMaterial;
  readonly host: string;
  /** 0: any free port (tests). */
  readonly port: number;
  /** The cluster key signs inter-node calls; null: no peer is trusted (a lone test node). */
  readonly cluster_key: Buffer | null;
  readonly peers: () => readonly PeerEndpoint[];
  readonly audit: AuditLog;
  readonly log: LogSink;
  readonly product_version: string;
  readonly heartbeat_drops?: () => Readonly<Record<string, number>> | null;
  readonly now_ms?: () => number;
  readonly poll_ms?: number;
  /** Replaces the HTTPS peer client (tests). */
  readonly peer_client?: PeerClient;
  /** Subscribe to the peers' events (off in single-node tests). */
  readonly relay_peers?: boolean;
  /** The module store's HAKIT_CONF_DIR/HAKIT_STATE_DIR (Configuration routes); default: process.env with conf_dir. */
  readonly module_env?: NodeJS.ProcessEnv;
  /** Replaces the push of packages to peers' config services (tests). */
  readonly push_module?: HandlerDeps['push_module'];
}

export class ApiServer {
  readonly sessions: SessionStore;
  readonly hub: EventHub;
  readonly users: UsersRuntime;
  private server: https.Server | undefined;
  private events: SocketEvents | undefined;
  private peerEvents: PeerEvents | undefined;
  private readonly peerClient: PeerClient | null;
  private readonly answers = new Map<number, number>();
  private readonly perAddress = new Map<string, number>();
  /** Every raw connection, handshakes included, so that close() ends them all. */
  private readonly sockets = new Set<net.Socket>();
  private readonly started_ms = Date.now();

  constructor(private readonly o: ApiServerOptions) {
    const now = o.now_ms ?? Date.now;
    this.sessions = new SessionStore(now);
    this.hub = new EventHub(o.backend, o.log, now, o.poll_ms ?? EVENT_POLL_MS);
    this.peerClient = o.peer_client ?? (o.cluster_key ? new HttpsPeerClient(o.backend.node, o.cluster_key, o.peers, o.tls, now) : null);
    this.users = new UsersRuntime(o.conf_dir, o.log, this.peerClient, () => o.peers().map((p) => p.node), now);
  }

  private authDeps(): AuthDeps {
    return {
      sessions: this.sessions,
      users: () => this.users.get(),
      cluster_key: this.o.cluster_key,
      // Any cluster node, this one too: root on this node signs `hakit -H` calls with the cluster key.
      isPeer: (n) => this.o.backend.nodes().some((x) => x.name === n),
      nonces: new NonceCache(),
      now_ms: this.o.now_ms ?? Date.now,
    };
  }

  async metricsText(): Promise<string> {
    const l = this.hub.latest();
    const cpu = process.cpuUsage();
    return renderMetrics(
      buildMetrics({
        node: this.o.backend.node,
        state: l.state,
        monitors: l.monitors,
        replication: l.replication,
        failovers: l.failovers,
        transitions: l.transitions,
        heartbeat_drops: this.o.heartbeat_drops?.() ?? null,
        api_answers: this.answers,
        sessions: this.sessions.size,
        process: { rss_bytes: process.memoryUsage.rss(), cpu_seconds: (cpu.user + cpu.system) / 1e6, uptime_s: Math.round((Date.now() - this.started_ms) / 1000) },
      }),
    );
  }

  async start(): Promise<{ port: number }> {
    const o = this.o;
    const auth = this.authDeps();
    const handlers = makeHandlers({
      backend: o.backend,
      peers: this.peerClient,
      sessions: this.sessions,
      conf_dir: o.conf_dir,
      users: () => this.users.get(),
      usersChanged: (from) => this.users.changed(from),
      audit: o.audit,
      resourceHistory: (m) => this.hub.resourceHistory(m),
      openapi: () => buildOpenApi(o.product_version),
      now_ms: o.now_ms ?? Date.now,
      module_env: o.module_env,
      product_version: o.product_version,
      push_module: o.push_module,
    });
    const app = buildApp({
      auth,
      handlers,
      home: () => homePage(o.backend.node, o.backend.cluster_name),
      metrics: () => this.metricsText(),
      count: (status) => this.answers.set(status, (this.answers.get(status) ?? 0) + 1),
    });
    const server = https.createServer(
      {
        key: o.tls.key,
        cert: o.tls.cert,
        minVersion: 'TLSv1.2',
        handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
        maxHeaderSize: MAX_HEADER_BYTES,
        requestTimeout: REQUEST_TIMEOUT_MS,
        headersTimeout: HEADERS_TIMEOUT_MS,
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        // How often the header and request timeouts are checked (node's default: 30 s).
        connectionsCheckingInterval: TIMEOUT_CHECK_MS,
      },
      app,
    );
    server.maxConnections = MAX_API_CONNECTIONS;
    server.maxHeadersCount = 64;
    server.on('connection', (s: net.Socket) => this.limitPerAddress(s));
    // A client that fails the handshake (plain HTTP, old TLS, a scanner) is simply dropped.
    server.on('tlsClientError', (_e, s) => s.destroy());
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => o.log.error({ err: e.message }, 'API server error'));
    const relay = o.relay_peers !== false && o.cluster_key ? new PeerEvents(o.backend.node, o.cluster_key, o.tls, (n, p) => this.events?.relayed(n, p)) : null;
    this.peerEvents = relay ?? undefined;
    this.events = new SocketEvents(server, { auth, hub: this.hub, log_dir: o.backend.log_dir, node: o.backend.node, relay });
    this.hub.start();
    this.users.startSync();
    relay?.start(o.peers());
    const addr = server.address();
    return { port: typeof addr === 'object' && addr ? addr.port : o.port };
  }

  private limitPerAddress(s: net.Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
    const a = s.remoteAddress ?? '?';
    const n = (this.perAddress.get(a) ?? 0) + 1;
    if (n > MAX_CONNECTIONS_PER_ADDRESS) {
      s.destroy();
      return;
    }
    this.perAddress.set(a, n);
    s.once('close', () => {
      const left = (this.perAddress.get(a) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(a);
      else this.perAddress.set(a, left);
    });
  }

  /** Raw connections open now (handshakes included). */
  get connections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    this.hub.stop();
    this.users.stop();
    this.peerEvents?.close();
    (this.peerClient as HttpsPeerClient | null)?.close?.();
    await this.events?.close();
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
      for (const c of this.sockets) c.destroy();
    });
  }
}
