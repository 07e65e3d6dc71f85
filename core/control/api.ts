// The control socket's commands, shared by the daemon (server side) and the CLI (client).
// Types only, so that any client (CLI, tests, the REST API) can import them.
import type { CommandKind, ModuleMode, ModuleStateName, SubStatus } from '../module/pure/types';

export const CONTROL_COMMANDS = ['state', 'command', 'level', 'ping'] as const;
export type ControlCommandName = (typeof CONTROL_COMMANDS)[number];

export interface PeerStatus {
  readonly node: string;
  readonly reachable: boolean;
  readonly lansUp: readonly number[];
  /** The peer's last announcement for the module (stale when the peer is unreachable). */
  readonly state: ModuleStateName | null;
  readonly status: SubStatus | null;
  /**
   * ms since the peer was last heard on any LAN; null: not heard since this hakitd started;
   * absent: a daemon that does not report it.
   */
  readonly silent_ms?: number | null;
  /**
   * Present when the peer speaks no heartbeat wire version in common with this node
   * (HAKIT_E_WIRE_INCOMPATIBLE): its heartbeats are ignored. Versions as `2` or `2..3`.
   */
  readonly wire_incompatible?: { readonly peer_versions: string; readonly own_versions: string };
}

export interface ModuleStatus {
  readonly module: string;
  readonly mode: ModuleMode;
  readonly state: ModuleStateName;
  readonly status: SubStatus;
  readonly epoch: number;
  readonly copyComplete: boolean;
  /** Effective failover setting (operator override, else the module's config). */
  readonly failover: boolean;
  readonly boot: boolean;
  readonly peers: readonly PeerStatus[];
  /** The last refusal or failure, for `hakit state -v`. */
  readonly last_error: { readonly code: string; readonly message: string } | null;
  /**
   * Mirror: whether the replication session with the peer is up right now; `state` already
   * says ALONE for a PRIM whose link is down (core/daemon/pure/reported-state.ts).
   */
  readonly replication?: 'up' | 'down';
  /**
   * Manual failover (docs/geo.md): the survivor waits for `hakit failover approve` since
   * `waiting_ms`; the timer approves in `timer_left_ms` (null: no timer, or denied). Absent
   * when not waiting.
   */
  readonly approval?: { readonly waiting_ms: number; readonly timer_left_ms: number | null; readonly denied: boolean } | null;
}

export interface StateArgs {
  readonly module?: string;
}
export interface StateResult {
  readonly node: string;
  readonly modules: readonly ModuleStatus[];
  /** Installed modules the daemon could not load (invalid config, VIP without interface...). */
  readonly not_loaded?: readonly { readonly module: string; readonly reason: string }[];
}

export interface CommandArgs {
  readonly module: string;
  readonly command: { readonly kind: CommandKind; readonly on?: boolean };
}
export interface CommandResult {
  readonly module: string;
  readonly command: CommandKind;
  readonly accepted: true;
}

export interface LevelArgs {
  readonly level?: string;
}
export interface LevelResult {
  readonly level: string;
}

/** `hakit state -m M -lq` exit codes (SafeKit's convention). */
export const STATE_EXIT_CODES: Readonly<Record<ModuleStateName, number>> = {
  STOP: 0,
  WAIT: 1,
  ALONE: 2,
  UP: 2,
  PRIM: 3,
  SECOND: 4,
};
/** `hakit state -m M -lq` when the daemon does not answer or the module is unknown. */
export const STATE_EXIT_UNKNOWN = 5;

/** Answer of the `reload` command (`hakit cluster reload`, and after init/join/module install). */
export interface ReloadReport {
  /** The daemon was waiting for a configuration and has started with it. */
  started: boolean;
  nodes_added: string[];
  nodes_removed: string[];
  modules_added: string[];
  modules_removed: string[];
  /** Re-hosted with their new configuration (they were STOP). */
  modules_reloaded: string[];
  /** Running modules whose new configuration waits for their next stop and start. */
  modules_pending: { module: string; reason: string }[];
}
