// hakitd's composition root (docs/architecture.md, rule 4): wires the real adapters around the pure
// module machines and membership. One runner per installed module; one heartbeat transport;
// one control socket. Stop order: modules in reverse load order, each until it is STOP.
import fs from 'node:fs';
import path from 'node:path';
import { HakitError } from '../errors/catalogue';
import { ControlServer } from '../control/server';
import { CONTROL_SOCKET_NAME } from '../control/paths';
import type { LogLevel } from '../log/levels';
import { HakitLogs } from '../log/logs';
import { initMembership, membershipStep, type MembershipState } from '../membership/pure/membership';
import type { HeartbeatPayload, MembershipEffect, MembershipEvent, NodeId } from '../membership/pure/types';
import type { Transport } from '../membership/transport/types';
import { UdpTransport } from '../membership/transport/udp-transport';
import { parseHeartbeatPayload } from '../membership/wire/payload';
import { RealCommandRunner, type CommandRunner } from '../net/command-runner';
import { resolveVip } from '../net/resolve-vip';
import type { VipManager, VipSpec } from '../net/types';
import { IpVipManager } from '../net/vip-manager';
import { VipKeeper } from '../net/vip-keeper';
import { withPeerSilence } from './pure/peer-silence';
import { withPeerWire } from './pure/peer-wire';
import { fenceTiming, vipTakeoverAt, type FenceTiming } from '../net/pure/fence-timing';
import { REAL_CLOCK, type Clock } from '../module/runner/clock';
import { ModuleRunner, type StepFn } from '../module/runner/module-runner';
import { NoWitness, NothingToReplicate, type ReplicationPort, type WitnessPort } from '../module/runner/ports';
import { UdpWitnessClient } from '../witness/client';
import { QuorumWitnessClient } from '../witness/quorum-client';
import { FileStateStore } from '../module/runner/state-store';
import type { ModulePolicy } from '../module/pure/policy';
import type { LeftoverState, ModuleAnnouncement, PersistedModuleState } from '../module/pure/types';
import { RealProcessRunner } from '../scripts/process-runner';
import type { ProcessRunner } from '../scripts/types';
import { readClusterKey } from './cluster-key';
import { makeControlHandler } from './control-handlers';
import { makeMonitorHandler } from './monitor-handlers';
import { ModuleMonitor } from '../checkers/host';
import { planMonitor, waitResourceNames, type MonitorPlan } from '../rules/pure/plan';
import { clusterProfile, planHeartbeats, type HeartbeatPlan } from './heartbeat-plan';
import { reconfigureMembership } from '../membership/pure/reconfigure';
import type { DeepReadonlyClusterConfig } from '../config/pure/types-frozen';
import { ConfigService, configEndpoints } from '../cluster/config-service';
import type { ModuleStatus, ReloadReport } from '../control/api';
import { nextIncarnation } from './incarnation';
import { loadCluster, loadModules, type LoadedModule, type NotLoaded } from './module-loader';
import { FarmHost } from '../farm/host';
import { NftFilterBackend } from '../../filters/nft/nft-backend';
import type { FilterBackend } from '../../filters/nft/backend';
import { makeMirrorReplication } from './mirror-wire';
import { LeftoverRecords } from './leftover-records';
import { isMirrorCommand, makeMirrorHandler } from './mirror-handlers';
import { VerifyRecords } from './verify-records';
import { auditControl, startApiHost } from './api-host';
import { whatifSnapshot } from '../whatif/snapshot';
import type { ControlRequest } from '../control/protocol';
import type { MirrorReplication } from '../module/runner/replication-mirror';

/** The pure module machine, as the daemon drives it (core/module/pure). */
export interface MachineFactory<S> {
  init(node: NodeId, policy: ModulePolicy, persisted: PersistedModuleState): S;
  readonly step: StepFn<S>;
  /** Manual failover: the wait for approval, for `hakit state` and the API (docs/geo.md). */
  readonly approval?: (s: S, now_ms: number) => ModuleStatus['approval'];
}

export interface DaemonOptions<S> {
  readonly node: NodeId;
  readonly conf_dir: string;
  readonly state_dir: string;
  readonly run_dir: string;
  readonly log_dir: string;
  readonly log_level: LogLevel;
  readonly machine: MachineFactory<S>;
  // Adapters, replaceable by fakes in tests.
  readonly commands?: CommandRunner;
  readonly vips?: VipManager;
  readonly processRunner?: () => ProcessRunner;
  readonly transport?: (o: TransportParams) => Transport<HeartbeatPayload>;
  readonly clock?: Clock;
  readonly filters?: () => FilterBackend;
}

export interface TransportParams {
  readonly node_id: NodeId;
  readonly incarnation: number;
  readonly key: Buffer;
  readonly plan: ReturnType<typeof planHeartbeats>;
  readonly logs: HakitLogs;
}

/** Control command: apply cluster.xml and the installed modules now (`hakit cluster reload`). */
export const RELOAD_COMMAND = 'reload';
const CLUSTER_XML = 'cluster.xml';
/** In the run directory: the conntrack tcp_loose value found before the farm filter set it to 0. */
const FARM_TCP_LOOSE_FILE = 'farm-tcp-loose';

/** Longest wait for one module to reach STOP at shutdown (its stop scripts' timeouts + slack). */
export const SHUTDOWN_SLACK_MS = 10_000;
export const MAX_SHUTDOWN_PER_MODULE_MS = 10 * 60_000;
/** Daemon.healthy(): how many membership periods may pass without a Tick. */
export const HEALTHY_TICK_PERIODS = 3;
const SHUTDOWN_POLL_MS = 100;

interface Hosted<S> {
  readonly loaded: LoadedModule;
  /** What a dead predecessor of this daemon announced last (read before this daemon announces). */
  readonly leftover: LeftoverState | undefined;
  readonly runner: ModuleRunner<S>;
  readonly monitor: ModuleMonitor;
  /** What the runner and the monitor run (the what-if snapshot replays exactly these). */
  readonly policy: ModulePolicy;
  readonly monitorPlan: MonitorPlan;
}

export class Daemon<S> {
  readonly logs: HakitLogs;
  private readonly clock: Clock;
  private readonly hosted: Hosted<S>[] = [];
  private readonly announcements = new Map<string, ModuleAnnouncement>();
  private payload_version = 0;
  private transport: Transport<HeartbeatPayload> | undefined;
  private control: ControlServer | undefined;
  private dispatch: (req: ControlRequest) => Promise<unknown> = () => Promise.reject(new HakitError('HAKIT_E_DAEMON_UNREACHABLE', 'hakitd is starting', 'control'));
  private api: { close(): Promise<void> } | null = null;
  private membership: MembershipState | undefined;
  private tick: NodeJS.Timeout | undefined;
  private incarnation = 0;
  private readonly witnesses = new Map<string, UdpWitnessClient>();
  private readonly mirrors = new Map<string, MirrorReplication>();
  private readonly farm: FarmHost;
  private readonly not_loaded: NotLoaded[] = [];
  private key: Buffer = Buffer.alloc(0);
  private stopping: Promise<void> | undefined;
  /** When the membership Tick last ran, and its period: the watchdog's health check. */
  private last_tick_ms: number | undefined;
  private tick_period_ms = 0;
  private readonly leftovers: LeftoverRecords;
  private cluster: DeepReadonlyClusterConfig | undefined;
  private plan: HeartbeatPlan | undefined;
  private commands: CommandRunner | undefined;
  private vipManager: VipManager | undefined;
  /** Leases of buckets and VIPs, derived from the heartbeat profile at start (docs/adr/0005-fencing-by-expiry.md). */
  private fence: FenceTiming | undefined;
  private fence_started_ms = 0;
  private store: FileStateStore | undefined;
  private configService: ConfigService | undefined;
  private configEndpointsKey = '';
  /** start() has returned (configured, or waiting for a configuration). */
  private started = false;
  /** Reloads run one at a time. */
  private reloading: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: DaemonOptions<S>) {
    for (const d of [o.state_dir, o.run_dir]) {
      try {
        fs.mkdirSync(d, { recursive: true, mode: 0o700 });
      } catch (e) {
        throw new HakitError('HAKIT_E_DAEMON_STATE_DIR', e instanceof Error ? e.message : String(e), d);
      }
    }
    this.logs = new HakitLogs({ dir: o.log_dir, level: o.log_level, node: o.node });
    this.leftovers = new LeftoverRecords(o.run_dir, this.logs.daemon);
    this.clock = o.clock ?? REAL_CLOCK;
    this.farm = new FarmHost({ node: o.node, backend: () => o.filters?.() ?? new NftFilterBackend({ tcp_loose_saved_file: path.join(o.run_dir, FARM_TCP_LOOSE_FILE) }), onWire: () => this.sendPayload(), now_ms: () => this.clock.now_ms(), fence: () => this.fence });
  }

  get node(): NodeId {
    return this.o.node;
  }

  async start(): Promise<void> {
    const log = this.logs.daemon;
    this.incarnation = nextIncarnation(this.o.state_dir);
    // Control first, so that a second daemon is refused before it touches sockets or VIPs.
    const monitors = makeMonitorHandler({
      node: this.o.node,
      moduleNames: () => this.hosted.map((h) => h.loaded.plan.name),
      monitor: (m) => this.hosted.find((h) => h.loaded.plan.name === m)?.monitor,
    });
    const control = makeControlHandler(this.controlTarget(), monitors);
    const mirror = makeMirrorHandler({ node: this.o.node, moduleNames: () => this.hosted.map((h) => h.loaded.plan.name), mirror: (m) => this.mirrors.get(m), verify_records: new VerifyRecords(path.join(this.o.state_dir, 'mirror')) });
    this.dispatch = (req) => (req.cmd === RELOAD_COMMAND ? this.reload() : isMirrorCommand(req.cmd) ? mirror(req) : control(req));
    // The API (core/daemon/api-host.ts) runs the same dispatch; both record changes in the audit log.
    this.control = new ControlServer(path.join(this.o.run_dir, CONTROL_SOCKET_NAME), auditControl(this.dispatch, this.o.node, this.o.log_dir), log);
    await this.control.start();
    if (!fs.existsSync(path.join(this.o.conf_dir, CLUSTER_XML))) {
      // A node installed but not yet in a cluster (the package starts hakitd at once): it
      // waits, serving the control socket, until `hakit cluster init|join` writes the
      // configuration and asks it to reload. It never exits in a loop for systemd to restart.
      log.warn({ conf_dir: this.o.conf_dir, incarnation: this.incarnation }, 'no cluster.xml yet: waiting for `hakit cluster init` or `hakit cluster join`');
      this.started = true;
      return;
    }
    await this.startCluster();
    log.info({ socket: this.control.socket_path }, 'hakitd ready');
  }

  /** Everything that needs cluster.xml: modules, heartbeats, the config service. */
  private async startCluster(): Promise<void> {
    const log = this.logs.daemon;
    const cluster = loadCluster(this.o.conf_dir);
    const key = readClusterKey(cluster.keyfile);
    this.key = key;
    this.cluster = cluster;
    const loaded = loadModules(path.join(this.o.state_dir, 'modules'), cluster, this.o.node, log, this.not_loaded);
    const plan = planHeartbeats(this.o.node, cluster, loaded.map((l) => l.plan));
    // Checked at config load: a profile that leaves no room for the leases is a coded error.
    this.fence = fenceTiming(plan.membership.profile, `heartbeat profile ${plan.membership.profile.name}`);
    this.fence_started_ms = this.clock.now_ms();
    log.info({ incarnation: this.incarnation, modules: loaded.map((l) => l.plan.name), lans: plan.lans.map((l) => l.index), profile: plan.membership.profile }, 'hakitd starting');

    // Every module exists before the transport starts: a peer's view that arrived before its
    // module was hosted would be dropped, and membership sends a view only when it changes.
    this.membership = initMembership(plan.membership);
    for (const l of loaded) await this.hostLoaded(l);
    await this.startTransport(plan);
    this.tick_period_ms = plan.membership.profile.period_ms;
    this.last_tick_ms = this.clock.now_ms();
    this.tick = setInterval(() => {
      this.last_tick_ms = this.clock.now_ms();
      this.stepMembership({ type: 'Tick' }, this.last_tick_ms);
    }, plan.membership.profile.period_ms);
    for (const h of this.hosted) this.boot(h);
    await this.startConfigService(cluster);
    this.api = await startApiHost({
      node: this.o.node,
      conf_dir: this.o.conf_dir,
      state_dir: this.o.state_dir,
      log_dir: this.o.log_dir,
      cluster: () => this.cluster ?? cluster,
      key: this.key,
      dispatch: (req) => this.dispatch(req),
      heartbeat_drops: () => (this.transport?.dropCounters() ?? null) as Readonly<Record<string, number>> | null,
      // What-if (docs/whatif.md): the policies this daemon runs and what it knows of every node now.
      whatif: () =>
        whatifSnapshot({
          node: this.o.node,
          cluster: this.cluster ?? cluster,
          modules: this.hosted.map((h) => ({ plan: h.loaded.plan, config: h.loaded.config, policy: h.policy, monitor: h.monitorPlan })),
          profile: clusterProfile(this.hosted.map((h) => h.loaded.plan)),
          announcements: this.announcements,
          peers: this.membership?.peers ?? {},
          failover: (m) => this.hosted.find((h) => h.loaded.plan.name === m)?.runner.status().failover ?? null,
        }),
      log: this.logs.daemon,
    });
    this.started = true;
  }

  private boot(h: Hosted<S>): void {
    const leftover = h.leftover;
    if (leftover !== undefined) this.logs.daemon.warn({ module: h.loaded.plan.name, leftover }, 'adopting a module left running by a previous hakitd');
    h.runner.deliver(leftover === undefined ? { type: 'Booted' } : { type: 'Booted', leftover });
    h.monitor.start();
  }

  private async startTransport(plan: HeartbeatPlan): Promise<void> {
    const params: TransportParams = { node_id: this.o.node, incarnation: this.incarnation, key: this.key, plan, logs: this.logs };
    const transport = this.o.transport ? this.o.transport(params) : this.udpTransport(params);
    transport.onHeartbeat((hb, now_ms) =>
      this.stepMembership({ type: 'HeartbeatReceived', heartbeat: { from: hb.node_id, lan: hb.lan, incarnation: hb.incarnation, seq: hb.seq, payload: hb.payload } }, now_ms),
    );
    await transport.start();
    this.transport = transport;
    this.plan = plan;
    this.sendPayload();
  }

  /** Hosts one loaded module (VIPs resolved, farm filter, replication, runner, monitor); a module that cannot be placed is listed as not loaded. */
  private async hostLoaded(l: LoadedModule): Promise<Hosted<S> | undefined> {
    const log = this.logs.daemon;
    const commands = (this.commands ??= this.o.commands ?? new RealCommandRunner());
    const vips = (this.vipManager ??= this.o.vips ?? this.leasedVips(commands));
    const store = (this.store ??= new FileStateStore(path.join(this.o.state_dir, 'runtime'), log));
    const cluster = this.cluster!;
    const specs: VipSpec[] = [];
    try {
      for (const v of l.plan.vips) specs.push(await resolveVip(v, commands));
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      log.error({ module: l.plan.name, err: reason }, 'module not loaded: its virtual IP cannot be placed');
      this.not_loaded.push({ module: l.plan.name, reason });
      return undefined;
    }
    await this.dropLeftoverVips(l.plan.name, specs, vips);
    const farmIssue = await this.farm.add(l, specs, vips, this.logs.module(l.plan.name));
    if (farmIssue !== null) {
      log.error({ module: l.plan.name, err: farmIssue }, 'module not loaded: its farm filter cannot be built');
      this.not_loaded.push({ module: l.plan.name, reason: farmIssue });
      return undefined;
    }
    const late: { runner?: ModuleRunner<S> } = {};
    const replication = makeMirrorReplication({ loaded: l, cluster, node: this.o.node, state_dir: this.o.state_dir, key: this.key, log: this.logs.module(l.plan.name), settled: () => late.runner?.whenIdle() ?? Promise.resolve(), moduleCopyComplete: () => late.runner?.status().copyComplete ?? true, taken: this.mirrors });
    if (replication === 'not-loaded') {
      this.not_loaded.push({ module: l.plan.name, reason: 'its replication cannot be placed (see the module log)' });
      return undefined;
    }
    if (replication) this.mirrors.set(l.plan.name, replication);
    late.runner = this.host(l, specs, store, vips, await this.witnessFor(l), replication ?? new NothingToReplicate());
    return this.hosted[this.hosted.length - 1];
  }

  /**
   * Applies cluster.xml and the installed modules without a restart: a waiting daemon starts;
   * a configured one adds new modules, drops uninstalled ones (stopping them first), re-hosts
   * changed ones that are STOP (a running one keeps its config until it is stopped and
   * started again), and follows added or removed nodes with its heartbeats and membership
   * while every peer already heard stays as heard (no module sees its peer vanish).
   */
  reload(): Promise<ReloadReport> {
    const run = this.reloading.then(() => this.doReload());
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async doReload(): Promise<ReloadReport> {
    if (this.stopping) throw new HakitError('HAKIT_E_DAEMON_UNREACHABLE', 'hakitd is shutting down', `node ${this.o.node}`);
    const report: ReloadReport = { started: false, nodes_added: [], nodes_removed: [], modules_added: [], modules_removed: [], modules_reloaded: [], modules_pending: [] };
    if (this.cluster === undefined) {
      if (!fs.existsSync(path.join(this.o.conf_dir, CLUSTER_XML))) throw new HakitError('HAKIT_E_CONF_NO_CLUSTER', 'no cluster.xml yet: run `hakit cluster init` or `hakit cluster join`', this.o.conf_dir);
      this.not_loaded.splice(0);
      await this.startCluster();
      this.logs.daemon.info({}, 'hakitd ready (configuration applied)');
      return { ...report, started: true, modules_added: this.hosted.map((h) => h.loaded.plan.name) };
    }
    const log = this.logs.daemon;
    const cluster = loadCluster(this.o.conf_dir);
    const key = readClusterKey(cluster.keyfile);
    if (!key.equals(this.key)) throw new HakitError('HAKIT_E_CLUSTER_INSTALL', 'the cluster key changed: restart hakitd on every node to apply it', cluster.keyfile);
    const oldNodes = new Set(this.cluster.nodes.map((n) => n.name));
    const newNodes = new Set(cluster.nodes.map((n) => n.name));
    report.nodes_added.push(...[...newNodes].filter((n) => !oldNodes.has(n)));
    report.nodes_removed.push(...[...oldNodes].filter((n) => !newNodes.has(n)));
    this.cluster = cluster;
    const notLoaded: NotLoaded[] = [];
    const installed = loadModules(path.join(this.o.state_dir, 'modules'), cluster, this.o.node, log, notLoaded);
    const byName = new Map(installed.map((l) => [l.plan.name, l]));
    for (const h of [...this.hosted]) {
      const name = h.loaded.plan.name;
      const next = byName.get(name);
      // Another release is a change even with the same config: its scripts may differ, and a
      // hosted module runs the scripts of the release it was loaded from (module-loader.ts).
      if (next !== undefined && next.dir === h.loaded.dir && JSON.stringify(next.config) === JSON.stringify(h.loaded.config)) {
        byName.delete(name);
        continue;
      }
      const s = h.runner.status();
      if (next !== undefined && !(s.state === 'STOP' && s.status !== 'Transient')) {
        report.modules_pending.push({ module: name, reason: `it is ${s.state}: its new configuration applies once it is stopped and started again` });
        byName.delete(name);
        continue;
      }
      await this.unhost(h);
      (next === undefined ? report.modules_removed : report.modules_reloaded).push(name);
    }
    this.not_loaded.splice(0, this.not_loaded.length, ...notLoaded);
    const added: Hosted<S>[] = [];
    for (const l of byName.values()) {
      const h = await this.hostLoaded(l);
      if (h === undefined) continue;
      added.push(h);
      if (!report.modules_reloaded.includes(l.plan.name)) report.modules_added.push(l.plan.name);
    }
    const plan = planHeartbeats(this.o.node, cluster, this.hosted.map((h) => h.loaded.plan));
    this.membership = reconfigureMembership(this.membership!, plan.membership);
    if (JSON.stringify(plan.lans) !== JSON.stringify(this.plan?.lans)) {
      // New peers or LANs: a new transport (same incarnation); peers learn its challenge within one round trip.
      await this.transport?.close();
      await this.startTransport(plan);
    }
    this.plan = plan;
    for (const h of added) this.boot(h);
    this.sendPayload();
    // The service is not restarted for a change that keeps its addresses: a join in progress
    // is one of its own connections, waiting for this reload.
    const endpoints = JSON.stringify(configEndpoints(cluster, this.o.node));
    if (endpoints !== this.configEndpointsKey) {
      await this.configService?.close();
      await this.startConfigService(cluster);
    }
    log.info({ ...report }, 'configuration reloaded');
    return report;
  }

  /** Stops (if needed) and releases one hosted module. */
  private async unhost(h: Hosted<S>): Promise<void> {
    const name = h.loaded.plan.name;
    await this.stopModule(h);
    h.monitor.dispose();
    await h.runner.dispose();
    await this.farm.remove(name);
    this.mirrors.delete(name);
    this.announcements.delete(name);
    this.leftovers.record(name, { state: 'STOP', status: 'NotReady' });
    this.hosted.splice(this.hosted.indexOf(h), 1);
  }

  private async startConfigService(cluster: DeepReadonlyClusterConfig): Promise<void> {
    this.configEndpointsKey = JSON.stringify(configEndpoints(cluster, this.o.node));
    this.configService = new ConfigService({
      node: this.o.node,
      conf_dir: this.o.conf_dir,
      state_dir: this.o.state_dir,
      cluster: () => this.cluster ?? cluster,
      key: this.key,
      log: this.logs.daemon,
      reload: () => this.reload(),
    });
    await this.configService.start();
  }

  /**
   * Every machine starts in STOP, without VIP. A VIP still on the interface was left by a
   * daemon that died (kill -9, crash): remove it before anything else, or two nodes could
   * answer for it.
   */
  private async dropLeftoverVips(module: string, specs: readonly VipSpec[], vips: VipManager): Promise<void> {
    for (const v of specs) {
      try {
        if ((await vips.ensureAbsent(v)) === 'removed') this.logs.daemon.warn({ module, vip: v.address, dev: v.ifname }, 'removed a virtual IP left by a previous daemon');
      } catch (e) {
        this.logs.daemon.error({ module, vip: v.address, err: e instanceof Error ? e.message : String(e) }, 'cannot remove a leftover virtual IP');
      }
    }
  }

  private udpTransport(p: TransportParams): Transport<HeartbeatPayload> {
    return new UdpTransport<HeartbeatPayload>({
      node_id: p.node_id,
      incarnation: p.incarnation,
      key: p.key,
      lans: p.plan.lans,
      period_ms: p.plan.membership.profile.period_ms,
      parsePayload: parseHeartbeatPayload,
      log: p.logs.daemon,
      now_ms: () => this.clock.now_ms(),
      // Peers' incarnation floors survive our restarts (docs/adr/0006-replay-protection.md).
      floors_file: path.join(this.o.state_dir, 'peer-floors.json'),
    });
  }

  private async witnessFor(l: LoadedModule): Promise<WitnessPort> {
    // Geo clusters: several arbitrators with a majority rule (docs/geo.md).
    if (l.plan.arbitrators.length > 0) return new QuorumWitnessClient(await Promise.all(l.plan.arbitrators.map((a) => this.witnessClient(a))));
    const w = l.plan.witness;
    if (!w) return new NoWitness();
    return this.witnessClient(w);
  }

  private async witnessClient(w: { readonly address: string; readonly port: number }): Promise<UdpWitnessClient> {
    const id = `${w.address}:${w.port}`;
    let client = this.witnesses.get(id);
    if (!client) {
      client = new UdpWitnessClient({ node_id: this.o.node, incarnation: this.incarnation, key: this.key, address: w.address, port: w.port, log: this.logs.daemon });
      await client.start();
      this.witnesses.set(id, client);
    }
    return client;
  }

  private host(l: LoadedModule, vip_specs: VipSpec[], store: FileStateStore, vips: VipManager, witness: WitnessPort, replication: ReplicationPort): ModuleRunner<S> {
    const name = l.plan.name;
    const leftover = this.leftovers.read(name);
    const persisted = store.read(name);
    // The checkers plan needs each <vip><interface>'s interface as resolved on this node.
    const vipIfnames = (l.config.vip?.interfaces ?? []).map((itf, i) => itf.name ?? vip_specs[l.plan.vips.findIndex((v) => v.interface_index === i)]?.ifname ?? null);
    const monitorPlan = planMonitor(l.config, name, { vipIfnames });
    const policy: ModulePolicy = { ...l.plan.policy, waitOnResources: l.plan.policy.mode !== 'mirror' ? waitResourceNames(monitorPlan) : [] };
    const user_vars = { ...l.plan.user_vars, HAKIT_RUN_DIR: this.o.run_dir };
    const bin_dir = path.join(l.dir, 'bin');
    const log = this.logs.module(name);
    // The runner reports to the monitor, which is made after it (it drives the runner).
    const late: { monitor?: ModuleMonitor } = {};
    const runner = new ModuleRunner<S>({
      module: name,
      node: this.o.node,
      mode: policy.mode,
      initial: this.o.machine.init(this.o.node, policy, persisted),
      step: this.o.machine.step,
      bin_dir,
      user_vars,
      scripts: this.o.processRunner ? this.o.processRunner() : new RealProcessRunner(),
      vips: this.farm.vipsFor(name, vips),
      vip_specs,
      store,
      replication,
      witness,
      clock: this.clock,
      log,
      policy_failover: policy.failover,
      onAnnounce: (a) => {
        this.leftovers.record(name, { state: a.state, status: a.status });
        this.farm.announced(name, a);
        this.announcements.set(name, a);
        this.sendPayload();
        late.monitor?.moduleChanged({ state: a.state, status: a.status });
      },
    });
    const monitor = new ModuleMonitor({
      module: name,
      plan: monitorPlan,
      bin_dir,
      env: { ...user_vars, HAKIT_MODULE: name, HAKIT_NODE: this.o.node },
      deliver: (e) => runner.deliver(e),
      // A farm node hands its buckets over before a rule's restart/stopstart/stop, as for an operator's.
      command: (c) => this.farm.command(name, c, (cmd) => runner.command(cmd)),
      // Module checkers of a module on this node; a remote target is not queryable yet.
      moduleState: async (m, at) => {
        if (at !== null) return null;
        const h = this.hosted.find((x) => x.loaded.plan.name === m);
        return h ? { state: h.runner.status().state, status: h.runner.status().status } : null;
      },
      log,
    });
    late.monitor = monitor;
    this.hosted.push({ loaded: l, runner, monitor, leftover, policy, monitorPlan });
    return runner;
  }

  private sendPayload(): void {
    this.payload_version++;
    // lost_after_ms: peers whose modules use a faster profile must still wait for the silence
    // this node's fences (bucket lease, ALONE fence) are sized by before they take over.
    const lost_after_ms = this.membership?.config.profile.timeout_ms;
    this.transport?.announce({ version: this.payload_version, modules: [...this.announcements.values()].map((a) => this.farm.decorate(a)), ...(lost_after_ms !== undefined ? { lost_after_ms } : {}) });
  }

  private stepMembership(event: MembershipEvent, now_ms: number): void {
    if (!this.membership) return;
    let r;
    try {
      r = membershipStep(this.membership, event, now_ms);
    } catch (e) {
      this.logs.daemon.error({ err: e instanceof Error ? e.message : String(e) }, 'membership step failed: event ignored');
      return;
    }
    this.membership = r.state;
    for (const fx of r.effects) this.performMembership(fx);
  }

  private performMembership(fx: MembershipEffect): void {
    switch (fx.type) {
      case 'ModuleView':
        this.farm.peersChanged(fx.module, fx.peers);
        this.hosted.find((h) => h.loaded.plan.name === fx.module)?.runner.deliver({ type: 'PeerView', peers: fx.peers });
        return;
      case 'PeerUp':
      case 'PeerDown':
        this.logs.daemon.info({ peer: fx.node }, fx.type === 'PeerUp' ? 'peer up' : 'peer down');
        return;
      case 'Log':
        this.logs.daemon[fx.level]({}, fx.msg);
        return;
    }
  }

  /** Manual failover: the module's wait for approval, when it waits (docs/geo.md). */
  private approvalOf(module: string): { approval?: ModuleStatus['approval'] } {
    const a = this.o.machine.approval?.(this.runner(module).machineState(), this.clock.now_ms()) ?? null;
    return a === null || a === undefined ? {} : { approval: a };
  }

  private runner(module: string): ModuleRunner<S> {
    const h = this.hosted.find((x) => x.loaded.plan.name === module);
    if (!h) throw new HakitError('HAKIT_E_UNKNOWN_MODULE', `no module "${module}" on node ${this.o.node}`, `node ${this.o.node}`);
    return h.runner;
  }

  private controlTarget(): Parameters<typeof makeControlHandler>[0] {
    return {
      node: this.o.node,
      moduleNames: () => this.hosted.map((h) => h.loaded.plan.name),
      notLoaded: () => this.not_loaded,
      // Peers with no wire version in common are marked (core/daemon/pure/peer-wire.ts).
      moduleStatus: (m) => withPeerWire(withPeerSilence({ ...this.runner(m).status(), ...this.farm.status(m), ...this.approvalOf(m) }, this.membership?.peers ?? {}, this.clock.now_ms()), this.transport?.wireStatus?.()),
      // Monitoring reports the replication link's real state (core/daemon/pure/reported-state.ts).
      replicationLink: (m) => this.mirrors.get(m)?.link() ?? null,
      moduleCommand: (m, c) => {
        if (this.stopping) return Promise.reject(new HakitError('HAKIT_E_DAEMON_UNREACHABLE', 'hakitd is shutting down', `node ${this.o.node}`));
        const runner = this.runner(m);
        return this.farm.command(m, c, (cmd) => runner.command(cmd));
      },
      logLevel: () => this.logs.level,
      setLogLevel: (l) => {
        this.logs.setLevel(l);
        this.logs.daemon.info({ level: l }, 'log level changed');
      },
      info: () => ({ node: this.o.node, pid: process.pid, incarnation: this.incarnation, drops: this.transport?.dropCounters() ?? null }),
    };
  }

  /** Stops every module (reverse load order) while heartbeats keep flowing, then releases everything. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  /** Real VIPs with kernel lifetimes, renewed by this daemon while it lives. */
  private leasedVips(commands: CommandRunner): VipManager {
    const timing = this.fence;
    if (!timing) return new IpVipManager(commands);
    return new VipKeeper({
      vips: new IpVipManager(commands, { lifetime_s: timing.vip_lifetime_s }),
      timing,
      now_ms: () => this.clock.now_ms(),
      takeoverAt_ms: () => vipTakeoverAt(timing, this.fence_started_ms, Object.values(this.membership?.peers ?? {}).filter((p) => !p.up).map((p) => {
        const heard = Object.values(p.lastHeard_ms);
        return heard.length === 0 ? undefined : Math.max(...heard);
      })),
      log: this.logs.daemon,
      permanent: new IpVipManager(commands),
    });
  }

  private async doStop(): Promise<void> {
    const log = this.logs.daemon;
    log.info({}, 'hakitd stopping: stopping modules in order');
    for (const h of [...this.hosted].reverse()) await this.stopModule(h);
    if (this.tick) clearInterval(this.tick);
    await this.api?.close();
    await this.control?.close();
    await this.configService?.close();
    await this.transport?.close();
    for (const w of this.witnesses.values()) await w.close();
    for (const h of this.hosted) {
      h.monitor.dispose();
      await h.runner.dispose();
    }
    await this.farm.dispose();
    if (this.vipManager instanceof VipKeeper) this.vipManager.dispose();
    log.info({}, 'hakitd stopped');
    this.logs.close();
  }

  private async stopModule(h: Hosted<S>): Promise<void> {
    const name = h.loaded.plan.name;
    // Checkers must not restart a module that the shutdown is stopping.
    h.monitor.dispose();
    const t = h.loaded.plan.policy.script_timeout_ms;
    // One stop script may fail and run again with `force`.
    const bound_ms = Math.min(MAX_SHUTDOWN_PER_MODULE_MS, t.stop_prim + t.stop_second + t.stop_both + t.poststop + h.loaded.plan.policy.force_stop_timeout_ms + SHUTDOWN_SLACK_MS);
    const settled = (): boolean => {
      const s = h.runner.status();
      return h.runner.isBroken() || (s.state === 'STOP' && s.status !== 'Transient');
    };
    if (settled()) return;
    try {
      await this.farm.command(name, { kind: 'stop' }, (c) => h.runner.command(c));
    } catch (e) {
      this.logs.daemon.warn({ module: name, err: e instanceof Error ? e.message : String(e) }, 'stop refused at shutdown');
    }
    const deadline = this.clock.now_ms() + bound_ms;
    while (!settled() && this.clock.now_ms() < deadline) await new Promise((r) => setTimeout(r, SHUTDOWN_POLL_MS));
    if (!settled()) {
      this.logs.daemon.error({ module: name, bound_ms, code: 'HAKIT_E_STOP_SCRIPT_FAILED' }, 'module did not reach STOP in time at shutdown: removing its virtual IPs');
      await h.runner.releaseVips();
    }
  }

  /**
   * For systemd's watchdog (main.ts also checks the event loop): once membership runs, its Tick
   * ran within the last HEALTHY_TICK_PERIODS periods (a stuck timer or a starved event loop
   * fails it). Before that (no cluster.xml yet, or the cluster still starting) there is no
   * membership to check.
   */
  healthy(now_ms: number = this.clock.now_ms()): boolean {
    if (this.last_tick_ms === undefined) return true;
    return now_ms - this.last_tick_ms <= HEALTHY_TICK_PERIODS * this.tick_period_ms;
  }
}
