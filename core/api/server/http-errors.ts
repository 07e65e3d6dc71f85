// Coded errors to HTTP statuses. Every answer that is not 2xx has the body
// {"error": {"code": "HAKIT_E_...", "message": "..."}}.
import { isHakitError, type ErrorCode } from '../../errors/catalogue';
import { MODULE_STATE_CODES } from '../../errors/codes/module-state';
import type { ErrorBody } from '../contract/pure/types';

const STATUS: Partial<Record<ErrorCode, number>> = {
  HAKIT_E_API_BAD_REQUEST: 400,
  HAKIT_E_API_BAD_JSON: 400,
  HAKIT_E_CONTROL_BAD_REQUEST: 400,
  HAKIT_E_BAD_LOG_LEVEL: 400,
  HAKIT_E_BAD_RESOURCE_VALUE: 400,
  HAKIT_E_AUTH_WEAK_PASSWORD: 400,
  HAKIT_E_AUTH_REQUIRED: 401,
  HAKIT_E_AUTH_BAD_LOGIN: 401,
  HAKIT_E_AUTH_EXPIRED: 401,
  HAKIT_E_AUTH_NODE: 401,
  HAKIT_E_AUTH_FORBIDDEN: 403,
  HAKIT_E_AUTH_CSRF: 403,
  HAKIT_E_API_NOT_FOUND: 404,
  HAKIT_E_MOD_NOT_INSTALLED: 404,
  HAKIT_E_API_NO_RELEASE: 404,
  HAKIT_E_API_PACKAGE_TOO_BIG: 413,
  HAKIT_E_UNKNOWN_MODULE: 404,
  HAKIT_E_AUTH_NO_USER: 404,
  HAKIT_E_MONITOR_NO_MODULE: 404,
  HAKIT_E_REPL_NOT_MIRROR: 404,
  HAKIT_E_AUTH_USER_EXISTS: 409,
  HAKIT_E_AUTH_LAST_ADMIN: 409,
  HAKIT_E_MOD_BUSY: 409,
  HAKIT_E_API_BODY_TOO_BIG: 413,
  HAKIT_E_API_MEDIA_TYPE: 415,
  HAKIT_E_AUTH_RATE_LIMITED: 429,
  HAKIT_E_API_NODE_UNREACHABLE: 502,
  HAKIT_E_DAEMON_UNREACHABLE: 503,
  HAKIT_E_API_TOO_BUSY: 503,
  HAKIT_E_CONTROL_TIMEOUT: 504,
  HAKIT_E_WHATIF_UNKNOWN_NODE: 400,
  HAKIT_E_WHATIF_UNKNOWN_LAN: 400,
  HAKIT_E_WHATIF_EMPTY: 400,
  HAKIT_E_WHATIF_UNKNOWN_MODULE: 400,
  HAKIT_E_WHATIF_UNKNOWN_CHECKER: 400,
  HAKIT_E_WHATIF_BAD_FAULT: 400,
  HAKIT_E_WHATIF_UNAVAILABLE: 503,
  HAKIT_E_WHATIF_TIMEOUT: 503,
};

export function statusOf(code: string): number {
  if (Object.prototype.hasOwnProperty.call(STATUS, code)) return STATUS[code as ErrorCode] as number;
  // A module refusing a command in its current state: a conflict, nothing changed.
  if (Object.prototype.hasOwnProperty.call(MODULE_STATE_CODES, code)) return 409;
  if (code === 'HAKIT_E_INTERNAL') return 500;
  return 422;
}

export function errorBodyOf(e: unknown): { status: number; body: ErrorBody } {
  if (isHakitError(e)) {
    // A module's problems (core/api/server/config-handlers.ts) travel with their files and lines.
    const issues = (e as { api_issues?: unknown }).api_issues;
    if (Array.isArray(issues)) return { status: statusOf(e.code), body: { error: { code: e.code, message: e.message, issues } } as ErrorBody };
    return { status: statusOf(e.code), body: { error: { code: e.code, message: e.message } } };
  }
  return { status: 500, body: { error: { code: 'HAKIT_E_INTERNAL', message: 'internal error (see hakitd.log)' } } };
}
