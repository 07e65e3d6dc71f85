// tcp checker: a connect that completes within the timeout is up; the socket is closed at once.
import net from 'node:net';
import type { ProbeResult } from './types';

export function tcpProbe(addr: string, port: number, timeout_ms: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = net.connect({ host: addr, port });
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve(r);
    };
    const t = setTimeout(() => finish({ ok: false, detail: `connect timeout after ${timeout_ms} ms` }), timeout_ms);
    s.once('connect', () => finish({ ok: true, detail: 'connected' }));
    s.once('error', (e: NodeJS.ErrnoException) => finish({ ok: false, detail: `connect ${e.code ?? e.message}` }));
  });
}
