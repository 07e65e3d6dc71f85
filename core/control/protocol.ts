// The control socket's protocol: newline-delimited JSON, one request per line, one response
// line per request, in order. Request:  {"id": 1, "cmd": "state", "args": {...}}
// Response: {"id": 1, "ok": true, "result": ...} | {"id": 1, "ok": false, "error": {code, message}}
import { HakitError, isHakitError, type ErrorCode } from '../errors/catalogue';

/** A request line longer than this is refused and the connection closed. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A response line longer than this is a client-side error (the daemon never sends one). */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/** Connections served at once; more are refused at accept time. */
export const MAX_CONNECTIONS = 32;
/** A connection idle this long is closed. */
export const CONNECTION_IDLE_MS = 60_000;

export interface ControlRequest {
  readonly id: number;
  readonly cmd: string;
  readonly args: Readonly<Record<string, unknown>>;
}

export interface ControlErrorBody {
  readonly code: ErrorCode | string;
  readonly message: string;
}

export type ControlResponse =
  | { readonly id: number | null; readonly ok: true; readonly result: unknown }
  | { readonly id: number | null; readonly ok: false; readonly error: ControlErrorBody };

const CMD = /^[a-z][a-z0-9_-]{0,31}$/;

export function parseRequest(line: string): ControlRequest {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new HakitError('HAKIT_E_CONTROL_BAD_REQUEST', 'the request line is not JSON', 'control socket');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new HakitError('HAKIT_E_CONTROL_BAD_REQUEST', 'the request is not a JSON object', 'control socket');
  }
  const o = json as Record<string, unknown>;
  const id = o['id'];
  const cmd = o['cmd'];
  const args = o['args'] ?? {};
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw new HakitError('HAKIT_E_CONTROL_BAD_REQUEST', '"id" must be an integer', 'control socket');
  if (typeof cmd !== 'string' || !CMD.test(cmd)) throw new HakitError('HAKIT_E_CONTROL_BAD_REQUEST', '"cmd" must be a short lowercase word', 'control socket');
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new HakitError('HAKIT_E_CONTROL_BAD_REQUEST', '"args" must be an object', 'control socket');
  return { id, cmd, args: args as Record<string, unknown> };
}

/** Best effort id from a line that failed to parse, so the client can match the error. */
export function salvageId(line: string): number | null {
  const m = /"id"\s*:\s*(\d{1,15})/.exec(line);
  return m ? Number(m[1]) : null;
}

export function errorBody(e: unknown): ControlErrorBody {
  if (isHakitError(e)) return { code: e.code, message: e.message };
  return { code: 'HAKIT_E_INTERNAL', message: e instanceof Error ? e.message : String(e) };
}
