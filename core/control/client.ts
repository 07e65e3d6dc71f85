// The CLI's side of the control socket: one request, one response, bounded in time and size.
// Before connecting, the socket is checked as the daemon checks its directory: the directory
// and the socket are owned by root (the daemon) or by the calling user, the directory is not
// writable by others, and the path is a socket. A socket planted by another user in a
// world-writable run dir would otherwise be trusted by root's `hakit state`.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HakitError, type ErrorCode, ERROR_CODES } from '../errors/catalogue';
import { MAX_RESPONSE_BYTES, type ControlResponse } from './protocol';

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

let next_id = 1;

function toHakitError(code: string, message: string): HakitError {
  const known = Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
  return new HakitError(known ? (code as ErrorCode) : 'HAKIT_E_INTERNAL', known ? message : `${code}: ${message}`);
}

/** Owners the client trusts: root (hakitd runs as root) and the calling user. */
function trustedOwner(uid: number): boolean {
  return uid === 0 || uid === (process.getuid?.() ?? 0);
}

/** Throws a coded error unless the socket and its directory can be trusted (see the header). */
export function checkControlSocket(socket_path: string): void {
  const dir = path.dirname(socket_path);
  let d: fs.Stats;
  let s: fs.Stats;
  try {
    d = fs.statSync(dir);
    s = fs.lstatSync(socket_path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new HakitError('HAKIT_E_CONTROL_DENIED', `permission denied (${code}): the control socket is root's; run the command as root`, socket_path);
    throw new HakitError('HAKIT_E_DAEMON_UNREACHABLE', `no control socket (${code ?? String(e)}): hakitd is not running on this node`, socket_path);
  }
  if (!d.isDirectory() || !trustedOwner(d.uid) || (d.mode & 0o022) !== 0) {
    throw new HakitError('HAKIT_E_CONTROL_UNTRUSTED', `directory owned by uid ${d.uid} with mode ${(d.mode & 0o7777).toString(8)}: others could plant a socket there; not trusted`, dir);
  }
  if (!s.isSocket() || !trustedOwner(s.uid)) {
    throw new HakitError('HAKIT_E_CONTROL_UNTRUSTED', `${s.isSocket() ? 'socket' : 'not a socket, but a file'} owned by uid ${s.uid} (hakitd's is root's): not trusted`, socket_path);
  }
}

export type ControlRedirect = (cmd: string, args: Record<string, unknown>, timeout_ms: number) => Promise<unknown>;
let redirect: ControlRedirect | undefined;

/** `hakit -H NODE` sends the control requests to NODE's API instead (core/cli/remote/). */
export function redirectControlRequests(f: ControlRedirect | undefined): void {
  redirect = f;
}

/** Sends one command; resolves with the result or rejects with the daemon's coded error. */
export function controlRequest(socket_path: string, cmd: string, args: Record<string, unknown> = {}, timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS): Promise<unknown> {
  if (redirect) return redirect(cmd, args, timeout_ms);
  const id = next_id++;
  try {
    checkControlSocket(socket_path);
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise((resolve, reject) => {
    const c = net.connect(socket_path);
    let buffered = '';
    let settled = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      c.destroy();
      f();
    };
    const timer = setTimeout(
      () => settle(() => reject(new HakitError('HAKIT_E_CONTROL_TIMEOUT', `no answer to "${cmd}" within ${timeout_ms} ms`, socket_path))),
      timeout_ms,
    );
    c.setEncoding('utf8');
    c.once('connect', () => c.write(JSON.stringify({ id, cmd, args }) + '\n'));
    c.on('error', (e: NodeJS.ErrnoException) =>
      settle(() =>
        reject(
          e.code === 'EACCES' || e.code === 'EPERM'
            ? new HakitError('HAKIT_E_CONTROL_DENIED', `permission denied (${e.code}): the control socket is root's; run the command as root`, socket_path)
            : new HakitError('HAKIT_E_DAEMON_UNREACHABLE', `cannot reach hakitd (${e.code ?? e.message}); is it running?`, socket_path),
        ),
      ),
    );
    c.on('close', () => settle(() => reject(new HakitError('HAKIT_E_DAEMON_UNREACHABLE', 'hakitd closed the connection without answering', socket_path))));
    c.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_RESPONSE_BYTES) {
        settle(() => reject(new HakitError('HAKIT_E_INTERNAL', `response larger than ${MAX_RESPONSE_BYTES} bytes`, socket_path)));
        return;
      }
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      let r: ControlResponse;
      try {
        r = JSON.parse(buffered.slice(0, nl)) as ControlResponse;
      } catch {
        settle(() => reject(new HakitError('HAKIT_E_INTERNAL', 'unreadable response from hakitd', socket_path)));
        return;
      }
      if (r.ok) settle(() => resolve(r.result));
      else settle(() => reject(toHakitError(r.error.code, r.error.message)));
    });
  });
}
