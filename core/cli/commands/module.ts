// `hakit module …`: package, install, uninstall, list, validate, rollback application modules.
import type { Command } from 'commander';
import path from 'node:path';
import { HakitError } from '../../errors/catalogue';
import { moduleDir } from '../../config/paths';
import { checkModuleName, checkUninstallable, installedCluster, installModule, listInstalled, packageInstalled, rollbackModule, uninstallModule, validateModule } from '../../../modules/store/module-store';
import { packModule } from '../../../modules/safe/pack';
import { prepareSafe } from '../../../modules/safe/with-macros';
import { reportIssues } from '../../config/cli-report';
import { pushModule } from '../../cluster/push';
import { nodeOfThisHost } from '../../cluster/this-node';
import { localModuleState, reloadLocal } from './cluster-bootstrap';

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
    .option('--all-nodes', 'also install it on every other node of cluster.xml (through their config service)', false)
    .option('--macro <NAME=VALUE>', 'set a macro of its userconfig.xml, e.g. VIRTUAL_IP=10.0.0.50 (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .argument('<FILE.safe|DIR>', 'package (or module directory) to install')
    .action((source: string, opts: { module?: string; allNodes: boolean; macro: string[] }) =>
      reportIssues(async () => {
        const prepared = await prepareSafe(source, opts.macro);
        try {
          await installEverywhere(prepared.file, opts.module ?? path.basename(source, '.safe'), opts.allNodes);
        } finally {
          prepared.dispose();
        }
      }),
    );

  async function installEverywhere(file: string, name: string, allNodes: boolean): Promise<void> {
    const r = await installModule(file, name);
    out(`installed ${r.name} (release ${r.release}) in ${moduleDir(r.name)}`);
    const reload = await reloadLocal();
    const pending = reload?.modules_pending.find((p) => p.module === r.name);
    if (pending) out(`hakitd: ${pending.reason}`);
    if (!allNodes) return;
    const cluster = installedCluster();
    if (cluster === null) throw new HakitError('HAKIT_E_CONF_NO_CLUSTER', 'no cluster.xml', 'module install --all-nodes');
    const self = nodeOfThisHost(cluster);
    let failed = 0;
    for (const p of await pushModule(cluster, self, r.name, file)) {
      out(`${p.node}: ${p.ok ? 'installed' : 'FAILED'} ${p.detail}`);
      if (!p.ok) failed++;
        }
        if (failed > 0) throw new HakitError('HAKIT_E_CONFIG_PUSH', `${failed} node(s) did not install ${r.name}; fix and run the install again`, 'module install --all-nodes');
  }

  mod
    .command('uninstall')
    .description('remove an installed module, keeping a backup')
    .requiredOption('-m, --module <NAME>', 'module to remove')
    .action((opts: { module: string }) =>
      reportIssues(async () => {
        checkUninstallable(opts.module, await localModuleState(opts.module));
        const r = uninstallModule(opts.module);
        out(`uninstalled ${opts.module}; backup in ${r.backup}`);
        await reloadLocal();
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
      reportIssues(async () => {
        const r = await rollbackModule(opts.module);
        out(`${opts.module} rolled back to release ${r.release}`);
        const reload = await reloadLocal();
        const pending = reload?.modules_pending.find((p) => p.module === opts.module);
        if (pending) out(`hakitd: ${pending.reason}`);
      }),
    );
}
