// Inter-node API calls are signed with the cluster key (HMAC-SHA256), the same secret that
// authenticates heartbeats and replication: it works whatever certificate an admin installed.
// The signature covers method, path, node, time, a nonce, the user and role acted for, and
// the body's hash. A call older than NODE_AUTH_WINDOW_MS or a nonce seen before is refused.
import crypto from 'node:crypto';

export const NODE_AUTH_WINDOW_MS = 30_000;
export const MAX_NONCES = 100_000;
export const H_NODE = 'x-hakit-node';
export const H_TS = 'x-hakit-ts';
export const H_NONCE = 'x-hakit-nonce';
export const H_USER = 'x-hakit-user';
export const H_ROLE = 'x-hakit-role';
export const H_SIG = 'x-hakit-sig';

export interface SignedFields {
  readonly method: string;
  readonly path: string;
  readonly node: string;
  readonly ts: string;
  readonly nonce: string;
  readonly user: string;
  readonly role: string;
  readonly body_sha256: string;
}

export function signature(key: Buffer, f: SignedFields): string {
  const text = ['hakit-api-v1', f.method, f.path, f.node, f.ts, f.nonce, f.user, f.role, f.body_sha256].join('\n');
  return crypto.createHmac('sha256', key).update(text).digest('hex');
}

export function bodySha256(body: Buffer | string | undefined): string {
  return crypto.createHash('sha256').update(body ?? '').digest('hex');
}

export function signHeaders(key: Buffer, me: string, method: string, path: string, body: string, user: string, role: string, now_ms: number): Record<string, string> {
  const ts = String(now_ms);
  const nonce = crypto.randomBytes(16).toString('hex');
  const sig = signature(key, { method, path, node: me, ts, nonce, user, role, body_sha256: bodySha256(body) });
  return { [H_NODE]: me, [H_TS]: ts, [H_NONCE]: nonce, [H_USER]: user, [H_ROLE]: role, [H_SIG]: sig };
}

/** Remembers nonces for the window, bounded. */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  /** True when fresh (and now remembered). */
  fresh(nonce: string, now_ms: number): boolean {
    if (this.seen.has(nonce)) return false;
    if (this.seen.size >= MAX_NONCES) {
      // Map order is insertion order: the oldest first. Past the window they prove nothing.
      for (const [k, t] of this.seen) {
        if (now_ms - t <= NODE_AUTH_WINDOW_MS && this.seen.size < MAX_NONCES) break;
        this.seen.delete(k);
      }
    }
    this.seen.set(nonce, now_ms);
    return true;
  }
}

export function verifySigned(key: Buffer, f: SignedFields, sig: string, now_ms: number, nonces: NonceCache): boolean {
  const ts = Number(f.ts);
  if (!Number.isSafeInteger(ts) || Math.abs(now_ms - ts) > NODE_AUTH_WINDOW_MS) return false;
  if (!/^[0-9a-f]{32}$/.test(f.nonce) || !/^[0-9a-f]{64}$/.test(sig)) return false;
  const want = Buffer.from(signature(key, f), 'hex');
  if (!crypto.timingSafeEqual(want, Buffer.from(sig, 'hex'))) return false;
  return nonces.fresh(f.nonce, now_ms);
}
