// The daemon's answers to the monitoring requests (shapes in core/monitor/api.ts). H6's
// control handler registers it with one line: requests whose cmd is in MONITOR_COMMANDS go
// here. Bad module, resource or value: coded error, nothing changes.
import { HakitError } from '../errors/catalogue';
import type { ModuleMonitor } from '../checkers/host';
import { MONITOR_COMMANDS, type MonitorCommandName } from '../monitor/api';
import type { ControlRequest } from '../control/protocol';

export interface MonitorTarget {
  readonly node: string;
  moduleNames(): readonly string[];
  /** The module's monitor; undefined when the module has none. */
  monitor(module: string): ModuleMonitor | undefined;
}

export function isMonitorCommand(cmd: string): cmd is MonitorCommandName {
  return (MONITOR_COMMANDS as readonly string[]).includes(cmd);
}

function str(args: Record<string, unknown>, key: string): string {
  const v = args[key];
  if (typeof v !== 'string' || v === '') throw new HakitError('HAKIT_E_CONTROL_BAD_REQUEST', `"${key}" must be a non-empty string`, 'control socket');
  return v;
}

function monitorOf(t: MonitorTarget, args: Record<string, unknown>): ModuleMonitor {
  const module = str(args, 'module');
  if (!t.moduleNames().includes(module)) {
    throw new HakitError('HAKIT_E_UNKNOWN_MODULE', `no module "${module}" on node ${t.node} (installed: ${t.moduleNames().join(', ') || 'none'})`, `node ${t.node}`);
  }
  const m = t.monitor(module);
  if (!m) throw new HakitError('HAKIT_E_MONITOR_NO_MODULE', `module "${module}" has no monitor on node ${t.node}`, `node ${t.node}`);
  return m;
}

export function makeMonitorHandler(t: MonitorTarget): (req: ControlRequest) => Promise<unknown> {
  return (req) => {
    const args = req.args as Record<string, unknown>;
    switch (req.cmd) {
      case 'resources':
        return Promise.resolve(monitorOf(t, args).status());
      case 'resource-get':
        return Promise.resolve(monitorOf(t, args).get(str(args, 'resource')));
      case 'resource-set': {
        const m = monitorOf(t, args);
        const resource = str(args, 'resource');
        m.get(resource);
        m.set(resource, str(args, 'value'));
        return Promise.resolve(m.get(resource));
      }
      case 'monitor-switch': {
        const m = monitorOf(t, args);
        const what = args['what'];
        const on = args['on'];
        if (what !== 'errd' && what !== 'checkers') throw new HakitError('HAKIT_E_CONTROL_BAD_REQUEST', '"what" must be errd or checkers', 'control socket');
        if (typeof on !== 'boolean') throw new HakitError('HAKIT_E_CONTROL_BAD_REQUEST', '"on" must be true or false', 'control socket');
        m.switchOn(what, on);
        return Promise.resolve({ module: str(args, 'module'), what, on });
      }
      default:
        return Promise.reject(new HakitError('HAKIT_E_CONTROL_UNKNOWN_COMMAND', `unknown command "${req.cmd}"`, 'control socket'));
    }
  };
}
