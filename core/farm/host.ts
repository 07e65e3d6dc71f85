// The daemon's farm wiring: one FarmController per farm module, built from its userconfig at
// load, fed with the machine's announcements and the membership views, and asked to hand its
// buckets over before any operator stop. Calls for other modules are no-ops, so daemon.ts
// can call it for every module.
import type { DeepReadonlyUserConfig } from '../config/pure/types-frozen';
import type { LogSink } from '../log/sink';
import type { PeerModuleView } from '../membership/pure/types';
import type { ModulePolicy } from '../module/pure/policy';
import type { ModuleAnnouncement, OperatorCommand } from '../module/pure/types';
import type { VipManager, VipSpec } from '../net/types';
import type { FilterBackend } from '../../filters/nft/backend';
import { validateFarmFilter } from '../../filters/pure/validate';
import type { FenceTiming } from '../net/pure/fence-timing';
import { VipKeeper } from '../net/vip-keeper';
import { FarmController, type FarmStatus } from './controller';
import { farmFilterConfig } from './pure/filter-config';

/** Operator commands that stop the application here: the node leaves the farm first. */
const LEAVING_COMMANDS: ReadonlySet<OperatorCommand['kind']> = new Set(['stop', 'stopstart', 'restart']);

export interface FarmHostDeps {
  readonly node: string;
  readonly backend: () => FilterBackend;
  /** Sends a heartbeat with the modules' current announcements. */
  readonly onWire: () => void;
  readonly now_ms: () => number;
  /**
   * The leases derived from the heartbeat profile (docs/adr/0005-fencing-by-expiry.md), known
   * once the daemon read its config; undefined: buckets never expire (unit tests).
   */
  readonly fence?: () => FenceTiming | undefined;
}

/** What the farm needs of a loaded module (the daemon's LoadedModule has it). */
export interface FarmModuleSource {
  readonly plan: { readonly name: string; readonly policy: Pick<ModulePolicy, 'mode' | 'nodes'> };
  readonly config: DeepReadonlyUserConfig;
}

export class FarmHost {
  private readonly controllers = new Map<string, FarmController>();
  private backendInstance: FilterBackend | undefined;

  constructor(private readonly d: FarmHostDeps) {}

  /**
   * Builds the farm filter of a farm module and removes tables a crashed daemon left.
   * Returns the reason when the module cannot run here (its config cannot make a filter).
   */
  async add(l: FarmModuleSource, specs: readonly VipSpec[], vips: VipManager, log: LogSink): Promise<string | null> {
    if (l.plan.policy.mode !== 'farm') return null;
    const name = l.plan.name;
    const mapped = farmFilterConfig(name, l.config, specs.map((s) => ({ address: s.address, ifname: s.ifname })), l.plan.policy.nodes);
    if (!mapped.ok) return `HAKIT_E_FARM_CONFIG: ${mapped.reason}`;
    const fence = this.d.fence?.();
    const valid = validateFarmFilter(fence ? { ...mapped.config, lease_ms: fence.bucket_lease_ms } : mapped.config);
    if (!valid.ok) return valid.errors.map((e) => `${e.code}: ${e.message}`).join('; ');
    this.backendInstance ??= this.d.backend();
    // Farm VIPs do not expire: the bucket leases fence a dead node (docs/adr/0005-fencing-by-expiry.md).
    const farmVips = vips instanceof VipKeeper ? vips.unleased() : vips;
    const c = new FarmController({
      module: name,
      node: this.d.node,
      filter: valid.filter,
      powers: mapped.powers,
      backend: this.backendInstance,
      vips: farmVips,
      vip_specs: specs,
      log,
      onWire: this.d.onWire,
      now_ms: this.d.now_ms,
      lease: fence ? { lease_ms: fence.bucket_lease_ms, renew_ms: fence.bucket_renew_ms, listen_ms: fence.timeout_ms + fence.period_ms, hold_ms: fence.timeout_ms } : null,
    });
    await c.cleanLeftover();
    this.controllers.set(name, c);
    return null;
  }

  /**
   * The VipManager the module's runner uses: for a farm module the controller's port, so the
   * machine's SetVip loads the filter (closed) before the VIP appears; other modules: vips.
   */
  vipsFor(module: string, vips: VipManager): VipManager {
    return this.controllers.get(module)?.vipPort() ?? vips;
  }

  isFarm(module: string): boolean {
    return this.controllers.has(module);
  }

  /** The announcement as sent in heartbeats: farm modules carry their FarmWire. */
  decorate(a: ModuleAnnouncement): ModuleAnnouncement {
    const c = this.controllers.get(a.module);
    return c ? ({ ...a, farm: c.wire() } as ModuleAnnouncement) : a;
  }

  announced(module: string, a: ModuleAnnouncement): void {
    this.controllers.get(module)?.localChanged(a.state, a.status);
  }

  peersChanged(module: string, peers: readonly PeerModuleView[]): void {
    this.controllers.get(module)?.peersChanged(peers);
  }

  /** Runs an operator command; a stop of a serving farm node first hands its buckets over. */
  async command(module: string, cmd: OperatorCommand, run: (c: OperatorCommand) => Promise<void>): Promise<void> {
    const c = this.controllers.get(module);
    if (!c || !LEAVING_COMMANDS.has(cmd.kind)) return run(cmd);
    await c.leave();
    try {
      await run(cmd);
    } catch (e) {
      c.cancelLeave();
      throw e;
    }
  }

  status(module: string): { farm?: FarmStatus } {
    const c = this.controllers.get(module);
    return c ? { farm: c.status() } : {};
  }

  /** Releases one module's filter (module uninstalled or reconfigured while STOP). */
  async remove(module: string): Promise<void> {
    const c = this.controllers.get(module);
    this.controllers.delete(module);
    await c?.dispose();
  }

  async dispose(): Promise<void> {
    for (const c of this.controllers.values()) await c.dispose();
  }
}
