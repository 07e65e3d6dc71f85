// The CLI's side of the control socket: one request, one response, bounded in time and size.
import net from 'node:net';
import { HakitError, type ErrorCode, ERROR_CODES } from '../errors/catalogue';
import { MAX_RESPONSE_BYTES, type ControlResponse } from './protocol';

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

let next_id = 1;

function toHakitError(code: string, message: string): HakitError {
  const known = Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
  return new HakitError(known ? (code as ErrorCode) : 'HAKIT_E_INTERNAL', known ? message : `${code}: ${message}`);
}

/** Sends one command; resolves with the result or rejects with the daemon's coded error. */
export function controlRequest(socket_path: string, cmd: string, args: Record<string, unknown> = {}, timeout_ms = DEFAULT_REQUEST_TIMEOUT_MS): Promise<unknown> {
  const id = next_id++;
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
      settle(() => reject(new HakitError('HAKIT_E_DAEMON_UNREACHABLE', `cannot reach hakitd (${e.code ?? e.message}); is it running?`, socket_path))),
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
