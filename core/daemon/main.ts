#!/usr/bin/env node
// `hakitd`: the node daemon. It hosts every installed module of this node.
import { Command, CommanderError } from 'commander';
import { readPackageVersion } from '../cli/package-version';

export function buildDaemonProgram(): Command {
  return new Command('hakitd')
    .description('hakitd: the hakit node daemon (membership, module state machines, replication, API)')
    .version(readPackageVersion(), '-V, --version')
    .option('--state-dir <dir>', 'where the daemon keeps modules, state and logs', '/var/lib/hakit')
    .showHelpAfterError()
    .exitOverride();
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildDaemonProgram();
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  program.outputHelp();
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
