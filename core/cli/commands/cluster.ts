// `hakit cluster …`: check and install cluster.xml, create the cluster key.
import type { Command } from 'commander';
import path from 'node:path';
import { confcheckCluster, genKey, installCluster } from '../../config/cluster-store';
import { confDir } from '../../config/paths';
import { reportIssues } from '../../config/cli-report';
import { registerClusterBootstrap } from './cluster-bootstrap';

const out = (line: string) => process.stdout.write(`${line}\n`);

export function registerClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('the cluster configuration (cluster.xml) and key');

  cluster
    .command('confcheck')
    .description('check FILE as cluster.xml without installing it')
    .argument('<FILE>', 'cluster.xml to check')
    .action((file: string) =>
      reportIssues(() => {
        const c = confcheckCluster(file);
        out(`cluster ${c.name}: ${c.nodes.length} nodes (${c.nodes.map((n) => n.name).join(', ')}), LANs ${c.lans.map((l) => l.name).join(', ')}`);
      }),
    );

  cluster
    .command('config')
    .description('check FILE then install it as cluster.xml of this node (atomically)')
    .argument('<FILE>', 'cluster.xml to install')
    .action((file: string) =>
      reportIssues(() => {
        const r = installCluster(file);
        out(`installed ${r.path} (cluster ${r.config.name})`);
      }),
    );

  cluster
    .command('genkey')
    .description('create a random 32-byte cluster key (mode 0600); copy it to every node')
    .option('--file <PATH>', 'key file', '')
    .option('--force', 'replace an existing key', false)
    .action((opts: { file: string; force: boolean }) =>
      reportIssues(() => {
        const file = opts.file !== '' ? path.resolve(opts.file) : path.join(confDir(), 'cluster.key');
        genKey(file, opts.force);
        out(`wrote ${file}`);
      }),
    );

  registerClusterBootstrap(cluster);
}
