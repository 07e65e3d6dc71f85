// `hakit module …`: package, install, uninstall, list, validate, rollback application modules.
import type { Command } from 'commander';
import path from 'node:path';
import { HakitError } from '../../errors/catalogue';
import { moduleDir } from '../../config/paths';
import { checkModuleName, installModule, listInstalled, packageInstalled, rollbackModule, uninstallModule, validateModule } from '../../../modules/store/module-store';
import { packModule } from '../../../modules/safe/pack';
import { reportIssues } from '../../config/cli-report';

const out = (line: string) => process.stdout.write(`${line}\n`);

export function registerModuleCommands(program: Command): void {
  const mod = program.command('module').description('application modules (NAME.safe): package, install, validate, roll back');

  mod
    .command('package')
    .description('pack an installed module (-m NAME) or a module directory (--dir DIR) into OUT.safe')
    .option('-m, --module <NAME>', 'installed module to pack')
    .option('--dir <DIR>', 'module directory holding conf/ and bin/')
    .argument('<OUT.safe>', 'package file to write')
    .action((outFile: string, opts: { module?: string; dir?: string }) =>
      reportIssues(async () => {
        if ((opts.module === undefined) === (opts.dir === undefined)) throw new HakitError('HAKIT_E_USAGE', 'give exactly one of -m NAME or --dir DIR', 'module package');
        if (opts.module !== undefined) await packageInstalled(checkModuleName(opts.module), outFile);
        else await packModule(path.resolve(opts.dir ?? '.'), outFile);
        out(`packed ${outFile}`);
      }),
    );

  mod
    .command('install')
    .description('validate FILE.safe against cluster.xml and the installed modules, then install it atomically')
    .option('-m, --module <NAME>', 'module name (default: the file name without .safe)')
    .argument('<FILE.safe>', 'package to install')
    .action((file: string, opts: { module?: string }) =>
      reportIssues(async () => {
        const r = await installModule(file, opts.module);
        out(`installed ${r.name} (release ${r.release}) in ${moduleDir(r.name)}`);
      }),
    );

  mod
    .command('uninstall')
    .description('remove an installed module, keeping a backup')
    .requiredOption('-m, --module <NAME>', 'module to remove')
    .action((opts: { module: string }) =>
      reportIssues(() => {
        const r = uninstallModule(opts.module);
        out(`uninstalled ${opts.module}; backup in ${r.backup}`);
      }),
    );

  mod
    .command('list')
    .description('list installed modules')
    .action(() => {
      for (const m of listInstalled()) {
        const mode = m.config?.service.mode ?? 'INVALID';
        out(`${m.name.padEnd(32)} ${mode.padEnd(7)} release ${m.release}`);
      }
    });

  mod
    .command('validate')
    .description('check FILE.safe or a module directory (and, when installed, against cluster.xml and the other modules)')
    .option('-m, --module <NAME>', 'module name (default: from the file or directory name)')
    .argument('<FILE.safe|DIR>', 'package or module directory')
    .action((source: string, opts: { module?: string }) =>
      reportIssues(async () => {
        const r = await validateModule(source, opts.module);
        out(`${r.name}: valid ${r.config.service.mode} module`);
      }),
    );

  mod
    .command('rollback')
    .description('re-apply the previous installed config of a module (the last 3 are kept)')
    .requiredOption('-m, --module <NAME>', 'module to roll back')
    .action((opts: { module: string }) =>
      reportIssues(() => {
        const r = rollbackModule(opts.module);
        out(`${opts.module} rolled back to release ${r.release}`);
      }),
    );
}
