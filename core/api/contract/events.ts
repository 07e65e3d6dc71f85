// Live events on socket.io (path EVENTS_PATH, same login as the REST routes: the session
// cookie, or `auth: { token }` with an API key). Every event carries the node it happened
// on; a node relays its peers' events, so one connection sees the whole cluster.
import type { LogLine, ModuleOnNode, ReplicationStatus, ResourceChange } from './pure/types';

export interface StateEvent {
  readonly node: string;
  readonly module: string;
  readonly at: string;
  readonly previous: { readonly state: string; readonly status: string } | null;
  /** null: the module left this node (uninstalled, or the node became unreachable). */
  readonly current: ModuleOnNode | null;
}
export interface ResourceEvent {
  readonly node: string;
  readonly module: string;
  readonly change: ResourceChange;
}
export interface LogEvent {
  readonly line: LogLine;
}
/** Re-integration and replication progress (pending bytes, rate). */
export interface ReplicationEvent {
  readonly status: ReplicationStatus;
}
export interface NodeEvent {
  readonly node: string;
  readonly reachable: boolean;
  readonly at: string;
}

export interface ServerToClientEvents {
  state: (e: StateEvent) => void;
  resource: (e: ResourceEvent) => void;
  log: (e: LogEvent) => void;
  replication: (e: ReplicationEvent) => void;
  node: (e: NodeEvent) => void;
}
/** What a client may ask: log lines are sent only to clients that subscribed (they are many). */
export interface ClientToServerEvents {
  'logs:subscribe': (q: { readonly node?: string; readonly module?: string | null }) => void;
  'logs:unsubscribe': () => void;
}
export const EVENT_NAMES = ['state', 'resource', 'log', 'replication', 'node'] as const;
