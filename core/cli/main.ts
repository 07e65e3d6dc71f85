#!/usr/bin/env node
// `hakit`: the command line of a hakit node. Exit codes: 0 success, 1 command failed,
// 2 usage error (commander's convention, kept for scripts and monitoring).
import { Command, CommanderError } from 'commander';
import { COMMAND_GROUPS } from './commands';
import { isHakitError } from '../errors/catalogue';
import { readPackageVersion } from './package-version';
import { extractHostOption, runOnHosts } from './remote/host-option';

export function buildProgram(): Command {
  const program = new Command('hakit')
    .description('hakit: high availability for Linux applications (mirror and farm modules)')
    .version(readPackageVersion(), '-V, --version')
    .option('-H, --host <node>', 'run the command on NODE ("*": every node) through the API (docs/api.md)')
    .showHelpAfterError()
    .exitOverride();
  for (const register of COMMAND_GROUPS) register(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  // `hakit -H NODE|"*" CMD…`: CMD runs on NODE through the API (core/cli/remote/).
  try {
    const { host, rest } = extractHostOption(argv);
    if (host !== undefined) return await runOnHosts(host, () => runOnce(rest), (s) => process.stdout.write(s));
  } catch (e) {
    if (!isHakitError(e)) throw e;
    process.stderr.write(`hakit: ${e.code}: ${e.message}\n`);
    return e.code === 'HAKIT_E_USAGE' ? 2 : 1;
  }
  return runOnce(argv);
}

async function runOnce(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    if (isHakitError(e)) {
      process.stderr.write(`hakit: ${e.code}: ${e.message}\n`);
      return e.code === 'HAKIT_E_USAGE' ? 2 : 1;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`hakit: HAKIT_E_INTERNAL: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
