// Calls to other nodes' APIs: HTTPS, the peer's certificate verified against the cluster CA
// (ca.crt), the request signed with the cluster key on behalf of the user (node-auth.ts).
// Bounded: one answer at most MAX_PEER_ANSWER_BYTES, PEER_TIMEOUT_MS per address tried.
import https from 'node:https';
import { HakitError } from '../../errors/catalogue';
import type { TlsMaterial } from '../tls/load';
import type { PeerAnswer, PeerClient, PeerEndpoint } from './backend';
import { signHeaders } from './node-auth';

export const PEER_TIMEOUT_MS = 3_000;
export const MAX_PEER_ANSWER_BYTES = 8 * 1024 * 1024;
/** Kept-alive connections per peer: the console's aggregated views reuse them. */
const MAX_SOCKETS_PER_PEER = 4;

export class HttpsPeerClient implements PeerClient {
  private readonly agent: https.Agent;

  constructor(
    private readonly me: string,
    private readonly key: Buffer,
    private readonly endpoints: () => readonly PeerEndpoint[],
    tls: TlsMaterial,
    private readonly now_ms: () => number = Date.now,
  ) {
    this.agent = new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_PEER, ca: tls.ca ?? undefined, minVersion: 'TLSv1.2' });
  }

  async request(node: string, method: string, path: string, body: unknown, user: string, role: string): Promise<PeerAnswer> {
    const ep = this.endpoints().find((e) => e.node === node);
    if (!ep) throw new HakitError('HAKIT_E_API_NOT_FOUND', `no node "${node}" in cluster.xml`, 'API');
    const text = body === undefined ? '' : JSON.stringify(body);
    let last: unknown;
    for (const addr of ep.addresses) {
      try {
        return await this.once(addr, ep.port, method, path, text, user, role);
      } catch (e) {
        last = e;
      }
    }
    throw new HakitError('HAKIT_E_API_NODE_UNREACHABLE', `node ${node} did not answer (${last instanceof Error ? last.message : String(last)})`, `node ${node}`);
  }

  private once(addr: string, port: number, method: string, path: string, text: string, user: string, role: string): Promise<PeerAnswer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...signHeaders(this.key, this.me, method, path, text, user, role, this.now_ms()), accept: 'application/json' };
      if (text !== '') {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(Buffer.byteLength(text));
      }
      const req = https.request({ host: addr, port, method, path, headers, agent: this.agent, timeout: PEER_TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_PEER_ANSWER_BYTES) req.destroy(new Error('answer too large'));
          else chunks.push(c);
        });
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = raw;
          try {
            parsed = raw === '' ? null : JSON.parse(raw);
          } catch {
            // Not JSON (metrics text): handed over as text.
          }
          resolve({ status: res.statusCode ?? 502, body: parsed });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${PEER_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(text === '' ? undefined : text);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
