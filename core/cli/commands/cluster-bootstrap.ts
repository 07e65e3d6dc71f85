// `hakit cluster init | token | join | reload`: a cluster in three commands (docs/cluster.md,
// "Build a cluster"). After writing the configuration each asks the local hakitd to apply it
// (`reload`), so nothing needs a restart; a daemon not running yet picks it up when started.
import type { Command } from 'commander';
import path from 'node:path';
import { HakitError, isHakitError } from '../../errors/catalogue';
import { confDir, runDir, stateDir } from '../../config/paths';
import { controlRequest } from '../../control/client';
import { CONTROL_SOCKET_NAME } from '../../control/paths';
import type { ReloadReport, StateResult } from '../../control/api';
import { RealCommandRunner } from '../../net/command-runner';
import { DEFAULT_CONFIG_PORT, initCluster, joinCluster, newToken, shortHostname } from '../../cluster/bootstrap';
import { DEFAULT_TOKEN_TTL_MS, parseTtl } from '../../cluster/pure/join-token';
import { reportIssues } from '../../config/cli-report';

const out = (line: string) => process.stdout.write(`${line}\n`);
/** A reload starts modules' hosting; the first start of a node may take its time. */
const RELOAD_TIMEOUT_MS = 120_000;

function dirs() {
  return { conf_dir: confDir(), state_dir: stateDir() };
}

/** Asks the local hakitd to apply the configuration; says so when it is not running. */
export async function reloadLocal(): Promise<ReloadReport | null> {
  try {
    return (await controlRequest(path.join(runDir(), CONTROL_SOCKET_NAME), 'reload', {}, RELOAD_TIMEOUT_MS)) as ReloadReport;
  } catch (e) {
    if (isHakitError(e) && e.code === 'HAKIT_E_DAEMON_UNREACHABLE') {
      process.stderr.write('hakit: hakitd is not running here: start it (systemctl start hakitd) and it applies the configuration\n');
      return null;
    }
    throw e;
  }
}

/** The module's state in this node's hakitd (null: hakitd is not running, or does not host it). */
export async function localModuleState(module: string): Promise<string | null> {
  try {
    const r = (await controlRequest(path.join(runDir(), CONTROL_SOCKET_NAME), 'state', {})) as StateResult;
    return r.modules.find((m) => m.module === module)?.state ?? null;
  } catch (e) {
    if (isHakitError(e) && e.code === 'HAKIT_E_DAEMON_UNREACHABLE') return null;
    throw e;
  }
}

function printReload(r: ReloadReport | null): void {
  if (r === null) return;
  if (r.started) out('hakitd applied the configuration and started');
  const parts = [
    r.nodes_added.length ? `nodes added: ${r.nodes_added.join(', ')}` : '',
    r.modules_added.length ? `modules added: ${r.modules_added.join(', ')}` : '',
    r.modules_reloaded.length ? `modules reloaded: ${r.modules_reloaded.join(', ')}` : '',
    r.modules_removed.length ? `modules removed: ${r.modules_removed.join(', ')}` : '',
  ].filter((p) => p !== '');
  if (parts.length) out(`hakitd: ${parts.join('; ')}`);
  for (const p of r.modules_pending) out(`hakitd: module ${p.module}: ${p.reason}`);
}

function ttlOf(text: string | undefined): number {
  return text === undefined ? DEFAULT_TOKEN_TTL_MS : parseTtl(text);
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function registerClusterBootstrap(cluster: Command): void {
  cluster
    .command('init')
    .description('make this node the first of a new cluster: key, cluster.xml, CA and certificate, first admin, join token')
    .option('--name <CLUSTER>', 'cluster name', '')
    .option('--node <NAME>', 'this node\'s name (default: host name)', '')
    .option('--lan <NAME=ADDRESS>', 'a LAN and this node\'s address on it (repeat for more LANs; default: default=<address of the default route>)', collect, [])
    .option('--ttl <DURATION>', 'lifetime of the join token (e.g. 30m, 2h; at most 24h)')
    .option('--force', 'replace an existing configuration (every other node must join again)', false)
    .action((o: { name: string; node: string; lan: string[]; ttl?: string; force: boolean }) =>
      reportIssues(async () => {
        const node = o.node || shortHostname();
        const r = await initCluster(dirs(), { node, cluster: o.name || `${node}-cluster`, lans: o.lan, force: o.force, ttl_ms: ttlOf(o.ttl), now_ms: Date.now() }, new RealCommandRunner());
        out(`cluster configured: ${r.cluster_xml} (node ${node} at ${r.addresses.join(', ')})`);
        if (r.admin) out(`first admin of the console and API: user ${r.admin.user} password ${r.admin.password}  (shown once; change it with: hakit user passwd admin)`);
        out(`join token (one-time, until ${new Date(r.token_expires_at_ms).toISOString()}):`);
        out(`  on each other node: hakit cluster join ${r.addresses[0]} --token ${r.token}`);
        printReload(await reloadLocal());
      }),
    );

  cluster
    .command('token')
    .description('print a new one-time join token of this node (it must be configured)')
    .option('--ttl <DURATION>', 'lifetime (e.g. 30m, 2h; at most 24h)')
    .action((o: { ttl?: string }) =>
      reportIssues(() => {
        const t = newToken(dirs(), ttlOf(o.ttl), Date.now());
        out(t.token);
        process.stderr.write(`valid until ${new Date(t.expires_at_ms).toISOString()}, once\n`);
      }),
    );

  cluster
    .command('join')
    .description('join the cluster of NODE (an address or name of a member) with a token it printed')
    .argument('<NODE>', 'a member\'s address or host name')
    .option('--token <TOKEN>', 'the join token (or env HAKIT_JOIN_TOKEN, which keeps it out of the shell history)', '')
    .option('--node <NAME>', 'this node\'s name (default: host name)', '')
    .option('--port <PORT>', 'the member\'s config service port', String(DEFAULT_CONFIG_PORT))
    .action((host: string, o: { token: string; node: string; port: string }) =>
      reportIssues(async () => {
        const token = o.token || process.env['HAKIT_JOIN_TOKEN'] || '';
        if (token === '') throw new HakitError('HAKIT_E_USAGE', 'give the token printed by `hakit cluster init` or `hakit cluster token` on a member', '--token');
        const port = Number(o.port);
        if (!Number.isInteger(port) || port < 1 || port > 65535) throw new HakitError('HAKIT_E_USAGE', `"${o.port}" is not a port`, '--port');
        const node = o.node || shortHostname();
        const r = await joinCluster(dirs(), { host, port, token, node }, new RealCommandRunner());
        out(`joined cluster ${r.cluster} as ${node}`);
        for (const p of r.pushed) out(p.ok ? `  ${p.node} knows the new node` : `  ${p.node} was not told: ${p.error ?? '?'} (run hakit cluster reload there once reachable)`);
        if (r.tls === null || r.tls.node_cert === null) out('no node certificate was issued: the API waits for one (see docs/api.md, TLS)');
        printReload(await reloadLocal());
      }),
    );

  cluster
    .command('reload')
    .description('ask the local hakitd to apply cluster.xml and the installed modules now (no restart)')
    .action(() => reportIssues(async () => printReload(await reloadLocal())));
}
