// Turns this node's state into events: every EVENT_POLL_MS it asks the same control dispatch
// the CLI uses (state, resources, mirrorstatus: in-process calls, no socket) and emits what
// changed. Polling a few in-memory answers is cheap and cannot miss a change that lasted
// longer than one period; the bound from a change to its event is EVENT_POLL_MS plus the
// time to send it. Also keeps what /metrics and the resources route need: the latest
// answers, each resource's recent history, and failover counts.
import type { StateResult } from '../../control/api';
import type { MonitorStatus } from '../../monitor/api';
import type { MirrorStatusResult } from '../../daemon/mirror-handlers';
import type { LogSink } from '../../log/sink';
import type { ReplicationEvent, ResourceEvent, StateEvent } from '../contract/events';
import type { ModuleOnNode, NodeState, ReplicationStatus, ResourceChange, ResourceState } from '../contract/pure/types';
import { nodeState, replicationStatus, withMonitorSwitches } from '../pure/map';
import type { ApiBackend } from './backend';

export const EVENT_POLL_MS = 250;
/** Replication progress is sent at most this often per module (the rest is noise). */
export const REPLICATION_EVENT_MIN_MS = 1_000;
/** Resource changes remembered per module for the resources route. */
export const RESOURCE_HISTORY_MAX = 100;

export type HubEvent = { readonly type: 'state'; readonly e: StateEvent } | { readonly type: 'resource'; readonly e: ResourceEvent } | { readonly type: 'replication'; readonly e: ReplicationEvent };

/** A module takes over when it goes from SECOND or WAIT to PRIM or ALONE. */
function isFailover(from: string | undefined, to: string): boolean {
  return (from === 'SECOND' || from === 'WAIT') && (to === 'PRIM' || to === 'ALONE');
}

export class EventHub {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private readonly listeners = new Set<(ev: HubEvent) => void>();
  private modules = new Map<string, { key: string; m: ModuleOnNode }>();
  private readonly resourceStates = new Map<string, Map<string, ResourceState>>();
  private readonly history = new Map<string, ResourceChange[]>();
  private readonly replication = new Map<string, { key: string; sent_ms: number; status: ReplicationStatus }>();
  private readonly monitors = new Map<string, MonitorStatus>();
  private readonly failovers = new Map<string, number>();
  private readonly transitions = new Map<string, number>();
  private last: NodeState | null = null;
  private polls = 0;

  constructor(
    private readonly backend: ApiBackend,
    private readonly log: LogSink,
    private readonly now_ms: () => number = Date.now,
    private readonly poll_ms = EVENT_POLL_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), this.poll_ms);
    this.timer.unref();
    void this.poll();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  on(listener: (ev: HubEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  latest(): { state: NodeState | null; monitors: ReadonlyMap<string, MonitorStatus>; replication: ReadonlyMap<string, ReplicationStatus>; failovers: ReadonlyMap<string, number>; transitions: ReadonlyMap<string, number>; polls: number } {
    return { state: this.last, monitors: this.monitors, replication: new Map([...this.replication].map(([k, v]) => [k, v.status])), failovers: this.failovers, transitions: this.transitions, polls: this.polls };
  }

  resourceHistory(module: string): readonly ResourceChange[] {
    return this.history.get(module) ?? [];
  }

  private emit(ev: HubEvent): void {
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch (e) {
        this.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'API event listener failed');
      }
    }
  }

  /** One round; rounds never overlap (a slow answer delays the next round instead). */
  async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      this.polls++;
      const bare = nodeState((await this.backend.call('state', {})) as StateResult);
      // Resources first: a module's state carries its monitor switches (checkers, errd), so
      // turning the checkers off is a state change the console sees like any other.
      for (const m of bare.modules) await this.pollResources(m.module);
      for (const name of [...this.monitors.keys()]) if (!bare.modules.some((m) => m.module === name)) this.monitors.delete(name);
      const st = withMonitorSwitches(bare, this.monitors);
      this.last = st;
      this.diffStates(st);
      for (const m of st.modules) if (m.mode === 'mirror') await this.pollReplication(m.module);
    } catch (e) {
      this.log.debug({ err: e instanceof Error ? e.message : String(e) }, 'API event poll failed');
    } finally {
      this.busy = false;
    }
  }

  private diffStates(st: NodeState): void {
    const at = new Date(this.now_ms()).toISOString();
    const next = new Map<string, { key: string; m: ModuleOnNode }>();
    for (const m of st.modules) {
      const key = JSON.stringify(m);
      next.set(m.module, { key, m });
      const prev = this.modules.get(m.module);
      if (prev?.key === key) continue;
      if (prev && prev.m.state !== m.state) {
        this.transitions.set(m.module, (this.transitions.get(m.module) ?? 0) + 1);
        if (isFailover(prev.m.state, m.state)) this.failovers.set(m.module, (this.failovers.get(m.module) ?? 0) + 1);
      }
      this.emit({ type: 'state', e: { node: st.node, module: m.module, at, previous: prev ? { state: prev.m.state, status: prev.m.status } : null, current: m } });
    }
    for (const [name, prev] of this.modules) {
      if (!next.has(name)) this.emit({ type: 'state', e: { node: st.node, module: name, at, previous: { state: prev.m.state, status: prev.m.status }, current: null } });
    }
    this.modules = next;
  }

  private async pollResources(module: string): Promise<void> {
    let s: MonitorStatus;
    try {
      s = (await this.backend.call('resources', { module })) as MonitorStatus;
    } catch {
      this.monitors.delete(module);
      return; // No monitor for this module.
    }
    this.monitors.set(module, s);
    const known = this.resourceStates.get(module) ?? new Map<string, ResourceState>();
    const first = !this.resourceStates.has(module);
    for (const r of s.resources) {
      const before = known.get(r.name);
      if (before === r.state) continue;
      known.set(r.name, r.state);
      if (first) continue; // The first look is the baseline, not a change.
      const change: ResourceChange = { at: new Date(this.now_ms()).toISOString(), resource: r.name, from: before ?? null, to: r.state };
      const h = this.history.get(module) ?? [];
      h.push(change);
      if (h.length > RESOURCE_HISTORY_MAX) h.splice(0, h.length - RESOURCE_HISTORY_MAX);
      this.history.set(module, h);
      this.emit({ type: 'resource', e: { node: this.backend.node, module, change } });
    }
    this.resourceStates.set(module, known);
  }

  private async pollReplication(module: string): Promise<void> {
    let r: ReplicationStatus;
    try {
      r = replicationStatus((await this.backend.call('mirrorstatus', { module })) as MirrorStatusResult);
    } catch {
      return;
    }
    const key = JSON.stringify(r);
    const prev = this.replication.get(module);
    const now = this.now_ms();
    if (prev?.key === key) return;
    // Phase changes go at once; progress within a phase at most once per REPLICATION_EVENT_MIN_MS.
    const phaseChanged = JSON.stringify((prev?.status.last as { state?: string } | null)?.state) !== JSON.stringify((r.last as { state?: string } | null)?.state) || prev?.status.in_sync !== r.in_sync;
    if (prev && !phaseChanged && now - prev.sent_ms < REPLICATION_EVENT_MIN_MS) {
      this.replication.set(module, { ...prev, status: r });
      return;
    }
    this.replication.set(module, { key, sent_ms: now, status: r });
    this.emit({ type: 'replication', e: { status: r } });
  }
}
