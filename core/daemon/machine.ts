// The module machine hakitd runs: H3's pure state machine (core/module/pure/machine.ts).
import { createMachine, step, type ModuleMachine } from '../module/pure/machine';
import { approvalStatus } from '../module/pure/approval';
import type { MachineFactory } from './daemon';

export const MODULE_MACHINE: MachineFactory<ModuleMachine> = { init: createMachine, step, approval: approvalStatus };
