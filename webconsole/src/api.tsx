// The console's REST client: same origin, the session cookie, the CSRF token on every change.
// Every failure becomes an ApiError carrying the API's HAKIT_E_ code.
import { API_BASE } from '../../core/api/contract/version';
import type { SessionInfo } from '../../core/api/contract/pure/types';
import type { ConfigErrorBody, ConfigIssueInfo } from '../../core/api/contract/pure/config-types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** A module's problems with their files and lines (Configuration routes). */
    readonly issues: readonly ConfigIssueInfo[] = [],
  ) {
    super(message);
  }
}

let csrf = '';

export function setCsrf(token: string): void {
  csrf = token;
}

export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
  let res: Response;
  try {
    res = await fetch(API_BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, 'HAKIT_E_CONSOLE_OFFLINE', `the node does not answer (${e instanceof Error ? e.message : String(e)})`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!res.ok) {
    const err = (parsed as ConfigErrorBody | null)?.error;
    throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? res.statusText, err?.issues ?? []);
  }
  return parsed as T;
}

export async function login(user: string, password: string): Promise<SessionInfo> {
  const s = await api<SessionInfo>('POST', '/login', { user, password });
  setCsrf(s.csrf_token);
  return s;
}

export async function currentSession(): Promise<SessionInfo | null> {
  try {
    const s = await api<SessionInfo>('GET', '/session');
    setCsrf(s.csrf_token);
    return s;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return null;
    throw e;
  }
}

export async function logout(): Promise<void> {
  await api('POST', '/logout', {});
  setCsrf('');
}

export function enc(s: string): string {
  return encodeURIComponent(s);
}
