// Codes of failure detection and monitoring: checkers, failover rules, resources, the
// monitoring commands (nagios, get/set, errd/checker switches, logs, snapshot).
export const CHECKERS_CODES = {
  HAKIT_E_UNKNOWN_RESOURCE: 'no resource of that name exists in the module',
  HAKIT_E_BAD_RESOURCE_VALUE: 'a resource can only be set to up or down',
  HAKIT_E_CHECKER_SPAWN: 'a custom checker program cannot be started',
  HAKIT_E_CHECKER_PING_SOCKET: 'the ICMP raw socket for ping checkers cannot be opened',
  HAKIT_E_CHECKER_BAD_TARGET: 'a checker target (address, interface, regex) is not usable',
  HAKIT_E_RULE_MAXLOOP: 'a failover rule acted more than maxloop times within loop_interval',
  HAKIT_E_MONITOR_NO_MODULE: 'the module has no monitor (no checkers, or not hosted by this daemon)',
  HAKIT_E_LOG_NOT_FOUND: 'the module log file does not exist',
  HAKIT_E_SNAPSHOT: 'the support snapshot cannot be written',
} as const satisfies Record<string, string>;
