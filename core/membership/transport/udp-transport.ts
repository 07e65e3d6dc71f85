// UDP heartbeats: one socket per LAN bound to this node's address on that LAN, unicast to
// each peer's address on the same LAN. Binding to the LAN address (not 0.0.0.0) means a
// heartbeat arrives on the socket of the LAN it crossed, which the packet's LAN index must
// match. A heartbeat is accepted only from the sender's configured address on that LAN, and
// only when it echoes this process's challenge (replay protection across restarts of either
// end: core/membership/wire/codec.ts, docs/adr/0006-replay-protection.md).
import dgram from 'node:dgram';
import { HakitError } from '../../errors/catalogue';
import type { LogSink } from '../../log/sink';
import { HeartbeatDecoder, HeartbeatEncoder, newChallenge, OWN_WIRE_RANGE, type DropCounters, type IncarnationFloors, type PayloadParser } from '../wire/codec';
import { initNegotiation, peerRangeHeard, sendVersion, type NegotiationState, type WireRange } from '../wire/pure/negotiate';
import { DropLog } from './drop-log';
import { FileIncarnationFloors } from './floor-file';
import type { HeartbeatHandler, LanConfig, Transport, WireStatus } from './types';

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
  /** File of the peers' incarnation floors (in the state dir); without it floors live in memory only. */
  readonly floors_file?: string;
  /** This life's challenge (tests); default random. */
  readonly challenge?: Buffer;
  /** The wire versions this node speaks (tests of older and newer peers); default all this code speaks. */
  readonly wire_range?: WireRange;
}

/** A peer whose challenge changed is answered at once, but at most this often (a replay flood must not make us send). */
export const CHALLENGE_ANSWER_MIN_INTERVAL_MS = 100;

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
  private readonly floors: IncarnationFloors | undefined;
  private readonly answered_at_ms = new Map<string, number>();
  private negotiation: NegotiationState;

  constructor(private readonly opts: UdpTransportOptions<P>) {
    const challenge = opts.challenge ?? newChallenge();
    const range = opts.wire_range ?? OWN_WIRE_RANGE;
    this.negotiation = initNegotiation(range);
    this.encoder = new HeartbeatEncoder(opts.key, opts.node_id, opts.incarnation, challenge, range);
    this.floors = opts.floors_file === undefined ? undefined : new FileIncarnationFloors(opts.floors_file, opts.log);
    this.decoder = new HeartbeatDecoder(opts.key, opts.node_id, opts.parsePayload, {
      challenge,
      ...(this.floors ? { floors: this.floors } : {}),
      sourceAllowed: (node_id, lan, address) => this.sourceAllowed(node_id, lan, address),
      onNewChallenge: (node_id) => this.answerChallenge(node_id),
      versions: range,
      onPeerRange: (node_id, incarnation, peer_range) => this.peerRange(node_id, incarnation, peer_range),
    });
    this.drop_log = new DropLog(opts.log);
    this.now_ms = opts.now_ms ?? monotonicMs;
  }

  /** A sender is heard only from its cluster.xml address on the LAN the packet crossed. */
  private sourceAllowed(node_id: string, lan: number, address: string): boolean {
    const l = this.opts.lans.find((x) => x.index === lan);
    return l !== undefined && l.peers.some((p) => p.node_id === node_id && p.address === address);
  }

  /** Sends our payload to a peer whose challenge we just learned, so it can verify us within one round trip. */
  private answerChallenge(node_id: string): void {
    const now = this.now_ms();
    if (now - (this.answered_at_ms.get(node_id) ?? -Infinity) < CHALLENGE_ANSWER_MIN_INTERVAL_MS) return;
    this.answered_at_ms.set(node_id, now);
    setImmediate(() => this.sendAll(node_id));
  }

  /** A peer's authentic packet told its versions: negotiate; a new version is sent at once. */
  private peerRange(node_id: string, incarnation: number, range: WireRange): void {
    const before = sendVersion(this.negotiation, node_id);
    const step = peerRangeHeard(this.negotiation, node_id, incarnation, range);
    this.negotiation = step.state;
    for (const e of step.effects) {
      if (e.level === 'error') this.opts.log.error({ code: e.code, peer: e.node, peer_versions: range, own_versions: this.negotiation.own }, `${e.code}: ${e.msg}`);
      else this.opts.log.info({ peer: e.node, peer_versions: range }, e.msg);
    }
    if (sendVersion(this.negotiation, node_id) !== before) this.answerChallenge(node_id);
  }

  wireStatus(): WireStatus {
    const peers: WireStatus['peers'] = Object.fromEntries(Object.entries(this.negotiation.peers).map(([n, p]) => [n, { range: p.range, version: p.version }]));
    return { own: this.negotiation.own, peers };
  }

  async start(): Promise<void> {
    try {
      for (const lan of this.opts.lans) this.sockets.push(await this.bind(lan));
    } catch (e) {
      await this.close();
      throw e;
    }
    this.timer = setInterval(() => {
      this.sendAll();
      this.drop_log.tick(this.now_ms());
    }, this.opts.period_ms);
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
    const r = this.decoder.decode(buf, lan.index, from.slice(0, from.lastIndexOf(':')));
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

  /** Sends the payload on every LAN to every peer (or to `only` one), each packet echoing that peer's challenge. */
  private sendAll(only?: string): void {
    if (this.closed || this.payload === undefined) return;
    for (const { lan, socket } of this.sockets) {
      for (const peer of lan.peers) {
        if (only !== undefined && peer.node_id !== only) continue;
        let packet: Buffer;
        try {
          packet = this.encoder.encode(lan.index, this.payload, this.decoder.challengeOf(peer.node_id), sendVersion(this.negotiation, peer.node_id));
        } catch (e) {
          this.opts.log.error({ err: e, lan: lan.index }, 'cannot encode heartbeat');
          return;
        }
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
