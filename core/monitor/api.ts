// Control-socket requests of the monitoring commands (`hakit get/set/errd/checker/resources`),
// shared by the daemon's handler (core/daemon/monitor-handlers.ts) and the CLI. Types only.
import type { MonitorStatus, ResourceStatus } from '../checkers/host';

export const MONITOR_COMMANDS = ['resources', 'resource-get', 'resource-set', 'monitor-switch'] as const;
export type MonitorCommandName = (typeof MONITOR_COMMANDS)[number];

/** `resources` {module} -> MonitorStatus (every resource, rule and the rule applied last). */
export interface ResourcesArgs {
  readonly module: string;
}
export type ResourcesResult = MonitorStatus;

/** `resource-get` {module, resource} -> ResourceStatus. */
export interface ResourceGetArgs {
  readonly module: string;
  readonly resource: string;
}
export type ResourceGetResult = ResourceStatus;

/** `resource-set` {module, resource, value: 'up'|'down'} -> ResourceStatus after the change. */
export interface ResourceSetArgs {
  readonly module: string;
  readonly resource: string;
  readonly value: 'up' | 'down';
}

/** `monitor-switch` {module, what: 'errd'|'checkers', on} -> the same, as applied. */
export interface MonitorSwitchArgs {
  readonly module: string;
  readonly what: 'errd' | 'checkers';
  readonly on: boolean;
}
export type { MonitorStatus, ResourceStatus };
