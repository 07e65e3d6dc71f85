// The global `-H NODE|"*"` option: the command runs on NODE (or on every node, one after the
// other, each under a `--- node N` header) through the API instead of the local control
// socket. Taken out of argv before commander parses the rest, so every command gets it.
import { HakitError } from '../../errors/catalogue';
import { redirectControlRequests } from '../../control/client';
import { ApiClient, loadCluster, targets, type RemoteTarget } from './api-client';
import { controlOverApi } from './control-over-api';

export interface HostOption {
  readonly host: string | undefined;
  readonly rest: string[];
}

/** Finds -H X, --host X or --host=X before the command name. */
export function extractHostOption(argv: readonly string[]): HostOption {
  const rest: string[] = [];
  let host: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-H' || a === '--host') {
      host = argv[i + 1];
      if (host === undefined || host.startsWith('-')) throw new HakitError('HAKIT_E_USAGE', `${a} needs a node name or "*"`, 'hakit');
      i++;
    } else if (a.startsWith('--host=')) host = a.slice('--host='.length);
    else if (a.startsWith('-')) rest.push(a);
    else break;
  }
  return { host, rest: [...rest, ...argv.slice(i)] };
}

let current: { client: ApiClient; target: RemoteTarget } | undefined;

/** The node a command runs on with -H (cmdlog and the like ask it directly); undefined: local. */
export function remoteTarget(): { client: ApiClient; target: RemoteTarget } | undefined {
  return current;
}

/** Runs `once` for each chosen node with the control requests redirected; the worst exit code wins. */
export async function runOnHosts(host: string, once: () => Promise<number>, write: (s: string) => void): Promise<number> {
  const cluster = loadCluster();
  const all = targets(cluster);
  const chosen = host === '*' ? all : all.filter((t) => t.node === host);
  if (chosen.length === 0) throw new HakitError('HAKIT_E_USAGE', `no node "${host}" in cluster.xml (nodes: ${all.map((t) => t.node).join(', ')})`, 'hakit -H');
  const client = new ApiClient(cluster);
  let worst = 0;
  for (const t of chosen) {
    if (host === '*') write(`--- node ${t.node}\n`);
    current = { client, target: t };
    redirectControlRequests(controlOverApi(client, t));
    try {
      worst = Math.max(worst, await once());
    } finally {
      redirectControlRequests(undefined);
      current = undefined;
      process.exitCode = undefined;
    }
  }
  return worst;
}
