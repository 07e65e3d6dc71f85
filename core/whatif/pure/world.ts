// The what-if world: every node of the cluster runs the daemon's own pure membership and
// module machines (and the witness its own pure step) on one simulated clock, with a
// network that delivers in 1 ms except where the scenario cut it, scripts that take the
// scenario's time and a replication session that syncs in the scenario's time. Each module's
// checkers and failover rules run beside its machine (monitor.ts); the scenario's application
// and checker faults make their probes fail. No
// randomness: the same snapshot and scenario give the same prediction. Pure: no I/O, no
// timers; the local mutable state never leaves run().
import { initMembership, membershipStep, type MembershipState } from '../../membership/pure/membership';
import type { LanIndex, MembershipEffect, MembershipEvent, NodeId } from '../../membership/pure/types';
import { initWitness, witnessStep, type WitnessInput, type WitnessReply, type WitnessState } from '../../witness/pure/witness';
import { step, type ModuleMachine } from '../../module/pure/machine';
import type { ModuleAnnouncement, ModuleEffect, ModuleEvent, ScriptName, TimerId } from '../../module/pure/types';
import { moduleTargetUp } from '../../checkers/pure/host-behaviour';
import type { TargetSpec } from '../../checkers/pure/types';
import type { ErrorCode } from '../../errors/catalogue';
import { MonitorReplay, type MonitorEv } from './monitor';
import { appResources } from './app-resources';
import { seedMachine } from './seed';
import type { RuleActionTaken, TimelineEntry, WhatIfCluster, WhatIfFault, WhatIfModuleNow, WhatIfScenario } from './types';

/** Delivery time of a heartbeat or a witness message on a working link. */
const LINK_DELAY_MS = 1;
/** How often the replication session is looked at (as the simulation's fake engine does). */
const REPL_CHECK_MS = 50;
/** A runaway world stops here (a machine setting timers in the past would spin): the answer says it is incomplete, and the daemon's event loop, which runs the simulation, is never held long. */
export const MAX_WORLD_EVENTS = 200_000;

type Ev =
  | { k: 'tick'; node: NodeId }
  | { k: 'hb'; to: NodeId; from: NodeId; lan: LanIndex; version: number; modules: readonly ModuleAnnouncement[] }
  | { k: 'timer'; node: NodeId; module: string; id: TimerId; token: number }
  | { k: 'script'; node: NodeId; module: string; run_id: number; script: ScriptName }
  | { k: 'witness-in'; input: WitnessInput }
  | { k: 'witness-out'; reply: WitnessReply }
  | { k: 'synced'; module: string; session: number }
  | { k: 'repl' }
  | { k: 'start' }
  | { k: 'fault'; faults: readonly WhatIfFault[] }
  | { k: 'mon'; node: NodeId; module: string; ev: MonitorEv }
  | { k: 'rules-act'; node: NodeId; module: string; action: 'restart' | 'stopstart' | 'stop' | 'start'; rule: string; resource: string }
  | { k: 'rules-hold'; node: NodeId; module: string; resource: string; down: boolean };

interface Timed {
  readonly at: number;
  readonly seq: number;
  readonly ev: Ev;
}

interface WNode {
  readonly id: NodeId;
  readonly lans: readonly LanIndex[];
  alive: boolean;
  membership: MembershipState;
  readonly machines: Map<string, ModuleMachine>;
  readonly announced: Map<string, ModuleAnnouncement>;
  readonly timers: Map<string, number>;
  readonly scripts: Map<string, number>;
  readonly farmMembers: Map<string, readonly NodeId[]>;
  readonly monitors: Map<string, MonitorReplay>;
  hbVersion: number;
}

interface Session {
  readonly id: number;
  readonly sender: NodeId;
  readonly receiver: NodeId;
  synced: boolean;
}

/** What the rules engine of one module on one node did (at_ms after the start). */
export interface RuleRecord extends RuleActionTaken {
  readonly node: NodeId;
  readonly module: string;
  readonly resource: string;
  readonly rule: string;
}

export interface WorldRecord {
  readonly timeline: TimelineEntry[];
  /** Whether the world ran out of its event budget. */
  runaway: boolean;
  readonly rules: RuleRecord[];
  /** Resources seen going down after the start. */
  readonly downs: { readonly node: NodeId; readonly module: string; readonly resource: string; readonly at_ms: number }[];
  /** maxloop reached (the rules' or the machine's own count of failed starts). */
  readonly maxloop: { readonly node: NodeId; readonly module: string; readonly at_ms: number }[];
}

export class WhatIfWorld {
  now = 0;
  fault_at: number | null = null;
  readonly nodes = new Map<NodeId, WNode>();
  readonly record: WorldRecord = { timeline: [], runaway: false, rules: [], downs: [], maxloop: [] };
  private queue: Timed[] = [];
  private seq = 0;
  private events = 0;
  private witness: WitnessState;
  private readonly sessions = new Map<string, Session>();
  private nextSession = 1;
  private nextToken = 1;
  private cutLans = new Set<LanIndex>();
  private witnessCut = new Set<NodeId>();
  /** `node\0module`: the application fails there now. */
  private readonly appDown = new Set<string>();
  /** `node\0module\0resource`: that checker fails there now. */
  private readonly checkerDown = new Set<string>();

  /** `fault_at_ms`: when the fault will come; a re-integration under way now ends `sync_ms` after it. */
  constructor(
    private readonly c: WhatIfCluster,
    private readonly s: WhatIfScenario,
    private readonly fault_at_ms: number,
  ) {
    const lease_ms = Math.max(1, ...c.modules.map((m) => m.policy.witness_lease_ms));
    this.witness = initWitness(lease_ms);
    const period = c.profile.period_ms;
    c.nodes.forEach((n, i) => {
      const down = c.modules.some((m) => m.nodes.some((x) => x.node === n.node && !x.reachable));
      const node: WNode = {
        id: n.node,
        lans: n.lans,
        alive: !down,
        membership: this.freshMembership(n.node),
        machines: new Map(),
        announced: new Map(),
        timers: new Map(),
        scripts: new Map(),
        farmMembers: new Map(),
        monitors: new Map(),
        hbVersion: 0,
      };
      this.nodes.set(n.node, node);
      // Staggered ticks, as real daemons are.
      if (node.alive) this.push(Math.floor((period * i) / Math.max(1, c.nodes.length)), { k: 'tick', node: n.node });
    });
    for (const m of c.modules) this.seedModule(m);
    this.push(REPL_CHECK_MS, { k: 'repl' });
  }

  private freshMembership(self: NodeId): MembershipState {
    const me = this.c.nodes.find((n) => n.node === self);
    const mine = new Set(me?.lans ?? []);
    const state = initMembership({
      self,
      profile: this.c.profile,
      peers: this.c.nodes.filter((n) => n.node !== self).map((n) => ({ node: n.node, lans: n.lans.filter((l) => mine.has(l)) })),
      modules: this.c.modules.filter((m) => m.policy.nodes.includes(self)).map((m) => ({ module: m.policy.module, nodes: m.policy.nodes })),
    });
    // Peers reachable now were heard just now on every shared LAN, with what they announce:
    // a cold membership would believe every peer lost during its first timeout.
    const peers: Record<NodeId, MembershipState['peers'][string]> = {};
    for (const [id, p] of Object.entries(state.peers)) {
      const now = this.c.modules.flatMap((m) => m.nodes.filter((x) => x.node === id));
      const reachable = now.length > 0 ? now.every((x) => x.reachable) : true;
      if (!reachable) {
        peers[id] = p;
        continue;
      }
      const lastHeard_ms: Record<number, number> = {};
      for (const l of p.lans) lastHeard_ms[l] = 0;
      const modules = now.map((x) => x.announcement).filter((a): a is ModuleAnnouncement => a !== null);
      peers[id] = { ...p, lastHeard_ms, up: true, incarnation: 1, version: 0, modules };
    }
    return { ...state, peers };
  }

  private seedModule(m: WhatIfModuleNow): void {
    const name = m.policy.module;
    const lease_until_ms = Math.floor(m.policy.witness_lease_ms * (1 - 2 * m.policy.max_clock_drift_ratio));
    let holder: { node: NodeId; epoch: number } | null = null;
    for (const x of m.nodes) {
      const n = this.nodes.get(x.node);
      if (n === undefined || !n.alive) continue;
      const machine = seedMachine(x.node, m.policy, x.announcement, x.failover, { now_ms: 0, lease_until_ms });
      n.machines.set(name, machine);
      if (machine.lease !== null) holder = { node: x.node, epoch: machine.persisted.epoch };
    }
    if (holder !== null) {
      const rec = { lease: { holder: holder.node, until_ms: this.witness.lease_ms, request_id: 0 }, epoch: holder.epoch, confirmed: holder.epoch };
      this.witness = { ...this.witness, modules: { ...this.witness.modules, [name]: rec } };
    }
    if (m.policy.mode === 'mirror') {
      const sender = m.nodes.find((x) => x.announcement?.state === 'PRIM' && this.nodes.get(x.node)?.alive);
      const receiver = m.nodes.find((x) => x.announcement?.state === 'SECOND' && this.nodes.get(x.node)?.alive);
      if (sender !== undefined && receiver !== undefined) {
        const session: Session = { id: this.nextSession++, sender: sender.node, receiver: receiver.node, synced: receiver.announcement?.status === 'Ready' };
        this.sessions.set(name, session);
        if (!session.synced) this.push(this.fault_at_ms + this.s.sync_ms, { k: 'synced', module: name, session: session.id });
      }
    }
    // Boot each machine with its current view so it announces at once (no state change).
    for (const n of this.nodes.values()) {
      const machine = n.machines.get(name);
      if (machine === undefined) continue;
      const peers = m.nodes
        .filter((x) => x.node !== n.id)
        .map((x) => ({ node: x.node, reachable: x.reachable && (this.nodes.get(x.node)?.alive ?? false), lansUp: [...(this.nodes.get(x.node)?.lans ?? [])], module: x.announcement }));
      this.feed(n, name, { type: 'PeerView', peers });
    }
    // Its checkers and rules, started with the module's current state (as the host is on each announcement).
    const plan = m.monitor ?? null;
    if (plan === null) return;
    for (const n of this.nodes.values()) {
      const machine = n.machines.get(name);
      if (machine === undefined) continue;
      const mon = new MonitorReplay(plan, this.monitorHost(n, name));
      n.monitors.set(name, mon);
      mon.moduleChanged({ state: machine.state, status: machine.status });
    }
  }

  private monitorHost(n: WNode, module: string): ConstructorParameters<typeof MonitorReplay>[1] {
    return {
      now: () => this.now,
      schedule: (at, ev) => this.push(at, { k: 'mon', node: n.id, module, ev }),
      targetOk: (resource, t) => this.targetOk(n, module, resource, t),
      act: (action, rule, resource) => this.push(this.now, { k: 'rules-act', node: n.id, module, action, rule, resource }),
      hold: (resource, down) => this.push(this.now, { k: 'rules-hold', node: n.id, module, resource, down }),
      changed: (resource, from, to) => {
        // Down, and up again: a checker stopping (→ init, during scripts) is not news.
        if (to !== 'down' && !(from === 'down' && to === 'up')) return;
        if (to === 'down' && this.fault_at !== null) this.record.downs.push({ node: n.id, module, resource, at_ms: this.now - this.fault_at });
        this.note(n.id, module, 'checker', `${n.id}: checker ${resource} ${from} → ${to}`);
      },
      log: (level, msg, code) => this.onRulesLog(n, module, level, msg, code),
    };
  }

  private onRulesLog(n: WNode, module: string, level: string, msg: string, code: ErrorCode | undefined): void {
    if (code === 'HAKIT_E_RULE_MAXLOOP' && this.fault_at !== null) this.record.maxloop.push({ node: n.id, module, at_ms: this.now - this.fault_at });
    if (level === 'warn' || level === 'error') this.note(n.id, module, 'rule', `${n.id}: ${msg.replace(`${module}: `, '')}`);
  }

  /** A probe's outcome: the scenario's faults, the other module of a module checker, the witness of a split-brain checker. */
  private targetOk(n: WNode, module: string, resource: string, t: TargetSpec): boolean {
    if (this.checkerDown.has(`${n.id}\0${module}\0${resource}`)) return false;
    if (this.appDown.has(`${n.id}\0${module}`) && this.appResourceNames(module).includes(resource)) return false;
    const w = t.what;
    if (w.kind === 'module') {
      // As the daemon: a module on another node is not queryable yet (docs/checkers.md).
      const other = w.at === null ? n.machines.get(w.module) : undefined;
      return other !== undefined && moduleTargetUp(other);
    }
    if (resource.startsWith('splitbrain.')) return !this.witnessCut.has(n.id);
    return true;
  }

  private appResourceNames(module: string): string[] {
    const m = this.c.modules.find((x) => x.policy.module === module);
    return m === undefined ? [] : appResources(m);
  }

  // ------------------------------------------------------------------ queue

  private push(at: number, ev: Ev): void {
    const t: Timed = { at, seq: this.seq++, ev };
    // Insertion into a sorted array: worlds are small (a few nodes, one event per node and period).
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid] as Timed;
      if (q.at < at || (q.at === at && q.seq < t.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, t);
  }

  /** The scenario starts at `at` (time 0 of the timeline); each fault comes at its own time after it. */
  scheduleFaults(at: number): void {
    this.push(at, { k: 'start' });
    const times = [...new Set(this.s.faults.map((f) => f.at_ms))].sort((a, b) => a - b);
    for (const t of times) this.push(at + t, { k: 'fault', faults: this.s.faults.filter((f) => f.at_ms === t) });
  }

  runUntil(t: number): void {
    for (;;) {
      const next = this.queue[0];
      if (next === undefined || next.at > t) break;
      if (++this.events > MAX_WORLD_EVENTS) {
        this.record.runaway = true;
        return;
      }
      this.queue.shift();
      this.now = next.at;
      this.handle(next.ev);
    }
    this.now = Math.max(this.now, t);
  }

  // ------------------------------------------------------------------ timeline

  private note(node: NodeId | null, module: string | null, kind: TimelineEntry['kind'], text: string): void {
    if (this.fault_at === null) return;
    this.record.timeline.push({ at_ms: this.now - this.fault_at, node, module, kind, text });
  }

  // ------------------------------------------------------------------ events

  private handle(e: Ev): void {
    switch (e.k) {
      case 'start':
        this.fault_at = this.now;
        return;
      case 'fault':
        return this.onFault(e.faults);
      case 'mon': {
        const n = this.nodes.get(e.node);
        if (n === undefined || !n.alive) return;
        n.monitors.get(e.module)?.handle(e.ev);
        return;
      }
      case 'rules-act':
        return this.onRulesAct(e.node, e.module, e.action, e.rule, e.resource);
      case 'rules-hold': {
        const n = this.nodes.get(e.node);
        if (n === undefined || !n.alive) return;
        this.recordRule(n.id, e.module, e.resource, e.resource, e.down ? 'hold' : 'release');
        this.feed(n, e.module, { type: 'ResourceChanged', resource: e.resource, state: e.down ? 'down' : 'up' });
        return;
      }
      case 'tick':
        return this.onTick(e.node);
      case 'hb': {
        const n = this.nodes.get(e.to);
        if (n === undefined || !n.alive || !this.linkUp(e.from, e.to, e.lan)) return;
        this.stepMembership(n, { type: 'HeartbeatReceived', heartbeat: { from: e.from, lan: e.lan, incarnation: 1, seq: e.version, payload: { version: e.version, modules: e.modules } } });
        return;
      }
      case 'timer': {
        const n = this.nodes.get(e.node);
        const key = `${e.module}/${e.id}`;
        if (n === undefined || !n.alive || n.timers.get(key) !== e.token) return;
        n.timers.delete(key);
        this.feed(n, e.module, { type: 'TimerFired', id: e.id });
        return;
      }
      case 'script': {
        const n = this.nodes.get(e.node);
        if (n === undefined || !n.alive || n.scripts.get(e.module) !== e.run_id) return;
        n.scripts.delete(e.module);
        this.feed(n, e.module, { type: 'ScriptExited', run_id: e.run_id, script: e.script, code: 0, timedOut: false });
        return;
      }
      case 'witness-in': {
        const r = witnessStep(this.witness, e.input, this.now);
        this.witness = r.state;
        if (r.reply === null) return;
        if (e.input.type === 'Request' && r.reply.granted !== true) this.note(e.input.node, e.input.module, 'witness', `the witness refuses the lease (${r.reply.reason})`);
        if (e.input.type === 'Request' && r.reply.granted && e.input.bump) this.note(e.input.node, e.input.module, 'witness', `the witness grants the lease with epoch ${r.reply.epoch}`);
        if (!this.witnessCut.has(r.reply.node)) this.push(this.now + LINK_DELAY_MS, { k: 'witness-out', reply: r.reply });
        return;
      }
      case 'witness-out': {
        const n = this.nodes.get(e.reply.node);
        if (n === undefined || !n.alive || this.witnessCut.has(n.id)) return;
        this.feed(n, e.reply.module, { type: 'WitnessReply', request_id: e.reply.request_id, granted: e.reply.granted, lease_ms: e.reply.lease_ms, epoch: e.reply.epoch });
        return;
      }
      case 'synced':
        return this.onSynced(e.module, e.session);
      case 'repl':
        this.onReplCheck();
        this.push(this.now + REPL_CHECK_MS, { k: 'repl' });
        return;
    }
  }

  private onFault(faults: readonly WhatIfFault[]): void {
    for (const f of faults) {
      switch (f.kind) {
        case 'node': {
          const n = this.nodes.get(f.node);
          if (n === undefined || !n.alive) break;
          n.alive = false;
          n.timers.clear();
          n.scripts.clear();
          for (const mon of n.monitors.values()) mon.stop();
          this.note(f.node, null, 'fault', `${f.node} fails (power cut): its application, VIPs and buckets are gone`);
          break;
        }
        case 'lan': {
          this.cutLans.add(f.lan);
          const name = this.c.lans.find((l) => l.index === f.lan)?.name ?? `#${f.lan}`;
          this.note(null, null, 'fault', `LAN ${name} is cut: no heartbeat crosses it`);
          break;
        }
        case 'witness':
          this.witnessCut.add(f.node);
          this.note(f.node, null, 'fault', `${f.node} loses the witness`);
          break;
        case 'app': {
          this.appDown.add(`${f.node}\0${f.module}`);
          const watched = this.appResourceNames(f.module);
          this.note(f.node, f.module, 'fault', `${f.module}'s application fails on ${f.node}${watched.length > 0 ? ` (${watched.join(', ')} fail)` : ' (no checker watches it)'}`);
          this.nodes.get(f.node)?.monitors.get(f.module)?.poke();
          break;
        }
        case 'checker':
          this.checkerDown.add(`${f.node}\0${f.module}\0${f.resource}`);
          this.note(f.node, f.module, 'fault', `checker ${f.resource} of ${f.module} fails on ${f.node}`);
          this.nodes.get(f.node)?.monitors.get(f.module)?.poke();
          break;
      }
    }
  }

  /** The rules' action reaches the module machine as the host's command does; a refusal goes back to the rules. */
  private onRulesAct(node: NodeId, module: string, action: 'restart' | 'stopstart' | 'stop' | 'start', rule: string, resource: string): void {
    const n = this.nodes.get(node);
    if (n === undefined || !n.alive) return;
    this.recordRule(node, module, resource, rule, action);
    const refusal = this.feed(n, module, { type: 'Command', command: { kind: action } });
    // The engine logs the refusal itself (a warn line of the timeline).
    if (refusal !== null) n.monitors.get(module)?.refused(refusal);
  }

  private recordRule(node: NodeId, module: string, resource: string, rule: string, action: RuleActionTaken['action']): void {
    if (this.fault_at === null) return;
    this.record.rules.push({ node, module, resource, rule, action, at_ms: this.now - this.fault_at });
  }

  /** heal=restart: the module's application started again on the node ends its application and checker faults there. */
  private healOnStart(n: WNode, module: string): void {
    if (this.s.heal !== 'restart') return;
    const app = `${n.id}\0${module}`;
    const checkers = [...this.checkerDown].filter((k) => k.startsWith(`${app}\0`));
    if (!this.appDown.has(app) && checkers.length === 0) return;
    this.appDown.delete(app);
    for (const k of checkers) this.checkerDown.delete(k);
    this.note(n.id, module, 'fault', `${module}'s application starts again on ${n.id}: the fault ends with this restart (heal=restart)`);
  }

  private linkUp(a: NodeId, b: NodeId, lan: LanIndex): boolean {
    const na = this.nodes.get(a);
    const nb = this.nodes.get(b);
    return na !== undefined && nb !== undefined && na.alive && nb.alive && !this.cutLans.has(lan) && na.lans.includes(lan) && nb.lans.includes(lan);
  }

  /** Replication runs on its LAN, else on any heartbeat LAN the pair shares and the scenario left working. */
  private pairLinked(m: WhatIfModuleNow, a: NodeId, b: NodeId): boolean {
    const na = this.nodes.get(a);
    const nb = this.nodes.get(b);
    if (na === undefined || nb === undefined || !na.alive || !nb.alive) return false;
    if (m.replication_lan !== null) return !this.cutLans.has(m.replication_lan);
    return na.lans.some((l) => this.linkUp(a, b, l));
  }

  private onTick(id: NodeId): void {
    const n = this.nodes.get(id);
    if (n === undefined || !n.alive) return;
    n.hbVersion += 1;
    const modules = [...n.announced.values()];
    for (const lan of n.lans) {
      for (const peer of this.nodes.values()) {
        if (peer.id === id || !peer.lans.includes(lan)) continue;
        this.push(this.now + LINK_DELAY_MS, { k: 'hb', to: peer.id, from: id, lan, version: n.hbVersion, modules });
      }
    }
    this.stepMembership(n, { type: 'Tick' });
    this.push(this.now + this.c.profile.period_ms, { k: 'tick', node: id });
  }

  private stepMembership(n: WNode, ev: MembershipEvent): void {
    const r = membershipStep(n.membership, ev, this.now);
    n.membership = r.state;
    for (const e of r.effects as MembershipEffect[]) {
      if (e.type === 'ModuleView') {
        if (n.machines.has(e.module)) this.feed(n, e.module, { type: 'PeerView', peers: e.peers });
      } else if (e.type === 'PeerDown') {
        this.note(n.id, null, 'peer-lost', `${n.id} loses ${e.node}: silent on every LAN for ${this.c.profile.timeout_ms} ms`);
      } else if (e.type === 'PeerUp' && this.fault_at !== null) {
        this.note(n.id, null, 'peer-lost', `${n.id} hears ${e.node} again`);
      }
    }
  }

  /** One event into one module machine; performs its effects in order, like the runner. Returns a command's refusal, else null. */
  private feed(n: WNode, module: string, ev: ModuleEvent): string | null {
    const m = n.machines.get(module);
    if (m === undefined || !n.alive) return null;
    const r = step(m, ev, this.now);
    n.machines.set(module, r.state);
    let why = '';
    let refusal: string | null = null;
    for (const e of r.effects) {
      if (e.type === 'Log') {
        const t = /: (\w+) -> (\w+) \((.*)\)$/.exec(e.msg);
        if (t !== null) why = t[3] ?? '';
        if (e.code === 'HAKIT_E_MAXLOOP' && this.fault_at !== null) {
          this.record.maxloop.push({ node: n.id, module, at_ms: this.now - this.fault_at });
          this.note(n.id, module, 'rule', `${n.id}: ${e.msg.replace(`${module}: `, '')}`);
        }
      }
      if (e.type === 'Refuse') refusal = e.message;
      this.perform(n, module, e, why);
    }
    return refusal;
  }

  private perform(n: WNode, module: string, e: ModuleEffect, why: string): void {
    switch (e.type) {
      case 'RunScript': {
        n.scripts.set(module, e.run_id);
        this.note(n.id, module, 'script', `${e.script} starts on ${n.id}`);
        if (e.script === 'start_prim' || e.script === 'start_both') this.healOnStart(n, module);
        this.push(this.now + this.s.script_ms, { k: 'script', node: n.id, module, run_id: e.run_id, script: e.script });
        return;
      }
      case 'KillScripts':
        n.scripts.delete(module);
        return;
      case 'SetVip':
        if (this.c.modules.find((x) => x.policy.module === module)?.policy.mode === 'mirror') this.note(n.id, module, 'vip', `${n.id} ${e.present ? 'adds' : 'removes'} the VIP`);
        return;
      case 'Announce': {
        const old = n.announced.get(module);
        n.announced.set(module, e.announcement);
        const a = e.announcement;
        if (old !== undefined && (old.state !== a.state || old.status !== a.status)) {
          this.note(n.id, module, 'state', `${n.id} ${old.state}/${old.status} → ${a.state}/${a.status}${why !== '' ? ` (${why})` : ''}`);
        }
        // As the daemon's onAnnounce: the module's monitor hears of every change (it queues, never re-enters the machine).
        n.monitors.get(module)?.moduleChanged({ state: a.state, status: a.status });
        return;
      }
      case 'SetTimer': {
        const token = this.nextToken++;
        n.timers.set(`${module}/${e.id}`, token);
        this.push(Math.max(this.now, e.at_ms), { k: 'timer', node: n.id, module, id: e.id, token });
        return;
      }
      case 'CancelTimer':
        n.timers.delete(`${module}/${e.id}`);
        return;
      case 'WitnessRequest':
        if (!this.witnessCut.has(n.id)) this.push(this.now + LINK_DELAY_MS, { k: 'witness-in', input: { type: 'Request', module, node: n.id, request_id: e.request_id, epoch: e.epoch, force: e.force, bump: e.bump, lease_ms: e.lease_ms } });
        return;
      case 'WitnessRelease':
        if (!this.witnessCut.has(n.id)) this.push(this.now + LINK_DELAY_MS, { k: 'witness-in', input: { type: 'Release', module, node: n.id, up_to_request_id: e.up_to_request_id } });
        return;
      case 'FarmMembers': {
        const before = n.farmMembers.get(module);
        n.farmMembers.set(module, e.members);
        if (before !== undefined) this.note(n.id, module, 'buckets', `${n.id} shares the buckets among ${e.members.join(', ') || 'nobody'}`);
        return;
      }
      default:
        return;
    }
  }

  // ------------------------------------------------------------------ replication

  private onReplCheck(): void {
    for (const m of this.c.modules) {
      if (m.policy.mode !== 'mirror') continue;
      const name = m.policy.module;
      const role = (n: WNode): string => n.machines.get(name)?.replication ?? 'off';
      const alive = [...this.nodes.values()].filter((n) => n.alive);
      const s = this.sessions.get(name);
      if (s !== undefined) {
        const snd = this.nodes.get(s.sender);
        const rcv = this.nodes.get(s.receiver);
        if (snd !== undefined && rcv !== undefined && snd.alive && rcv.alive && role(snd) === 'sender' && role(rcv) === 'receiver' && this.pairLinked(m, snd.id, rcv.id)) continue;
        this.sessions.delete(name);
        this.note(null, name, 'replication', 'the replication session breaks');
        for (const n of [snd, rcv]) if (n !== undefined && n.alive) this.feed(n, name, { type: 'ReplicationLost', reason: 'session broken' });
        continue;
      }
      const sender = alive.find((n) => role(n) === 'sender');
      const receiver = alive.find((n) => role(n) === 'receiver');
      if (sender === undefined || receiver === undefined || !this.pairLinked(m, sender.id, receiver.id)) continue;
      const id = this.nextSession++;
      this.sessions.set(name, { id, sender: sender.id, receiver: receiver.id, synced: false });
      this.note(receiver.id, name, 'replication', `re-integration of ${receiver.id} from ${sender.id} starts`);
      this.feed(sender, name, { type: 'ReplicationConnected' });
      this.feed(receiver, name, { type: 'ReplicationConnected' });
      this.push(this.now + this.s.sync_ms, { k: 'synced', module: name, session: id });
    }
  }

  private onSynced(module: string, id: number): void {
    const s = this.sessions.get(module);
    if (s === undefined || s.id !== id) return;
    s.synced = true;
    const snd = this.nodes.get(s.sender);
    const rcv = this.nodes.get(s.receiver);
    if (rcv !== undefined) this.feed(rcv, module, { type: 'ReplicationSynced' });
    if (snd !== undefined) this.feed(snd, module, { type: 'ReplicationSynced' });
  }

  // ------------------------------------------------------------------ views

  stateOf(node: NodeId, module: string): string {
    const n = this.nodes.get(node);
    if (n === undefined || !n.alive) return 'DOWN';
    const m = n.machines.get(module);
    return m === undefined ? 'UNKNOWN' : `${m.state}/${m.status}`;
  }

  vipHolders(module: string): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.alive && n.machines.get(module)?.vip === true).map((n) => n.id);
  }

  machine(node: NodeId, module: string): ModuleMachine | null {
    const n = this.nodes.get(node);
    return n === undefined || !n.alive ? null : (n.machines.get(module) ?? null);
  }

  farmMembersOf(node: NodeId, module: string): readonly NodeId[] | null {
    const n = this.nodes.get(node);
    return n === undefined || !n.alive ? null : (n.farmMembers.get(module) ?? null);
  }
}
