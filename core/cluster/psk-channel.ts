// The config service's secure channel: TLS 1.2 with a pre-shared key and ephemeral ECDH
// (ECDHE-PSK-CHACHA20-POLY1305), one JSON request and one JSON reply per connection. A
// joining node proves it holds a join token by keying the channel with it (the secret never
// travels); cluster members key it with a key derived from the cluster key. Forward secrecy
// comes from ECDHE: a token or key leaked later does not open recorded sessions. (Node's
// TLS 1.3 has no external PSK; TLS 1.2 with this suite is what it offers.)
import crypto from 'node:crypto';
import tls from 'node:tls';
import { ERROR_CODES, HakitError, isHakitError, type ErrorCode } from '../errors/catalogue';

export const PSK_CIPHERS = 'ECDHE-PSK-CHACHA20-POLY1305';
/** Largest request (a module pushed to a node travels in one, base64). */
export const MAX_REQUEST_BYTES = 48 * 1024 * 1024;
/** Largest reply (cluster.xml, keys, certificates). */
export const MAX_REPLY_BYTES = 1024 * 1024;
/** A whole exchange, handshake to reply, must fit in this. */
export const EXCHANGE_TIMEOUT_MS = 20_000;
/** Connections served at once; more are closed at once (a flood cannot starve the daemon). */
export const MAX_CONCURRENT_CONNECTIONS = 16;
/** Identity of cluster members on the channel; a join uses `token:<id>`. */
export const CLUSTER_IDENTITY = 'cluster';
export const TOKEN_IDENTITY_PREFIX = 'token:';

/** The channel key of members: never the cluster key itself (separate use, separate key). */
export function clusterChannelKey(cluster_key: Buffer): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', cluster_key, Buffer.from('hakit-config-service'), Buffer.from('psk v1'), 32));
}

/** The channel key of a join token, from the hash of its secret (all the serving node stores). */
export function tokenChannelKeyFromHash(secret_sha256_hex: string): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', Buffer.from(secret_sha256_hex, 'hex'), Buffer.from('hakit-join'), Buffer.from('psk v1'), 32));
}

export function secretSha256(secret: string): string {
  return crypto.createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function tokenChannelKey(secret: string): Buffer {
  return tokenChannelKeyFromHash(secretSha256(secret));
}

/** The config service listens on each command LAN at the node's port + this. */
export const CONFIG_PORT_OFFSET = 1;

export type Reply = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly code: string; readonly message: string };

export interface ChannelServerOptions {
  /** The key for an identity, or null to refuse the handshake. */
  readonly keyFor: (identity: string) => Buffer | null;
  readonly handle: (identity: string, request: unknown, peer_address: string) => Promise<unknown>;
  readonly onError?: (e: unknown, peer_address: string) => void;
}

function replyOf(e: unknown): Reply {
  if (isHakitError(e)) return { ok: false, code: e.code, message: e.message };
  return { ok: false, code: 'HAKIT_E_INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

/** Reads one newline-terminated JSON document of at most `max` bytes. */
function readJsonLine(sock: tls.TLSSocket, max: number, what: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const done = (f: () => void): void => {
      sock.off('data', onData);
      sock.off('end', onEnd);
      sock.off('error', onErr);
      f();
    };
    const onData = (chunk: Buffer): void => {
      const nl = chunk.indexOf(0x0a);
      const take = nl >= 0 ? chunk.subarray(0, nl) : chunk;
      size += take.length;
      if (size > max) return done(() => reject(new HakitError('HAKIT_E_CONFIG_SERVICE_BAD_REQUEST', `${what} larger than ${max} bytes`, 'config service')));
      parts.push(take);
      if (nl < 0) return;
      done(() => {
        try {
          resolve(JSON.parse(Buffer.concat(parts).toString('utf8')));
        } catch {
          reject(new HakitError('HAKIT_E_CONFIG_SERVICE_BAD_REQUEST', `${what} is not JSON`, 'config service'));
        }
      });
    };
    const onEnd = (): void => done(() => reject(new HakitError('HAKIT_E_CONFIG_SERVICE_BAD_REQUEST', `${what} ended early`, 'config service')));
    const onErr = (e: Error): void => done(() => reject(e));
    sock.on('data', onData);
    sock.on('end', onEnd);
    sock.on('error', onErr);
  });
}

export class ChannelServer {
  private readonly servers: tls.Server[] = [];
  private active = 0;

  constructor(private readonly o: ChannelServerOptions) {}

  async listen(address: string, port: number): Promise<void> {
    const identities = new WeakMap<tls.TLSSocket, string>();
    const server = tls.createServer({
      ciphers: PSK_CIPHERS,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      pskCallback: (socket, identity) => {
        const key = this.o.keyFor(identity);
        if (key !== null) identities.set(socket, identity);
        return key;
      },
      handshakeTimeout: EXCHANGE_TIMEOUT_MS,
    });
    server.on('secureConnection', (sock) => void this.serve(sock, identities.get(sock) ?? ''));
    server.on('tlsClientError', (e, sock) => {
      this.o.onError?.(e, sock.remoteAddress ?? '?');
      sock.destroy();
    });
    server.on('connection', (sock) => {
      if (this.active >= MAX_CONCURRENT_CONNECTIONS) sock.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.push(server);
  }

  private async serve(sock: tls.TLSSocket, identity: string): Promise<void> {
    this.active++;
    const peer = sock.remoteAddress ?? '?';
    const timer = setTimeout(() => sock.destroy(), EXCHANGE_TIMEOUT_MS);
    sock.on('error', () => undefined);
    try {
      const request = await readJsonLine(sock, MAX_REQUEST_BYTES, 'request');
      let reply: Reply;
      try {
        reply = { ok: true, result: await this.o.handle(identity, request, peer) };
      } catch (e) {
        this.o.onError?.(e, peer);
        reply = replyOf(e);
      }
      sock.end(`${JSON.stringify(reply)}\n`);
    } catch (e) {
      this.o.onError?.(e, peer);
      sock.end(`${JSON.stringify(replyOf(e))}\n`);
    } finally {
      clearTimeout(timer);
      this.active--;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** One exchange with a node's config service; a refused reply becomes the HakitError it names. */
export async function channelRequest(host: string, port: number, identity: string, key: Buffer, request: unknown, timeout_ms = EXCHANGE_TIMEOUT_MS, refused: ErrorCode = 'HAKIT_E_JOIN_REFUSED'): Promise<unknown> {
  const where = `config service ${host}:${port}`;
  const sock = tls.connect({ host, port, ciphers: PSK_CIPHERS, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', checkServerIdentity: () => undefined, pskCallback: () => ({ psk: key, identity }) });
  const timer = setTimeout(() => sock.destroy(new HakitError('HAKIT_E_JOIN_UNREACHABLE', `no answer within ${timeout_ms} ms`, where)), timeout_ms);
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('secureConnect', resolve);
      sock.once('error', reject);
    });
    sock.write(`${JSON.stringify(request)}\n`);
    const reply = (await readJsonLine(sock, MAX_REPLY_BYTES, 'reply')) as Reply;
    if (reply.ok) return reply.result;
    throw new HakitError(Object.prototype.hasOwnProperty.call(ERROR_CODES, reply.code) ? (reply.code as ErrorCode) : 'HAKIT_E_INTERNAL', reply.message, where);
  } catch (e) {
    if (isHakitError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT') throw new HakitError('HAKIT_E_JOIN_UNREACHABLE', `${code}: is hakitd running and configured there?`, where);
    throw new HakitError(refused, `the secure channel was refused (${e instanceof Error ? e.message : String(e)}): ${refused === 'HAKIT_E_JOIN_REFUSED' ? 'another cluster\'s key?' : 'wrong token, or a node of another cluster?'}`, where);
  } finally {
    clearTimeout(timer);
    sock.destroy();
  }
}
