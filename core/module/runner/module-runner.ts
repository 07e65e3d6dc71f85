// Performs one module machine's effects with the real adapters and feeds the results back as
// events (docs/architecture.md, rule 1). Events are handled one at a time, in order; the effects of a step
// are performed in the order given, each finished before the next (a VIP is on the interface
// before start_prim is launched; a Persist is on disk before the Announce that follows it).
// Scripts are launched, not awaited: their exit is a later ScriptExited event.
import fs from 'node:fs';
import path from 'node:path';
import { HakitError, isHakitError } from '../../errors/catalogue';
import type { LogSink } from '../../log/sink';
import type { NodeId, PeerModuleView } from '../../membership/pure/types';
import type { VipManager, VipSpec } from '../../net/types';
import type { ProcessRunner } from '../../scripts/types';
import { REQUIRED_SCRIPTS } from '../../config/pure/types';
import type {
  ModuleAnnouncement,
  ModuleEffect,
  ModuleEvent,
  ModuleMode,
  OperatorCommand,
  PersistedModuleState,
  StepResult,
  TimerId,
} from '../pure/types';
import type { ModuleStatus } from '../../control/api';
import type { Clock } from './clock';
import type { ReplicationPort, WitnessPort } from './ports';
import type { StateStore } from './state-store';

/** Events waiting to be stepped; PeerView events are coalesced, so only a flood of other events can fill it. */
export const MAX_QUEUED_EVENTS = 1000;
/** How long an operator command waits for the machine's CommandAccepted or Refuse. */
export const COMMAND_REPLY_TIMEOUT_MS = 10_000;
/** Packets in a gratuitous ARP burst. */
export const ARP_BURST_COUNT = 3;
/** Exit code reported for a script that exists but cannot be executed (shell convention). */
export const SCRIPT_NOT_EXECUTABLE_CODE = 126;
/** Exit code of a required script that is not there (a shell's "command not found"). */
export const MISSING_SCRIPT_EXIT_CODE = 127;

export type StepFn<S> = (state: S, event: ModuleEvent, now_ms: number) => StepResult<S>;

export interface ModuleRunnerDeps<S> {
  readonly module: string;
  readonly node: NodeId;
  readonly mode: ModuleMode;
  readonly initial: S;
  readonly step: StepFn<S>;
  /** The module's bin/ folder, where its scripts live. */
  readonly bin_dir: string;
  readonly user_vars: Readonly<Record<string, string>>;
  readonly scripts: ProcessRunner;
  readonly vips: VipManager;
  readonly vip_specs: readonly VipSpec[];
  readonly store: StateStore;
  readonly replication: ReplicationPort;
  readonly witness: WitnessPort;
  readonly clock: Clock;
  readonly log: LogSink;
  /** The module's configured failover (shown when the operator has not overridden it). */
  readonly policy_failover: boolean;
  readonly onAnnounce: (a: ModuleAnnouncement) => void;
  readonly onFarmMembers?: (members: readonly NodeId[]) => void;
}

interface PendingCommand {
  resolve: () => void;
  reject: (e: HakitError) => void;
  timer: unknown;
}

export class ModuleRunner<S> {
  private state: S;
  private readonly queue: ModuleEvent[] = [];
  private draining = false;
  private broken = false;
  private disposed = false;
  private readonly timers = new Map<TimerId, unknown>();
  private readonly pending = new Map<string, PendingCommand>();
  private next_request = 1;
  private announcement: ModuleAnnouncement | null = null;
  private persisted: PersistedModuleState;
  private peers: readonly PeerModuleView[] = [];
  private farm_members: readonly NodeId[] = [];
  private last_error: { code: string; message: string } | null = null;
  private readonly background = new Set<Promise<unknown>>();
  private idle_waiters: Array<() => void> = [];

  constructor(private readonly d: ModuleRunnerDeps<S>) {
    this.state = d.initial;
    this.persisted = d.store.read(d.module);
    d.replication.onFenceWanted?.((token) => this.deliver({ type: 'FenceWanted', token }));
  }

  get module(): string {
    return this.d.module;
  }

  /** Queues an event; it is stepped after every event queued before it. */
  deliver(event: ModuleEvent): void {
    if (this.disposed || this.broken) return;
    if (event.type === 'PeerView') {
      this.peers = event.peers;
      const i = this.queue.findIndex((e) => e.type === 'PeerView');
      if (i >= 0) {
        this.queue[i] = event; // a newer full view replaces an older one not yet stepped
        return;
      }
    }
    if (this.queue.length >= MAX_QUEUED_EVENTS) {
      this.fail(new HakitError('HAKIT_E_INTERNAL', `more than ${MAX_QUEUED_EVENTS} events queued`, `module ${this.d.module}`));
      return;
    }
    this.queue.push(event);
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.broken && !this.disposed) {
        const event = this.queue.shift()!;
        let r: StepResult<S>;
        try {
          r = this.d.step(this.state, event, this.d.clock.now_ms());
        } catch (e) {
          this.fail(e);
          return;
        }
        this.state = r.state;
        for (const fx of r.effects) {
          if (this.broken || this.disposed) return;
          await this.perform(fx);
        }
      }
    } finally {
      this.draining = false;
      const w = this.idle_waiters;
      this.idle_waiters = [];
      for (const f of w) f();
    }
  }

  /** Resolves when every queued event has been stepped and its effects performed. */
  whenIdle(): Promise<void> {
    if (!this.draining && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle_waiters.push(r));
  }

  private async perform(fx: ModuleEffect): Promise<void> {
    switch (fx.type) {
      case 'Persist':
        try {
          this.d.store.write(this.d.module, fx.record);
          this.persisted = fx.record;
        } catch (e) {
          this.fail(e);
        }
        return;
      case 'RunScript':
        if (await this.beforeScript(fx)) this.runScript(fx);
        return;
      case 'KillScripts':
        this.track(this.d.scripts.killAll());
        return;
      case 'SetVip':
        await this.setVip(fx.present);
        return;
      case 'GratuitousArp':
        for (const v of this.d.vip_specs) {
          this.track(this.d.vips.announce(v, ARP_BURST_COUNT).catch((e: unknown) => this.noteError(e, 'gratuitous ARP failed')));
        }
        return;
      case 'StartReplication':
        this.d.replication.start(fx.role, (e) => this.deliver(e));
        return;
      case 'StopReplication':
        this.d.replication.stop();
        return;
      case 'ReplicationFence':
        this.d.replication.fenced?.(fx.token);
        return;
      case 'ReplicationFenceRefused':
        this.d.replication.fenceRefused?.(fx.token, fx.reason);
        return;
      case 'ReplicationPeerLost':
        this.d.replication.peerLost?.();
        return;
      case 'Announce':
        this.announcement = fx.announcement;
        this.d.onAnnounce(fx.announcement);
        return;
      case 'SetTimer':
        this.setTimer(fx.id, fx.at_ms);
        return;
      case 'CancelTimer':
        this.cancelTimer(fx.id);
        return;
      case 'WitnessRequest':
        this.askWitness(fx);
        return;
      case 'WitnessRelease':
        this.d.witness.release(this.d.module, fx.up_to_request_id);
        return;
      case 'FarmMembers':
        this.farm_members = fx.members;
        this.d.onFarmMembers?.(fx.members);
        return;
      case 'Log':
        this.d.log[fx.level]({ code: fx.code }, fx.msg);
        return;
      case 'CommandAccepted':
        this.settle(fx.request_id, undefined);
        return;
      case 'Refuse': {
        const err = new HakitError(fx.code, fx.message, `module ${this.d.module}`);
        this.last_error = { code: fx.code, message: fx.message };
        this.settle(fx.request_id, err);
        return;
      }
    }
  }

  private runScript(fx: Extract<ModuleEffect, { type: 'RunScript' }>): void {
    const file = path.join(this.d.bin_dir, fx.script);
    const exited = (code: number | null, timedOut: boolean): void =>
      this.track(this.afterScript(fx.script).then(() => this.deliver({ type: 'ScriptExited', run_id: fx.run_id, script: fx.script, code, timedOut })));
    if (!fs.existsSync(file)) {
      // Optional scripts may be absent (config validation checks the required ones). A
      // required one gone since (its release removed under the running module, a file
      // deleted by hand) fails as a shell's missing command does: a stop that ran nothing
      // must not pass for one that stopped the application.
      if (REQUIRED_SCRIPTS[this.d.mode].includes(fx.script)) {
        this.d.log.error({ script: fx.script, path: file, code: 'HAKIT_E_MOD_SCRIPT_MISSING' }, `${fx.script} is missing from ${this.d.bin_dir}: counted as failed (exit 127)`);
        setImmediate(() => exited(MISSING_SCRIPT_EXIT_CODE, false));
        return;
      }
      this.d.log.debug({ script: fx.script }, 'script absent: nothing to run');
      setImmediate(() => exited(0, false));
      return;
    }
    this.d.log.info({ script: fx.script, args: fx.args, from: fx.env.HAKIT_FROM_STATE, to: fx.env.HAKIT_TO_STATE }, `running ${fx.script}`);
    const done = this.d.scripts
      .run({
        script: fx.script,
        path: file,
        args: fx.args,
        env: { ...this.d.user_vars, ...fx.env, HAKIT_MODULE_DIR: path.dirname(this.d.bin_dir) },
        cwd: this.d.bin_dir,
        timeout_ms: fx.timeout_ms,
        onLine: (stream, line) => this.d.log.info({ script: fx.script, stream }, line),
      })
      .then((r) => {
        if (r.spawn_error) this.noteError(new HakitError('HAKIT_E_SCRIPT_SPAWN', r.spawn_error, `${this.d.module}/bin/${fx.script}`), 'script not started');
        const level = r.code === 0 ? 'info' : 'warn';
        this.d.log[level]({ script: fx.script, code: r.code, signal: r.signal, timedOut: r.timedOut, duration_ms: r.duration_ms }, `${fx.script} ended`);
        exited(r.spawn_error ? SCRIPT_NOT_EXECUTABLE_CODE : r.code, r.timedOut);
      });
    this.track(done);
  }

  /** The replication port's hook before a script (mirror: capture mounted before start_prim). False: the script counts as failed. */
  private async beforeScript(fx: Extract<ModuleEffect, { type: 'RunScript' }>): Promise<boolean> {
    const rep = this.d.replication;
    if (!rep.beforeScript) return true;
    try {
      await rep.beforeScript(fx.script);
      return true;
    } catch (e) {
      this.noteError(e, `${fx.script} not started`);
      setImmediate(() => this.deliver({ type: 'ScriptExited', run_id: fx.run_id, script: fx.script, code: 1, timedOut: false }));
      return false;
    }
  }

  /** The replication port's hook after a script ended, before its exit is stepped (mirror: unmount after stop_prim). */
  private async afterScript(script: string): Promise<void> {
    const rep = this.d.replication;
    if (!rep.afterScript) return;
    try {
      await rep.afterScript(script);
    } catch (e) {
      this.noteError(e, `after ${script}`);
    }
  }

  private async setVip(present: boolean): Promise<void> {
    for (const v of this.d.vip_specs) {
      try {
        const change = present ? await this.d.vips.ensurePresent(v) : await this.d.vips.ensureAbsent(v);
        if (change !== 'unchanged') this.d.log.info({ vip: `${v.address}/${v.prefix_len}`, dev: v.ifname }, `virtual IP ${change}`);
      } catch (e) {
        this.noteError(e, present ? 'cannot add virtual IP' : 'cannot remove virtual IP');
      }
    }
  }

  private setTimer(id: TimerId, at_ms: number): void {
    this.cancelTimer(id);
    const delay_ms = Math.max(0, at_ms - this.d.clock.now_ms());
    const h = this.d.clock.setTimer(() => {
      this.timers.delete(id);
      this.deliver({ type: 'TimerFired', id });
    }, delay_ms);
    this.timers.set(id, h);
  }

  private cancelTimer(id: TimerId): void {
    const h = this.timers.get(id);
    if (h !== undefined) this.d.clock.clearTimer(h);
    this.timers.delete(id);
  }

  private askWitness(fx: Extract<ModuleEffect, { type: 'WitnessRequest' }>): void {
    const { request_id } = fx;
    this.track(
      this.d.witness.request(this.d.module, { request_id, epoch: fx.epoch, force: fx.force, bump: fx.bump, lease_ms: fx.lease_ms }).then(
        (g) => this.deliver({ type: 'WitnessReply', request_id, granted: g.granted, lease_ms: g.lease_ms, epoch: g.epoch }),
        (e: unknown) => {
          // Unanswered: the machine's witness-retry timer counts it as refused.
          this.d.log.warn({ err: e instanceof Error ? e.message : String(e), request_id }, 'witness did not answer');
        },
      ),
    );
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch(() => undefined).finally(() => this.background.delete(q));
    this.background.add(q);
  }

  private noteError(e: unknown, what: string): void {
    const code = isHakitError(e) ? e.code : 'HAKIT_E_INTERNAL';
    const message = e instanceof Error ? e.message : String(e);
    this.last_error = { code, message };
    this.d.log.error({ code, err: message }, what);
  }

  private settle(request_id: string | undefined, err: HakitError | undefined): void {
    if (request_id === undefined) return;
    const p = this.pending.get(request_id);
    if (!p) return;
    this.pending.delete(request_id);
    this.d.clock.clearTimer(p.timer);
    if (err) p.reject(err);
    else p.resolve();
  }

  /** Sends an operator command; resolves when the machine accepts it, rejects with its coded refusal. */
  command(command: OperatorCommand): Promise<void> {
    if (this.broken) {
      return Promise.reject(new HakitError('HAKIT_E_INTERNAL', 'the module stopped after an internal error; see its log, then restart hakitd', `module ${this.d.module}`));
    }
    const request_id = `${this.d.module}-${this.next_request++}`;
    return new Promise<void>((resolve, reject) => {
      const timer = this.d.clock.setTimer(() => {
        this.pending.delete(request_id);
        reject(new HakitError('HAKIT_E_CONTROL_TIMEOUT', `no answer to "${command.kind}" within ${COMMAND_REPLY_TIMEOUT_MS} ms`, `module ${this.d.module}`));
      }, COMMAND_REPLY_TIMEOUT_MS);
      this.pending.set(request_id, { resolve, reject, timer });
      this.deliver({ type: 'Command', command, request_id });
    });
  }

  /**
   * A broken invariant or a record that cannot be made durable: stop acting on this module
   * at once (kill its scripts, drop its VIPs, announce it stopped) with one clear log line.
   */
  private fail(e: unknown): void {
    if (this.broken) return;
    this.broken = true;
    this.noteError(e, 'module stopped: internal error or state not durable');
    this.queue.length = 0;
    for (const id of [...this.timers.keys()]) this.cancelTimer(id);
    this.d.replication.stop();
    this.track(this.d.scripts.killAll());
    this.track(this.setVip(false));
    const a = this.announcement;
    const stopped: ModuleAnnouncement = {
      module: this.d.module,
      mode: this.d.mode,
      state: 'STOP',
      status: 'NotReady',
      serving: false,
      epoch: a?.epoch ?? this.persisted.epoch,
      copyComplete: a?.copyComplete ?? this.persisted.copyComplete,
      lastRole: a?.lastRole ?? this.persisted.lastRole,
      tookOver: a?.tookOver ?? this.persisted.tookOver,
      handover: false,
      wantsPrim: false,
      started: false,
    };
    this.announcement = stopped;
    this.d.onAnnounce(stopped);
    for (const [id, p] of this.pending) {
      this.d.clock.clearTimer(p.timer);
      p.reject(new HakitError('HAKIT_E_INTERNAL', 'the module stopped after an internal error', `module ${this.d.module}`));
      this.pending.delete(id);
    }
  }

  isBroken(): boolean {
    return this.broken;
  }

  machineState(): S {
    return this.state;
  }

  status(): ModuleStatus {
    const a = this.announcement;
    return {
      module: this.d.module,
      mode: this.d.mode,
      state: a?.state ?? 'STOP',
      status: a?.status ?? 'NotReady',
      epoch: a?.epoch ?? this.persisted.epoch,
      copyComplete: a?.copyComplete ?? this.persisted.copyComplete,
      failover: this.persisted.failover ?? this.d.policy_failover,
      boot: this.persisted.boot,
      peers: this.peers.map((p) => ({ node: p.node, reachable: p.reachable, lansUp: p.lansUp, state: p.module?.state ?? null, status: p.module?.status ?? null })),
      last_error: this.last_error,
    };
  }

  farmMembers(): readonly NodeId[] {
    return this.farm_members;
  }

  /** Removes every VIP of the module whatever the machine's state: used when a stop did not
   *  finish in time at shutdown, so that this node never keeps answering for an address the
   *  peer is about to take over. */
  async releaseVips(): Promise<void> {
    for (const v of this.d.vip_specs) {
      await this.d.vips.ensureAbsent(v).catch((e: unknown) => this.noteError(e, `virtual IP ${v.address} not removed`));
    }
  }

  /** Releases timers and kills leftover scripts; the module's VIPs are left as the machine set them. */
  async dispose(): Promise<void> {
    this.disposed = true;
    for (const id of [...this.timers.keys()]) this.cancelTimer(id);
    for (const [, p] of this.pending) {
      this.d.clock.clearTimer(p.timer);
      p.reject(new HakitError('HAKIT_E_DAEMON_UNREACHABLE', 'hakitd is shutting down', `module ${this.d.module}`));
    }
    this.pending.clear();
    await this.d.scripts.killAll();
    await Promise.all([...this.background]);
    await this.d.replication.dispose?.().catch((e: unknown) => this.noteError(e, 'replication not released'));
  }
}
