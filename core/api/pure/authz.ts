// Who may call what (pure). The route's access and, for module commands, the command's own
// role (primforce needs admin) decide; the answer is a status and a coded error.
import { roleAllows, type Access, type Role } from '../contract/pure/roles';
import type { ErrorCode } from '../../errors/catalogue';

export type Principal =
  | { readonly kind: 'session'; readonly user: string; readonly role: Role; readonly csrf_ok: boolean }
  | { readonly kind: 'apikey'; readonly user: string; readonly role: Role }
  /** A peer node calling on behalf of a user (signed with the cluster key). */
  | { readonly kind: 'node'; readonly node: string; readonly user: string; readonly role: Role | null };

export type AuthnFailure = 'none' | 'expired' | 'bad-key' | 'bad-node-signature';

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly status: 401 | 403; readonly code: ErrorCode; readonly message: string };

export function authorize(access: Access, who: Principal | AuthnFailure, method: string): Verdict {
  if (access === 'public') return { ok: true };
  if (typeof who === 'string') {
    switch (who) {
      case 'expired':
        return { ok: false, status: 401, code: 'HAKIT_E_AUTH_EXPIRED', message: 'the session expired; log in again' };
      case 'bad-node-signature':
        return { ok: false, status: 401, code: 'HAKIT_E_AUTH_NODE', message: 'the inter-node signature is missing, wrong or stale' };
      case 'bad-key':
        return { ok: false, status: 401, code: 'HAKIT_E_AUTH_REQUIRED', message: 'unknown API key' };
      default:
        return { ok: false, status: 401, code: 'HAKIT_E_AUTH_REQUIRED', message: 'log in, or send an API key as "Authorization: Bearer TOKEN"' };
    }
  }
  if (access === 'node') {
    return who.kind === 'node' ? { ok: true } : { ok: false, status: 403, code: 'HAKIT_E_AUTH_FORBIDDEN', message: 'only peer nodes may call this' };
  }
  if (who.kind === 'session' && !who.csrf_ok) {
    return { ok: false, status: 403, code: 'HAKIT_E_AUTH_CSRF', message: `${method} with a session cookie needs the X-CSRF-Token header the login answered` };
  }
  if (who.role === null) return { ok: false, status: 403, code: 'HAKIT_E_AUTH_FORBIDDEN', message: 'a peer node called without a user role' };
  if (!roleAllows(who.role, access)) {
    return { ok: false, status: 403, code: 'HAKIT_E_AUTH_FORBIDDEN', message: `role ${who.role} may not do this (needs ${access})` };
  }
  return { ok: true };
}
