// `hakit-witness`: the split-brain arbitrator. Runs H3's pure witness (leases + newest epoch
// per module) behind an authenticated UDP socket. Its records (epochs, lease holders) are
// kept durably in a file; after a restart each recorded lease is assumed to run a full
// lease length from the restart, so a lease granted before the restart is never given to
// another node while its holder may still serve.
//
// Replay protection (docs/adr/0006-replay-protection.md): a request is decided only when it
// echoes this life's challenge (a request recorded before a restart cannot); one that does
// not gets a `challenge` reply. Each node's newest incarnation is kept durably (floors file),
// and when the nodes' addresses are configured the witness hears a node only from them and
// answers only there.
import dgram from 'node:dgram';
import fs from 'node:fs';
import { ERROR_CODES, HakitError } from '../errors/catalogue';
import { EMPTY_REFUSALS, noteRefusal, type RefusalLogState } from './pure/refusals';
import { witnessAfterRestart } from './pure/restart';
import type { LogSink } from '../log/sink';
import { initWitness, witnessStep, type WitnessInput, type WitnessModuleRecord, type WitnessState } from './pure/witness';
import { HeartbeatDecoder, HeartbeatEncoder, newChallenge, type Heartbeat } from '../membership/wire/codec';
import { FileIncarnationFloors } from '../membership/transport/floor-file';
import { parseWitnessInput, WITNESS_CHANNEL, WITNESS_NODE_ID } from './protocol';
import { MAX_WITNESS_LEASE_MS } from '../module/pure/policy';
import { REAL_CLOCK, type Clock } from '../module/runner/clock';

/**
 * The longest lease the witness grants (nodes ask for the lease of their heartbeat profile,
 * core/module/pure/policy.ts witnessTiming) and the lease assumed for a holder after a restart.
 */
export const DEFAULT_WITNESS_LEASE_MS = MAX_WITNESS_LEASE_MS;

export interface WitnessServerOptions {
  readonly address: string;
  readonly port: number;
  readonly key: Buffer;
  readonly lease_ms: number;
  readonly state_file: string;
  readonly log: LogSink;
  readonly clock?: Clock;
  /**
   * Each node's addresses (the witness hears a node only from these and answers only there).
   * Undefined: any address (the challenge and the floors still refuse replays).
   */
  readonly nodes?: Readonly<Record<string, readonly string[]>>;
  /** File of the nodes' incarnation floors; default: next to state_file. */
  readonly floors_file?: string;
  /** This life's challenge (tests); default random. */
  readonly challenge?: Buffer;
  /**
   * This life's incarnation: it must exceed every earlier one, or the nodes drop its replies
   * as a past life's (main.ts: nextIncarnation in the state dir). Default: the wall clock,
   * which a restart with the clock set back breaks.
   */
  readonly incarnation?: number;
}

/** A module's witness record as stored: every field of the pure record but the lease, plus its holder. */
type SavedModule = Omit<WitnessModuleRecord, 'lease'> & { holder: string | null };

export class WitnessServer {
  private state: WitnessState;
  private readonly encoder: HeartbeatEncoder;
  private readonly decoder: HeartbeatDecoder<WitnessInput>;
  private readonly clock: Clock;
  private socket: dgram.Socket | undefined;
  private saved = '';
  private refusals: RefusalLogState = EMPTY_REFUSALS;

  constructor(private readonly o: WitnessServerOptions) {
    this.clock = o.clock ?? REAL_CLOCK;
    const challenge = o.challenge ?? newChallenge();
    this.encoder = new HeartbeatEncoder(o.key, WITNESS_NODE_ID, o.incarnation ?? Date.now(), challenge);
    const nodes = o.nodes;
    this.decoder = new HeartbeatDecoder(o.key, WITNESS_NODE_ID, parseWitnessInput, {
      challenge,
      floors: new FileIncarnationFloors(o.floors_file ?? `${o.state_file.replace(/\.json$/, '')}-floors.json`, o.log),
      ...(nodes ? { sourceAllowed: (node: string, _lan: number, address: string) => (Object.hasOwn(nodes, node) ? (nodes[node] ?? []) : []).includes(address) } : {}),
    });
    this.state = this.restore();
  }

  private restore(): WitnessState {
    const empty = initWitness(this.o.lease_ms);
    let saved: Record<string, SavedModule>;
    try {
      saved = JSON.parse(fs.readFileSync(this.o.state_file, 'utf8')) as Record<string, SavedModule>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.o.log.error({ file: this.o.state_file, err: String(e) }, 'witness record unreadable: starting empty');
      return empty;
    }
    const modules: Record<string, WitnessModuleRecord> = {};
    for (const [m, saved_rec] of Object.entries(saved)) {
      const { holder, ...rest } = saved_rec;
      modules[m] = { ...rest, lease: holder ? { holder, until_ms: 0 } : null };
    }
    // Each recorded holder keeps its ticket a full lease from now (core/witness/pure/restart.ts).
    return witnessAfterRestart({ ...empty, modules }, this.clock.now_ms());
  }

  private persist(): void {
    const out: Record<string, SavedModule> = {};
    for (const [m, r] of Object.entries(this.state.modules)) {
      const { lease, ...rest } = r;
      out[m] = { ...rest, holder: lease?.holder ?? null };
    }
    const text = JSON.stringify(out);
    if (text === this.saved) return;
    const tmp = `${this.o.state_file}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.o.state_file);
    this.saved = text;
  }

  async start(): Promise<void> {
    const s = dgram.createSocket('udp4');
    s.on('message', (buf, rinfo) => {
      // One request must never take the witness down for every module (it would again at
      // each restart, the request being retried): a fault is logged, coded, and dropped.
      try {
        this.receive(buf, rinfo);
      } catch (e) {
        this.o.log.error({ code: 'HAKIT_E_INTERNAL', err: e instanceof Error ? e.message : String(e), from: rinfo.address }, 'witness: a request failed: dropped');
      }
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', (e) => reject(new HakitError('HAKIT_E_TRANSPORT_BIND', `cannot bind UDP ${this.o.address}:${this.o.port}: ${e.message}`, 'hakit-witness')));
      s.bind({ address: this.o.address, port: this.o.port, exclusive: true }, () => {
        s.removeAllListeners('error');
        s.on('error', (e) => this.o.log.warn({ err: e.message }, 'witness socket error'));
        resolve();
      });
    });
    this.socket = s;
  }

  private receive(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    const r = this.decoder.decode(buf, WITNESS_CHANNEL, rinfo.address);
    if (!r.ok) {
      if (r.unverified) this.challenge(r.unverified, rinfo);
      // Bad signature, older life: nothing changes, no answer; said with a code (rate-limited).
      const noted = noteRefusal(this.refusals, r.reason, rinfo.address, this.clock.now_ms());
      this.refusals = noted.state;
      if (noted.line) this.o.log.warn({ ...noted.line, port: rinfo.port }, `ticket request refused (${noted.line.reason}): ${ERROR_CODES[noted.line.code]}`);
      return;
    }
    const input = r.heartbeat.payload;
    // The MAC proves the sender's id; it may only speak for itself.
    if (input.node !== r.heartbeat.node_id) return;
    const before = this.state;
    const out = witnessStep(this.state, input, this.clock.now_ms());
    this.state = out.state;
    try {
      this.persist();
    } catch (e) {
      // Not durable: forget the change and answer nothing (the node counts it as a refusal).
      this.state = before;
      this.o.log.error({ err: String(e) }, 'cannot record the witness state: request dropped');
      return;
    }
    if (out.reply) {
      this.o.log.info({ module: input.module, node: input.node, request_id: out.reply.request_id, granted: out.reply.granted, reason: out.reply.reason, epoch: out.reply.epoch }, 'witness reply');
      this.socket?.send(this.encoder.encode(WITNESS_CHANNEL, out.reply, this.decoder.challengeOf(input.node)), rinfo.port, rinfo.address);
    }
  }

  /** Answers a request that does not echo our challenge with the challenge only: no decision, no state change. */
  private challenge(hb: Heartbeat<WitnessInput>, rinfo: dgram.RemoteInfo): void {
    const input = hb.payload;
    if (input.type !== 'Request' || input.node !== hb.node_id) return;
    const reply = { module: input.module, node: input.node, request_id: input.request_id, granted: false, lease_ms: 0, epoch: 0, reason: 'challenge' };
    this.socket?.send(this.encoder.encode(WITNESS_CHANNEL, reply, this.decoder.challengeOf(hb.node_id)), rinfo.port, rinfo.address);
  }

  dropCounters(): ReturnType<HeartbeatDecoder<WitnessInput>['dropCounters']> {
    return this.decoder.dropCounters();
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
