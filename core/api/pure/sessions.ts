// Session and CSRF decisions (pure: time and tokens are inputs). A session lives in the memory
// of the node that made it; it ends when idle for IDLE_TIMEOUT_MS or older than MAX_AGE_MS.
// State-changing requests made with the session cookie must carry the session's CSRF token in
// the X-CSRF-Token header (a cross-site form cannot read it, SameSite=Strict aside).
import type { Role } from '../contract/pure/roles';

export const SESSION_IDLE_TIMEOUT_MS = 15 * 60_000;
export const SESSION_MAX_AGE_MS = 12 * 3600_000;
/** Sessions held at once per node; beyond it expired ones go, then the least recently used (bounded memory). */
export const MAX_SESSIONS = 1024;
/** Sessions one user holds at once on a node; a new one ends that user's least recently used.
 *  So no account (the lowest role included) can push other users' sessions out by logging in. */
export const MAX_SESSIONS_PER_USER = 16;
export const SESSION_COOKIE = 'hakit_session';
export const CSRF_HEADER = 'x-csrf-token';

export interface SessionRecord {
  readonly user: string;
  readonly role: Role;
  readonly csrf: string;
  /** SHA-256 of the user's password hash at login: a new password (set here, from the CLI or on
   *  another node, the users file being shared) ends the sessions made with the old one. */
  readonly password_fp: string;
  readonly created_ms: number;
  readonly last_seen_ms: number;
}

export type SessionCheck = { readonly ok: true; readonly session: SessionRecord } | { readonly ok: false; readonly why: 'unknown' | 'expired' };

export function checkSession(s: SessionRecord | undefined, now_ms: number): SessionCheck {
  if (!s) return { ok: false, why: 'unknown' };
  if (now_ms - s.last_seen_ms > SESSION_IDLE_TIMEOUT_MS || now_ms - s.created_ms > SESSION_MAX_AGE_MS) return { ok: false, why: 'expired' };
  return { ok: true, session: { ...s, last_seen_ms: now_ms } };
}

/** Constant-time string equality (both are our own hex tokens; lengths leak nothing useful). */
export function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length || a.length === 0) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export function needsCsrf(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

export function csrfOk(method: string, s: SessionRecord, header: string | undefined): boolean {
  return !needsCsrf(method) || (header !== undefined && sameToken(header, s.csrf));
}

/** The Set-Cookie value of a session (Secure, HttpOnly, SameSite=Strict, path /). */
export function sessionCookie(token: string): string {
  return `${SESSION_COOKIE}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(SESSION_MAX_AGE_MS / 1000)}`;
}
export function clearedCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;
}

/** The session token of a Cookie header, or undefined. Tokens are 64 hex characters. */
export function sessionTokenOf(cookie_header: string | undefined): string | undefined {
  if (!cookie_header || cookie_header.length > 8192) return undefined;
  for (const part of cookie_header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) {
      const v = part.slice(eq + 1).trim();
      return /^[0-9a-f]{64}$/.test(v) ? v : undefined;
    }
  }
  return undefined;
}
