// Who is calling: a session cookie, an API key (Authorization: Bearer), or a peer node
// (signed headers). Sessions live in this node's memory (bounded); users and API keys come
// from the users file, re-read when it changes on disk.
import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Role } from '../contract/pure/roles';
import { isRole } from '../contract/pure/roles';
import type { AuthnFailure, Principal } from '../pure/authz';
import { checkSession, csrfOk, CSRF_HEADER, MAX_SESSIONS, sessionTokenOf, type SessionRecord } from '../pure/sessions';
import type { UsersDoc } from '../pure/users-doc';
import { sha256Hex } from '../users/password';
import { H_NODE, H_NONCE, H_ROLE, H_SIG, H_TS, H_USER, type NonceCache, bodySha256, verifySigned } from './node-auth';

export class SessionStore {
  private readonly sessions = new Map<string, SessionRecord>();

  constructor(private readonly now_ms: () => number) {}

  create(user: string, role: Role): { token: string; record: SessionRecord } {
    const token = crypto.randomBytes(32).toString('hex');
    const now = this.now_ms();
    const record: SessionRecord = { user, role, csrf: crypto.randomBytes(32).toString('hex'), created_ms: now, last_seen_ms: now };
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
    this.sessions.set(token, record);
    return { token, record };
  }

  /** The live session of a token (its idle clock restarted), or why not. */
  use(token: string): { ok: true; record: SessionRecord } | { ok: false; why: 'unknown' | 'expired' } {
    const c = checkSession(this.sessions.get(token), this.now_ms());
    if (!c.ok) {
      this.sessions.delete(token);
      return c;
    }
    // Re-inserted: Map order stays "least recently used first" for eviction.
    this.sessions.delete(token);
    this.sessions.set(token, c.session);
    return { ok: true, record: c.session };
  }

  end(token: string): void {
    this.sessions.delete(token);
  }

  /** A user deleted or demoted: their sessions end at once. */
  endUser(user: string): void {
    for (const [t, s] of this.sessions) if (s.user === user) this.sessions.delete(t);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Tests: make every session look idle for `ms` more. */
  age(ms: number): void {
    for (const [t, s] of this.sessions) this.sessions.set(t, { ...s, last_seen_ms: s.last_seen_ms - ms, created_ms: s.created_ms - ms });
  }
}

export interface AuthDeps {
  readonly sessions: SessionStore;
  users(): UsersDoc;
  readonly cluster_key: Buffer | null;
  isPeer(node: string): boolean;
  readonly nonces: NonceCache;
  now_ms(): number;
}

export interface Authenticated {
  readonly who: Principal | AuthnFailure;
  /** The session token, when a cookie authenticated the call. */
  readonly token?: string;
  readonly session?: SessionRecord;
}

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return typeof v === 'string' ? v : undefined;
}

export function authenticate(d: AuthDeps, method: string, url: string, h: IncomingHttpHeaders, raw_body: Buffer | undefined): Authenticated {
  const node = header(h, H_NODE);
  if (node !== undefined) {
    if (!d.cluster_key || !d.isPeer(node)) return { who: 'bad-node-signature' };
    const f = { method, path: url, node, ts: header(h, H_TS) ?? '', nonce: header(h, H_NONCE) ?? '', user: header(h, H_USER) ?? '', role: header(h, H_ROLE) ?? '', body_sha256: bodySha256(raw_body) };
    if (!verifySigned(d.cluster_key, f, header(h, H_SIG) ?? '', d.now_ms(), d.nonces)) return { who: 'bad-node-signature' };
    return { who: { kind: 'node', node, user: f.user, role: isRole(f.role) ? f.role : null } };
  }
  const authz = header(h, 'authorization');
  if (authz !== undefined) {
    const m = /^Bearer (hk_[0-9a-f]{64})$/.exec(authz);
    if (!m) return { who: 'bad-key' };
    const sha = sha256Hex(m[1] as string);
    const k = d.users().apikeys.find((x) => crypto.timingSafeEqual(Buffer.from(x.sha256, 'hex'), Buffer.from(sha, 'hex')));
    return k ? { who: { kind: 'apikey', user: `key:${k.name}`, role: k.role } } : { who: 'bad-key' };
  }
  const token = sessionTokenOf(header(h, 'cookie'));
  if (token === undefined) return { who: 'none' };
  const s = d.sessions.use(token);
  if (!s.ok) return { who: s.why === 'expired' ? 'expired' : 'none' };
  // A user deleted or demoted since login loses the session at once.
  const u = d.users().users.find((x) => x.name === s.record.user);
  if (!u) {
    d.sessions.end(token);
    return { who: 'none' };
  }
  const role = u.role;
  return { who: { kind: 'session', user: s.record.user, role, csrf_ok: csrfOk(method, s.record, header(h, CSRF_HEADER)) }, token, session: s.record };
}
