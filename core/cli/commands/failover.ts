// `hakit failover on|off|approve|deny -m M`: automatic failover on or off, and the operator's
// answer to a survivor waiting for approval under `<failover mode="manual">` (docs/geo.md).
// Every answer goes through the control socket, so the audit log records it (core/api/audit.ts).
import { Argument, type Command } from 'commander';
import { controlRequest } from '../../control/client';
import { controlSocketPath } from '../../control/paths';
import { moduleArg } from '../../control/module-arg';
import type { ModuleStatus, StateResult } from '../../control/api';

export const FAILOVER_ACTIONS = ['on', 'off', 'approve', 'deny'] as const;
export type FailoverAction = (typeof FAILOVER_ACTIONS)[number];

const HELP: Readonly<Record<FailoverAction, string>> = {
  on: 'the survivor takes over when its peer is lost (as the module\'s config says)',
  off: 'the survivor waits for an operator (`hakit prim`)',
  approve: 'manual failover: let the survivor waiting for approval take over now',
  deny: 'manual failover: keep the survivor waiting and cancel its timer',
};

/** The control-socket command of one action. */
export function failoverCommand(action: FailoverAction): { kind: 'failover'; on: boolean } | { kind: 'approve' | 'deny' } {
  if (action === 'on' || action === 'off') return { kind: 'failover', on: action === 'on' };
  return { kind: action };
}

export function registerFailoverCommands(program: Command): void {
  program
    .command('failover')
    .description(`automatic failover and manual approval of a mirror module: ${FAILOVER_ACTIONS.map((a) => `${a} (${HELP[a]})`).join('; ')}`)
    .addArgument(new Argument('<action>', FAILOVER_ACTIONS.join(', ')).choices([...FAILOVER_ACTIONS]))
    .requiredOption('-m, --module <module>', 'module name')
    .action(async (action: FailoverAction, opts: { module: string }) => {
      const sock = controlSocketPath(process.env);
      const module = moduleArg(opts.module);
      await controlRequest(sock, 'command', { module, command: failoverCommand(action) });
      if (action === 'on' || action === 'off') {
        process.stdout.write(`${module}: failover ${action}\n`);
        return;
      }
      const m = await settledState(sock, module, action);
      process.stdout.write(`${module}: failover ${action === 'approve' ? 'approved' : 'denied'}; now ${m ? `${m.state} (${m.status})` : 'unknown'}\n`);
    });
}

/** After approve, the takeover starts within a step or two: show it (bounded), not the state before. */
const APPROVE_SHOW_WAIT_MS = 2_000;
const APPROVE_POLL_MS = 100;

async function settledState(sock: string, module: string, action: 'approve' | 'deny'): Promise<StateResult['modules'][number] | undefined> {
  const deadline = Date.now() + (action === 'approve' ? APPROVE_SHOW_WAIT_MS : 0);
  for (;;) {
    const m = ((await controlRequest(sock, 'state', { module })) as StateResult).modules[0];
    if (m === undefined || m.status !== 'Approval' || action === 'deny' || Date.now() >= deadline) return m;
    await new Promise((r) => setTimeout(r, APPROVE_POLL_MS));
  }
}

/** `hakit state -v`: the wait for approval of a module with manual failover. */
export function formatApproval(a: NonNullable<ModuleStatus['approval']>): string {
  const timer = a.timer_left_ms === null ? (a.denied ? 'denied, no timer' : 'no timer') : `the timer approves in ${Math.ceil(a.timer_left_ms / 1000)} s`;
  return `  waiting for failover approval for ${Math.round(a.waiting_ms / 1000)} s (${timer}): hakit failover approve|deny -m MODULE`;
}
