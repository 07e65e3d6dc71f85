// The node side of the split-brain witness: lease requests and releases over UDP, answered
// by `hakit-witness` (core/witness/server.ts). A request waits for its answer as long
// as the lease it asks for: the module machine accepts a late grant (counted from the
// request's send time, core/module/pure/lease.ts), so a reply delayed by a starved CPU still
// renews the lease. Past that, the request rejects (a grant that late is worth nothing).
import dgram from 'node:dgram';
import { HakitError } from '../errors/catalogue';
import type { LogSink } from '../log/sink';
import { MAX_WITNESS_LEASE_MS } from '../module/pure/policy';
import type { WitnessAsk, WitnessGrant, WitnessPort } from '../module/runner/ports';
import type { WitnessReply } from './pure/witness';
import { HeartbeatDecoder, HeartbeatEncoder, newChallenge } from '../membership/wire/codec';
import { MAX_WITNESS_CHALLENGE_ROUNDS, parseWitnessReply, WITNESS_CHANNEL, WITNESS_NODE_ID } from './protocol';

/** Requests waiting for an answer at once; more are refused at once. */
export const MAX_PENDING_WITNESS_REQUESTS = 256;
/** How long a request that names no lease length waits for its answer. */
export const DEFAULT_WITNESS_REPLY_TIMEOUT_MS = 1000;

export interface WitnessClientOptions {
  readonly node_id: string;
  readonly incarnation: number;
  readonly key: Buffer;
  readonly address: string;
  readonly port: number;
  /** Overrides the wait for an answer (default: the lease asked for, capped at MAX_WITNESS_LEASE_MS). */
  readonly reply_timeout_ms?: number;
  readonly log: LogSink;
}

interface Pending {
  resolve: (g: WitnessGrant) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  /** Monotonic send time, for the round-trip time in the debug log. */
  sent_ms: number;
  /** The request as sent, for a resend after a challenge. */
  payload: unknown;
  challenge_rounds: number;
}

export class UdpWitnessClient implements WitnessPort {
  private readonly encoder: HeartbeatEncoder;
  private readonly decoder: HeartbeatDecoder<WitnessReply>;
  private readonly pending = new Map<string, Pending>();
  private socket: dgram.Socket | undefined;

  constructor(private readonly o: WitnessClientOptions) {
    const challenge = newChallenge();
    this.encoder = new HeartbeatEncoder(o.key, o.node_id, o.incarnation, challenge);
    // Replies must echo this life's challenge: a grant recorded before this daemon started
    // (request ids start at 1 in every life) can never match a request of this one.
    this.decoder = new HeartbeatDecoder(o.key, o.node_id, parseWitnessReply, { challenge });
  }

  async start(): Promise<void> {
    const s = dgram.createSocket('udp4');
    s.on('message', (buf, rinfo) => this.receive(buf, rinfo.address));
    s.on('error', (e) => this.o.log.warn({ err: e.message }, 'witness socket error'));
    await new Promise<void>((resolve) => s.bind(0, () => resolve()));
    this.socket = s;
  }

  private receive(buf: Buffer, from_address: string): void {
    // Only the configured witness answers, and only for this node: request ids start at 1
    // on every node, so a grant for another node (forwarded by anyone on the path) would
    // otherwise match one of ours and let both sides serve.
    if (from_address !== this.o.address) return;
    const r = this.decoder.decode(buf, WITNESS_CHANNEL, from_address);
    if (!r.ok || r.heartbeat.node_id !== WITNESS_NODE_ID) return;
    const reply = r.heartbeat.payload;
    if (reply.node !== this.o.node_id) return;
    const key = `${reply.module}/${reply.request_id}`;
    const p = this.pending.get(key);
    if (!p) {
      this.o.log.debug({ module: reply.module, request_id: reply.request_id, granted: reply.granted }, 'witness reply for no waiting request');
      return;
    }
    if (reply.reason === 'challenge') {
      // The witness restarted (or we did): it answered with its challenge, which the decoder
      // has learned; the same request goes again, now echoing it.
      if (p.challenge_rounds >= MAX_WITNESS_CHALLENGE_ROUNDS) return;
      p.challenge_rounds++;
      this.o.log.debug({ module: reply.module, request_id: reply.request_id }, 'witness challenge: request sent again');
      this.send(p.payload);
      return;
    }
    this.pending.delete(key);
    clearTimeout(p.timer);
    const rtt_ms = Math.round(performance.now() - p.sent_ms);
    this.o.log.debug({ module: reply.module, request_id: reply.request_id, granted: reply.granted, epoch: reply.epoch, lease_ms: reply.lease_ms, rtt_ms }, 'witness reply');
    p.resolve({ granted: reply.granted, lease_ms: reply.lease_ms, epoch: reply.epoch });
  }

  private send(payload: unknown): void {
    this.socket?.send(this.encoder.encode(WITNESS_CHANNEL, payload, this.decoder.challengeOf(WITNESS_NODE_ID)), this.o.port, this.o.address);
  }

  request(module: string, ask: WitnessAsk): Promise<WitnessGrant> {
    const where = `witness ${this.o.address}:${this.o.port}`;
    if (!this.socket) return Promise.reject(new HakitError('HAKIT_E_INTERNAL', 'witness client not started', where));
    if (this.pending.size >= MAX_PENDING_WITNESS_REQUESTS) return Promise.reject(new HakitError('HAKIT_E_INTERNAL', 'too many witness requests pending', where));
    const key = `${module}/${ask.request_id}`;
    const timeout_ms = this.o.reply_timeout_ms ?? Math.min(ask.lease_ms ?? DEFAULT_WITNESS_REPLY_TIMEOUT_MS, MAX_WITNESS_LEASE_MS);
    return new Promise<WitnessGrant>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(new HakitError('HAKIT_E_CONTROL_TIMEOUT', `no witness answer within ${timeout_ms} ms`, where));
      }, timeout_ms);
      const payload = { type: 'Request', module, node: this.o.node_id, ...ask };
      this.pending.set(key, { resolve, reject, timer, sent_ms: performance.now(), payload, challenge_rounds: 0 });
      this.o.log.debug({ module, request_id: ask.request_id, epoch: ask.epoch, bump: ask.bump }, 'witness request');
      this.send(payload);
    });
  }

  release(module: string, up_to_request_id?: number): void {
    this.o.log.debug({ module, up_to_request_id }, 'witness release');
    this.send({ type: 'Release', module, node: this.o.node_id, ...(up_to_request_id === undefined ? {} : { up_to_request_id }) });
  }

  async close(): Promise<void> {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new HakitError('HAKIT_E_DAEMON_UNREACHABLE', 'witness client closed'));
    }
    this.pending.clear();
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
