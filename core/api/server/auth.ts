// Who is calling: a session cookie, an API key (Authorization: Bearer), or a peer node
// (signed headers). Sessions live in this node's memory (bounded); users and API keys come
// from the users file, re-read when it changes on disk.
import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isRole } from '../contract/pure/roles';
import type { AuthnFailure, Principal } from '../pure/authz';
import { checkSession, csrfOk, CSRF_HEADER, MAX_SESSIONS, MAX_SESSIONS_PER_USER, sessionTokenOf, type SessionRecord } from '../pure/sessions';
import type { UserEntry, UsersDoc } from '../pure/users-doc';
import { sha256Hex } from '../users/password';
import { H_NODE, H_NONCE, H_ROLE, H_SIG, H_TS, H_USER, type NonceCache, bodySha256, verifySigned } from './node-auth';

export class SessionStore {
  private readonly sessions = new Map<string, SessionRecord>();

  constructor(private readonly now_ms: () => number) {}

  /** A session for this user, bound to the password hash it logged in with. */
  create(u: Pick<UserEntry, 'name' | 'role' | 'hash'>): { token: string; record: SessionRecord } {
    const token = crypto.randomBytes(32).toString('hex');
    const now = this.now_ms();
    const record: SessionRecord = { user: u.name, role: u.role, csrf: crypto.randomBytes(32).toString('hex'), password_fp: passwordFingerprint(u.hash), created_ms: now, last_seen_ms: now };
    // Map order is "least recently used first" (use() re-inserts).
    const mine = [...this.sessions].filter(([, s]) => s.user === u.name);
    if (mine.length >= MAX_SESSIONS_PER_USER) this.sessions.delete((mine[0] as [string, SessionRecord])[0]);
    if (this.sessions.size >= MAX_SESSIONS) {
      for (const [t, s] of this.sessions) if (!checkSession(s, now).ok) this.sessions.delete(t);
    }
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

  /** The session of a token if still live, without restarting its idle clock (an open event
   *  connection is no activity of its user). */
  peek(token: string): SessionRecord | undefined {
    const s = this.sessions.get(token);
    return s && checkSession(s, this.now_ms()).ok ? s : undefined;
  }

  /** The user changed their own password in this session: it goes on with the new one. */
  rebind(token: string, hash: string): void {
    const s = this.sessions.get(token);
    if (s) this.sessions.set(token, { ...s, password_fp: passwordFingerprint(hash) });
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
  // A user deleted, or given a new password, since login loses the session at once.
  const u = sessionUser(d, s.record);
  if (!u) {
    d.sessions.end(token);
    return { who: 'none' };
  }
  return { who: { kind: 'session', user: s.record.user, role: u.role, csrf_ok: csrfOk(method, s.record, header(h, CSRF_HEADER)) }, token, session: s.record };
}

function passwordFingerprint(hash: string): string {
  return sha256Hex(hash);
}

/** The session's user, if it still exists with the password the session was made with. */
function sessionUser(d: AuthDeps, s: SessionRecord): UserEntry | undefined {
  const u = d.users().users.find((x) => x.name === s.user);
  return u !== undefined && passwordFingerprint(u.hash) === s.password_fp ? u : undefined;
}

/** What a long-lived connection (socket.io) was authenticated with, checked again while it lasts. */
export type Credential = { readonly kind: 'session'; readonly token: string } | { readonly kind: 'apikey'; readonly sha256: string } | { readonly kind: 'node' };

/** The credential still holds: the session neither ended, expired nor lost its user or
 *  password; the API key not revoked. A peer node's connection was checked at its handshake
 *  (its signature is single-use) and holds while the connection does. */
export function credentialHolds(d: AuthDeps, c: Credential): boolean {
  if (c.kind === 'node') return true;
  if (c.kind === 'apikey') return d.users().apikeys.some((k) => k.sha256 === c.sha256);
  const s = d.sessions.peek(c.token);
  return s !== undefined && sessionUser(d, s) !== undefined;
}
