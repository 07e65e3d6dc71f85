// ping checker: ICMP echo through one raw socket (the raw-socket package) shared by every
// ping target of the daemon. Replies are matched by identifier and sequence number; the
// socket is opened on first use and closed when the last user releases it.
import { HakitError } from '../../errors/catalogue';
import type { ProbeResult } from './types';

interface RawSocket {
  on(ev: 'message', f: (buf: Buffer, source: string) => void): void;
  on(ev: 'error', f: (e: Error) => void): void;
  send(buf: Buffer, offset: number, length: number, addr: string, cb: (e: Error | null) => void): void;
  close(): void;
}
interface RawModule {
  createSocket(o: { protocol: number }): RawSocket;
  Protocol: { ICMP: number };
  createChecksum(b: Buffer): number;
  writeChecksum(b: Buffer, offset: number, sum: number): void;
}

const ECHO_REQUEST = 8;
const ECHO_REPLY = 0;
const ECHO_PAYLOAD_BYTES = 16;
/** Pings outstanding at once per pinger; more are refused as down (a bound, not a queue). */
export const MAX_PINGS_IN_FLIGHT = 1024;

export class IcmpPinger {
  private socket: RawSocket | null = null;
  private users = 0;
  private seq = 0;
  private readonly pending = new Map<number, (r: ProbeResult) => void>();
  private readonly ident: number;

  constructor(ident = process.pid & 0xffff) {
    this.ident = ident;
  }

  acquire(): void {
    this.users++;
  }

  release(): void {
    this.users = Math.max(0, this.users - 1);
    if (this.users === 0) this.close();
  }

  private open(): RawSocket {
    if (this.socket) return this.socket;
    let raw: RawModule;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      raw = require('raw-socket') as RawModule;
      this.socket = raw.createSocket({ protocol: raw.Protocol.ICMP });
    } catch (e) {
      throw new HakitError('HAKIT_E_CHECKER_PING_SOCKET', e instanceof Error ? e.message : String(e), 'ping checker');
    }
    this.socket.on('message', (buf) => this.onMessage(buf));
    this.socket.on('error', () => this.close());
    return this.socket;
  }

  private onMessage(buf: Buffer): void {
    // IPv4 raw sockets deliver the IP header first.
    const ihl = ((buf[0] ?? 0) & 0x0f) * 4;
    if (buf.length < ihl + 8 || buf[ihl] !== ECHO_REPLY) return;
    if (buf.readUInt16BE(ihl + 4) !== this.ident) return;
    const seq = buf.readUInt16BE(ihl + 6);
    const done = this.pending.get(seq);
    if (done) done({ ok: true, detail: 'echo reply' });
  }

  private close(): void {
    for (const f of this.pending.values()) f({ ok: false, detail: 'ping socket closed' });
    this.pending.clear();
    this.socket?.close();
    this.socket = null;
  }

  ping(addr: string, timeout_ms: number): Promise<ProbeResult> {
    return new Promise((resolve) => {
      if (this.pending.size >= MAX_PINGS_IN_FLIGHT) {
        resolve({ ok: false, detail: `more than ${MAX_PINGS_IN_FLIGHT} pings in flight` });
        return;
      }
      let sock: RawSocket;
      try {
        sock = this.open();
      } catch (e) {
        resolve({ ok: false, detail: e instanceof Error ? e.message : String(e) });
        return;
      }
      this.seq = (this.seq + 1) & 0xffff;
      const seq = this.seq;
      const t = setTimeout(() => finish({ ok: false, detail: `no echo reply within ${timeout_ms} ms` }), timeout_ms);
      const finish = (r: ProbeResult): void => {
        if (this.pending.get(seq) !== finish) return;
        this.pending.delete(seq);
        clearTimeout(t);
        resolve(r);
      };
      this.pending.set(seq, finish);
      const pkt = Buffer.alloc(8 + ECHO_PAYLOAD_BYTES);
      pkt.writeUInt8(ECHO_REQUEST, 0);
      pkt.writeUInt16BE(this.ident, 4);
      pkt.writeUInt16BE(seq, 6);
      pkt.write('hakit-ping-check', 8, 'ascii');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const raw = require('raw-socket') as RawModule;
      raw.writeChecksum(pkt, 2, raw.createChecksum(pkt));
      sock.send(pkt, 0, pkt.length, addr, (e) => {
        if (e) finish({ ok: false, detail: `send: ${e.message}` });
      });
    });
  }
}
