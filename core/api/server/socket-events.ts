// socket.io on the API's HTTPS server (path EVENTS_PATH). The handshake is authenticated
// like a REST call: the session cookie, `auth: {token}` (an API key), or a peer node's
// signature (`auth: {node, ts, nonce, sig}`). Consoles and scripts join room "clients";
// peer nodes join "nodes". This node's events go to both; events relayed from peers go to
// "clients" only, so nothing loops between nodes.
import type { Server as HttpsServer } from 'node:https';
import { Server, type Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../contract/events';
import type { LogLine } from '../contract/pure/types';
import { EVENTS_PATH } from '../contract/version';
import type { AuthnFailure, Principal } from '../pure/authz';
import { sha256Hex } from '../users/password';
import { authenticate, credentialHolds, type AuthDeps, type Credential } from './auth';
import type { EventHub, HubEvent } from './event-hub';
import { LogTailer } from './log-tailer';
import { H_NODE, H_NONCE, H_ROLE, H_SIG, H_TS, H_USER } from './node-auth';

/** Event connections at once (consoles, scripts, peers); more are refused at handshake. */
export const MAX_EVENT_CLIENTS = 256;
/** A client that cannot keep up is dropped once this many bytes wait for it. */
export const MAX_EVENT_BUFFER_BYTES = 4 * 1024 * 1024;
/** How often a connection's credential and buffer are looked at again. */
export const CREDENTIAL_CHECK_MS = 1_000;

interface SocketData {
  readonly who: Principal;
  readonly cred: Credential;
}

type Io = Server<ClientToServerEvents, ServerToClientEvents>;

export interface SocketEventsDeps {
  readonly auth: AuthDeps;
  readonly hub: EventHub;
  readonly log_dir: string;
  readonly node: string;
  /** Peers' relayed events and their log interest (peer-events.ts); null on a lone node. */
  readonly relay: { setLogInterest(on: boolean): void } | null;
}

/** Who opens the connection, and the credential that is checked again while it lasts. */
function principalOfHandshake(d: SocketEventsDeps, s: Socket): { who: Principal | AuthnFailure; cred: Credential } {
  const a = (s.handshake.auth ?? {}) as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof a[k] === 'string' ? (a[k] as string) : undefined);
  if (str('node') !== undefined) {
    const headers = { [H_NODE]: str('node'), [H_TS]: str('ts'), [H_NONCE]: str('nonce'), [H_USER]: '-', [H_ROLE]: '', [H_SIG]: str('sig') };
    return { who: authenticate(d.auth, 'SOCKET', EVENTS_PATH, headers, undefined).who, cred: { kind: 'node' } };
  }
  const token = str('token');
  const headers = { ...s.handshake.headers, authorization: token !== undefined ? `Bearer ${token}` : undefined };
  // A GET-like check: the CSRF token guards state changes, and events change nothing.
  const r = authenticate(d.auth, 'GET', EVENTS_PATH, headers, undefined);
  const cred: Credential = token !== undefined ? { kind: 'apikey', sha256: sha256Hex(token) } : { kind: 'session', token: r.token ?? '' };
  return { who: r.who, cred };
}

export class SocketEvents {
  readonly io: Io;
  private readonly tailer: LogTailer;
  private readonly logClients = new Set<string>();
  private readonly logNodes = new Set<string>();
  private readonly offHub: () => void;

  constructor(server: HttpsServer, private readonly d: SocketEventsDeps) {
    this.io = new Server(server, { path: EVENTS_PATH, serveClient: false, maxHttpBufferSize: 16 * 1024, pingInterval: 10_000, pingTimeout: 5_000, connectTimeout: 10_000, cors: { origin: false } });
    this.tailer = new LogTailer(d.log_dir, d.node, (l) => this.localLog(l));
    this.io.use((s, next) => {
      if (this.io.engine.clientsCount > MAX_EVENT_CLIENTS) return next(Object.assign(new Error('HAKIT_E_API_TOO_BUSY'), { data: { code: 'HAKIT_E_API_TOO_BUSY' } }));
      const { who, cred } = principalOfHandshake(d, s);
      if (typeof who === 'string') return next(Object.assign(new Error(who === 'expired' ? 'HAKIT_E_AUTH_EXPIRED' : 'HAKIT_E_AUTH_REQUIRED'), { data: { code: who === 'expired' ? 'HAKIT_E_AUTH_EXPIRED' : 'HAKIT_E_AUTH_REQUIRED' } }));
      Object.assign(s.data as object, { who, cred } satisfies SocketData);
      next();
    });
    this.io.on('connection', (s) => this.accept(s));
    this.offHub = d.hub.on((ev) => this.localEvent(ev));
  }

  private accept(s: Socket<ClientToServerEvents, ServerToClientEvents>): void {
    const { who, cred } = s.data as SocketData;
    const isNode = who.kind === 'node';
    void s.join(isNode ? 'nodes' : 'clients');
    s.on('logs:subscribe', () => {
      void s.join(isNode ? 'logs-nodes' : 'logs-clients');
      (isNode ? this.logNodes : this.logClients).add(s.id);
      this.logInterest();
    });
    s.on('logs:unsubscribe', () => {
      void s.leave(isNode ? 'logs-nodes' : 'logs-clients');
      (isNode ? this.logNodes : this.logClients).delete(s.id);
      this.logInterest();
    });
    s.on('disconnect', () => {
      this.logNodes.delete(s.id);
      this.logClients.delete(s.id);
      this.logInterest();
    });
    // A slow reader is cut off rather than buffered without end; a connection whose session
    // ended (logout, expiry, a new password, the user deleted) or whose API key was revoked is
    // closed within CREDENTIAL_CHECK_MS, as REST calls with it are refused at once.
    const check = setInterval(() => {
      if (!credentialHolds(this.d.auth, cred)) return s.disconnect(true);
      const ws = s.conn as unknown as { writeBuffer?: unknown[]; transport?: { socket?: { bufferedAmount?: number } } };
      if ((ws.transport?.socket?.bufferedAmount ?? 0) > MAX_EVENT_BUFFER_BYTES || (ws.writeBuffer?.length ?? 0) > 10_000) s.disconnect(true);
    }, CREDENTIAL_CHECK_MS);
    check.unref();
    s.on('disconnect', () => clearInterval(check));
  }

  private logInterest(): void {
    const local = this.logClients.size + this.logNodes.size > 0;
    if (local && !this.tailer.running) this.tailer.start();
    if (!local && this.tailer.running) this.tailer.stop();
    this.d.relay?.setLogInterest(this.logClients.size > 0);
  }

  private localEvent(ev: HubEvent): void {
    const to = this.io.to(['clients', 'nodes']);
    if (ev.type === 'state') to.emit('state', ev.e);
    else if (ev.type === 'resource') to.emit('resource', ev.e);
    else to.emit('replication', ev.e);
  }

  private localLog(l: LogLine): void {
    this.io.to(['logs-clients', 'logs-nodes']).emit('log', { line: l });
  }

  /** An event relayed from a peer: to consoles only. */
  relayed(name: 'state' | 'resource' | 'log' | 'replication' | 'node', payload: unknown): void {
    if (name === 'log') this.io.to('logs-clients').emit('log', payload as never);
    else this.io.to('clients').emit(name, payload as never);
  }

  async close(): Promise<void> {
    this.offHub();
    this.tailer.stop();
    this.io.disconnectSockets(true);
    await new Promise<void>((resolve) => {
      // io.close() also closes the HTTPS server; the API server closes it itself.
      this.io.engine.close();
      resolve();
    });
  }
}
