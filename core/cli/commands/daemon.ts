// `hakit daemon restart --keep-apps`: restarts the local hakitd without stopping what it runs
// (a package upgrade does this; docs/architecture.md, "Upgrades"). Each mirror module this
// node serves with an in-sync SECOND is handed over first (swap), because its capture dies
// with the daemon; then hakitd gets SIGUSR2, exits at once (code 75) and systemd starts the
// new one, which adopts the farm applications and comes back as SECOND of the mirrors.
import type { Command } from 'commander';
import path from 'node:path';
import { HakitError } from '../../errors/catalogue';
import { runDir } from '../../config/paths';
import { controlRequest } from '../../control/client';
import { CONTROL_SOCKET_NAME } from '../../control/paths';
import type { StateResult } from '../../control/api';
import { reportIssues } from '../../config/cli-report';

const out = (line: string) => process.stdout.write(`${line}\n`);
/** Longest wait for one swap to finish before the restart goes on without it. */
export const HANDOVER_TIMEOUT_MS = 120_000;
const POLL_MS = 250;

function sock(): string {
  return path.join(runDir(), CONTROL_SOCKET_NAME);
}

async function state(): Promise<StateResult> {
  return (await controlRequest(sock(), 'state', {})) as StateResult;
}

/** Mirror modules this node serves while the peer is an in-sync SECOND: they can be handed over. */
export function handoverCandidates(s: StateResult): string[] {
  return s.modules.filter((m) => m.mode === 'mirror' && m.state === 'PRIM' && m.peers.some((p) => p.reachable && p.state === 'SECOND' && p.status === 'Ready')).map((m) => m.module);
}

async function handOver(module: string): Promise<boolean> {
  await controlRequest(sock(), 'command', { module, command: { kind: 'swap' } });
  const deadline = Date.now() + HANDOVER_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const m = (await state()).modules.find((x) => x.module === module);
    if (m !== undefined && m.state === 'SECOND' && m.status === 'Ready') return true;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return false;
}

export function registerDaemonCommands(program: Command): void {
  const daemon = program.command('daemon').description('the local hakitd itself');
  daemon
    .command('restart')
    .description('restart hakitd; with --keep-apps, hand mirror modules over first and leave applications running (package upgrades)')
    .option('--keep-apps', 'do not stop modules: the next hakitd adopts them', false)
    .option('--no-handover', 'with --keep-apps: do not swap mirror modules away first (their applications then restart)')
    .action((o: { keepApps: boolean; handover: boolean }) =>
      reportIssues(async () => {
        if (!o.keepApps) throw new HakitError('HAKIT_E_USAGE', 'a restart that stops modules is `systemctl restart hakitd`; this command is for --keep-apps', 'daemon restart');
        const info = (await controlRequest(sock(), 'ping', {})) as { pid?: unknown };
        const pid = typeof info.pid === 'number' ? info.pid : 0;
        if (!(pid > 1)) throw new HakitError('HAKIT_E_DAEMON_UNREACHABLE', 'hakitd did not say its pid', sock());
        if (o.handover) {
          for (const m of handoverCandidates(await state())) {
            out(`${m}: handing over to the SECOND before the restart`);
            out((await handOver(m)) ? `${m}: this node is SECOND now` : `${m}: not SECOND after ${HANDOVER_TIMEOUT_MS / 1000} s; restarting anyway (its application restarts)`);
          }
        }
        process.kill(pid, 'SIGUSR2');
        out(`hakitd (pid ${pid}) exits for a restart; its modules keep running for the next hakitd to adopt`);
      }),
    );
}
