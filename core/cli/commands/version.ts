import type { Command } from 'commander';
import { readPackageVersion } from '../package-version';

export function registerVersionCommands(program: Command): void {
  program
    .command('version')
    .description('print the hakit version')
    .action(() => {
      process.stdout.write(`hakit ${readPackageVersion()}\n`);
    });
}
