// UDP heartbeats: one socket per LAN bound to this node's address on that LAN, unicast to
// each peer's address on the same LAN. Binding to the LAN address (not 0.0.0.0) means a
// heartbeat arrives on the socket of the LAN it crossed, which the packet's LAN index must
// match.
import dgram from 'node:dgram';
import { HakitError } from '../../errors/catalogue';
import type { LogSink } from '../../log/sink';
import { HeartbeatDecoder, HeartbeatEncoder, type DropCounters, type PayloadParser } from '../wire/codec';
import { DropLog } from './drop-log';
import type { HeartbeatHandler, LanConfig, Transport } from './types';

export interface UdpTransportOptions<P> {
  readonly node_id: string;
  readonly incarnation: number;
  readonly key: Buffer;
  readonly lans: readonly LanConfig[];
  readonly period_ms: number;
  readonly parsePayload: PayloadParser<P>;
  readonly log: LogSink;
  /** Monotonic clock in ms (injected for tests). */
  readonly now_ms?: () => number;
}

interface LanSocket {
  readonly lan: LanConfig;
  readonly socket: dgram.Socket;
}

const monotonicMs = (): number => Number(process.hrtime.bigint() / 1_000_000n);

export class UdpTransport<P> implements Transport<P> {
  private readonly encoder: HeartbeatEncoder;
  private readonly decoder: HeartbeatDecoder<P>;
  private readonly drop_log: DropLog;
  private readonly handlers: HeartbeatHandler<P>[] = [];
  private readonly sockets: LanSocket[] = [];
  private readonly now_ms: () => number;
  private timer: NodeJS.Timeout | undefined;
  private payload: P | undefined;
  private closed = false;
  private send_errors = 0;

  constructor(private readonly opts: UdpTransportOptions<P>) {
    this.encoder = new HeartbeatEncoder(opts.key, opts.node_id, opts.incarnation);
    this.decoder = new HeartbeatDecoder(opts.key, opts.node_id, opts.parsePayload);
    this.drop_log = new DropLog(opts.log);
    this.now_ms = opts.now_ms ?? monotonicMs;
  }

  async start(): Promise<void> {
    try {
      for (const lan of this.opts.lans) this.sockets.push(await this.bind(lan));
    } catch (e) {
      await this.close();
      throw e;
    }
    this.timer = setInterval(() => this.sendAll(), this.opts.period_ms);
  }

  private bind(lan: LanConfig): Promise<LanSocket> {
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    socket.on('message', (buf, rinfo) => this.receive(lan, buf, `${rinfo.address}:${rinfo.port}`));
    return new Promise((resolve, reject) => {
      socket.once('error', (e) => {
        socket.close();
        reject(new HakitError('HAKIT_E_TRANSPORT_BIND', `cannot bind UDP ${lan.local_address}:${lan.port}: ${e.message}`, `LAN ${lan.index}`));
      });
      socket.bind({ address: lan.local_address, port: lan.port, exclusive: true }, () => {
        socket.removeAllListeners('error');
        // After binding, a socket error (e.g. ICMP unreachable feedback) is counted, never fatal.
        socket.on('error', () => this.send_errors++);
        resolve({ lan, socket });
      });
    });
  }

  private receive(lan: LanConfig, buf: Buffer, from: string): void {
    if (this.closed) return;
    const now = this.now_ms();
    const r = this.decoder.decode(buf, lan.index);
    if (!r.ok) {
      this.drop_log.record(r.reason, lan.index, from, now);
      return;
    }
    for (const h of this.handlers) h(r.heartbeat, now);
  }

  announce(payload: P): void {
    this.payload = payload;
    this.sendAll();
  }

  private sendAll(): void {
    if (this.closed || this.payload === undefined) return;
    for (const { lan, socket } of this.sockets) {
      let packet: Buffer;
      try {
        packet = this.encoder.encode(lan.index, this.payload);
      } catch (e) {
        this.opts.log.error({ err: e, lan: lan.index }, 'cannot encode heartbeat');
        return;
      }
      for (const peer of lan.peers) {
        socket.send(packet, peer.port, peer.address, (err) => {
          if (err) this.send_errors++;
        });
      }
    }
  }

  onHeartbeat(handler: HeartbeatHandler<P>): void {
    this.handlers.push(handler);
  }

  dropCounters(): DropCounters {
    return this.decoder.dropCounters();
  }

  sendErrorCount(): number {
    return this.send_errors;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const sockets = this.sockets.splice(0);
    await Promise.all(sockets.map(({ socket }) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  }
}
