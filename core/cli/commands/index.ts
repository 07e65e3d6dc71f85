// Every command group of the `hakit` CLI, registered in this order. Each group lives in its
// own file and adds its sub-commands to the program it is given.
import type { Command } from 'commander';
import { registerVersionCommands } from './version';
import { registerModuleCommands } from './module';
import { registerClusterCommands } from './cluster';
import { registerControlCommands } from './control';
import { registerMonitorCommands } from './monitor';
import { registerMirrorCommands } from './mirror';
import { registerDaemonCommands } from './daemon';
import { registerUserCommands } from './user';
import { registerCmdlogCommands } from './cmdlog';
import { registerFailoverCommands } from './failover';

export const COMMAND_GROUPS: ReadonlyArray<(program: Command) => void> = [registerVersionCommands, registerModuleCommands, registerClusterCommands, registerControlCommands, registerFailoverCommands, registerMonitorCommands, registerMirrorCommands, registerUserCommands, registerCmdlogCommands, registerDaemonCommands];
