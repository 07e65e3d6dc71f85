// The daemon's answers on the control socket (protocol in core/control/protocol.ts, command
// shapes in core/control/api.ts). Every bad argument is a coded error; nothing changes then.
import { HakitError } from '../errors/catalogue';
import type { CommandArgs, CommandResult, LevelResult, StateResult } from '../control/api';
import type { ControlRequest } from '../control/protocol';
import { isMonitorCommand } from './monitor-handlers';
import { parseLogLevel, type LogLevel } from '../log/levels';
import type { CommandKind, OperatorCommand } from '../module/pure/types';
import { reportedStatus, type LinkState } from './pure/reported-state';

export interface ControlTarget {
  readonly node: string;
  moduleNames(): readonly string[];
  /** Installed modules the daemon could not load, and why. */
  notLoaded(): readonly { readonly module: string; readonly reason: string }[];
  moduleStatus(module: string): StateResult['modules'][number];
  /** Mirror modules: the replication link's real state (null: no engine, or not a mirror module). */
  replicationLink?(module: string): LinkState | null;
  moduleCommand(module: string, command: OperatorCommand): Promise<void>;
  logLevel(): LogLevel;
  setLogLevel(level: LogLevel): void;
  info(): Record<string, unknown>;
}

const SIMPLE: ReadonlySet<CommandKind> = new Set(['start', 'stop', 'restart', 'stopstart', 'prim', 'second', 'swap', 'primforce', 'approve', 'deny']);
const SWITCHES: ReadonlySet<CommandKind> = new Set(['failover', 'boot']);

function moduleArg(t: ControlTarget, args: Record<string, unknown>): string {
  const m = args['module'];
  if (typeof m !== 'string' || m === '') throw new HakitError('HAKIT_E_CONTROL_BAD_REQUEST', '"module" must be a module name', 'control socket');
  if (!t.moduleNames().includes(m)) {
    const broken = t.notLoaded().find((x) => x.module === m);
    if (broken) throw new HakitError('HAKIT_E_UNKNOWN_MODULE', `module "${m}" is installed but not loaded: ${broken.reason}`, `node ${t.node}`);
    throw new HakitError('HAKIT_E_UNKNOWN_MODULE', `no module "${m}" on node ${t.node} (installed: ${t.moduleNames().join(', ') || 'none'})`, `node ${t.node}`);
  }
  return m;
}

export function parseOperatorCommand(raw: unknown): OperatorCommand {
  if (typeof raw !== 'object' || raw === null) throw new HakitError('HAKIT_E_CONTROL_BAD_REQUEST', '"command" must be an object', 'control socket');
  const c = raw as Record<string, unknown>;
  const kind = c['kind'];
  if (typeof kind === 'string' && SIMPLE.has(kind as CommandKind)) return { kind } as OperatorCommand;
  if (typeof kind === 'string' && SWITCHES.has(kind as CommandKind)) {
    if (typeof c['on'] !== 'boolean') throw new HakitError('HAKIT_E_CONTROL_BAD_REQUEST', `"${kind}" needs "on": true or false`, 'control socket');
    return { kind: kind as 'failover' | 'boot', on: c['on'] };
  }
  throw new HakitError('HAKIT_E_CONTROL_BAD_REQUEST', `"${String(kind)}" is not a module command`, 'control socket');
}

export function makeControlHandler(t: ControlTarget, monitor?: (req: ControlRequest) => Promise<unknown>): (req: ControlRequest) => Promise<unknown> {
  return async (req) => {
    if (monitor && isMonitorCommand(req.cmd)) return monitor(req);
    const args = req.args as Record<string, unknown>;
    switch (req.cmd) {
      case 'ping':
        return t.info();
      case 'state': {
        const all = args['module'] === undefined;
        const names = all ? t.moduleNames() : [moduleArg(t, args)];
        const r: StateResult = { node: t.node, modules: names.map((n) => reportedStatus(t.moduleStatus(n), t.replicationLink?.(n) ?? null)), not_loaded: all ? [...t.notLoaded()] : [] };
        return r;
      }
      case 'command': {
        const module = moduleArg(t, args);
        const command = parseOperatorCommand((args as Partial<CommandArgs>)['command']);
        await t.moduleCommand(module, command);
        const r: CommandResult = { module, command: command.kind, accepted: true };
        return r;
      }
      case 'level': {
        if (args['level'] !== undefined) {
          if (typeof args['level'] !== 'string') throw new HakitError('HAKIT_E_BAD_LOG_LEVEL', '"level" must be a string', 'control socket');
          t.setLogLevel(parseLogLevel(args['level']));
        }
        const r: LevelResult = { level: t.logLevel() };
        return r;
      }
      default:
        throw new HakitError('HAKIT_E_CONTROL_UNKNOWN_COMMAND', `unknown command "${req.cmd}" (known: ping, state, command, level and the monitoring commands)`, 'control socket');
    }
  };
}
