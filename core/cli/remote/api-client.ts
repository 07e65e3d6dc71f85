// `hakit -H`: the CLI's HTTPS client of a node's API. Credentials: an API key in the
// environment (HAKIT_API_TOKEN, any machine), else the cluster key (root on a cluster node:
// the call is signed as this node on behalf of root, role admin). The node's certificate is
// verified against <conf>/tls/ca.crt when it exists, else against the system store.
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { HakitError, ERROR_CODES, type ErrorCode } from '../../errors/catalogue';
import { confDir } from '../../config/paths';
import { loadClusterConfig } from '../../config/load';
import type { DeepReadonlyClusterConfig } from '../../config/pure/types-frozen';
import { readClusterKey } from '../../daemon/cluster-key';
import { apiPort, peerEndpoints } from '../../daemon/api-host';
import { signHeaders } from '../../api/server/node-auth';
import { CA_CERT, tlsDir } from '../../api/tls/files';

export const REMOTE_TIMEOUT_MS = 30_000;
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export interface RemoteTarget {
  readonly node: string;
  readonly addresses: readonly string[];
  readonly port: number;
}

export function loadCluster(): DeepReadonlyClusterConfig {
  const r = loadClusterConfig(path.join(confDir(), 'cluster.xml'), 'cluster.xml', confDir());
  if (!r.ok) throw new HakitError('HAKIT_E_API_REMOTE', `cannot read cluster.xml: ${r.errors.map((e) => e.message).join('; ')}`, 'hakit -H');
  return r.value;
}

/** Every node of cluster.xml as a target, this one included. */
export function targets(cluster: DeepReadonlyClusterConfig): RemoteTarget[] {
  return peerEndpoints(cluster, '', apiPort()).map((e) => ({ node: e.node, addresses: e.addresses, port: e.port }));
}

function toError(code: string | undefined, message: string, where: string): HakitError {
  const known = code !== undefined && Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
  return new HakitError(known ? (code as ErrorCode) : 'HAKIT_E_API_REMOTE', message, where);
}

export class ApiClient {
  private readonly ca: string | undefined;
  private readonly token: string | undefined;
  private key: Buffer | undefined;
  private readonly me: string;

  constructor(private readonly cluster: DeepReadonlyClusterConfig, env: NodeJS.ProcessEnv = process.env) {
    const caFile = path.join(tlsDir(confDir(env)), CA_CERT);
    this.ca = fs.existsSync(caFile) ? fs.readFileSync(caFile, 'utf8') : undefined;
    this.token = env['HAKIT_API_TOKEN'] || undefined;
    const host = env['HAKIT_NODE_NAME'] || os.hostname();
    this.me = cluster.nodes.some((n) => n.name === host) ? host : (cluster.nodes[0]?.name ?? host);
  }

  private auth(method: string, p: string, body: string): Record<string, string> {
    if (this.token) return { authorization: `Bearer ${this.token}` };
    this.key ??= readClusterKey(this.cluster.keyfile);
    return signHeaders(this.key, this.me, method, p, body, `root@${os.hostname()}`, 'admin', Date.now());
  }

  async request(t: RemoteTarget, method: string, p: string, body?: unknown, timeout_ms = REMOTE_TIMEOUT_MS): Promise<unknown> {
    const text = body === undefined ? '' : JSON.stringify(body);
    let last: unknown;
    for (const addr of t.addresses) {
      let a: { status: number; body: unknown };
      try {
        a = await this.once(addr, t.port, method, p, text, timeout_ms);
      } catch (e) {
        last = e;
        continue;
      }
      if (a.status >= 200 && a.status < 300) return a.body;
      const err = (a.body as { error?: { code?: string; message?: string } } | null)?.error;
      throw toError(err?.code, err?.message ?? `HTTP ${a.status}`, `node ${t.node}`);
    }
    throw new HakitError('HAKIT_E_API_NODE_UNREACHABLE', `no answer from its API on ${t.addresses.join(', ')} port ${t.port} (${last instanceof Error ? last.message : String(last)})`, `node ${t.node}`);
  }

  private once(addr: string, port: number, method: string, p: string, text: string, timeout_ms: number): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: 'application/json', ...this.auth(method, p, text) };
      if (text !== '') {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(Buffer.byteLength(text));
      }
      const req = https.request({ host: addr, port, method, path: p, headers, ca: this.ca, minVersion: 'TLSv1.2', timeout: timeout_ms, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error('answer too large'));
          else chunks.push(c);
        });
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 0, body: raw === '' ? null : JSON.parse(raw) });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: raw });
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout_ms} ms`)));
      req.on('error', reject);
      req.end(text === '' ? undefined : text);
    });
  }
}
