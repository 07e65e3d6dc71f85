// Which node of cluster.xml this host is, for the CLI: HAKIT_NODE_NAME, else the host name,
// else the node owning one of this host's addresses.
import os from 'node:os';
import { HakitError } from '../errors/catalogue';
import type { DeepReadonlyClusterConfig } from '../config/pure/types-frozen';
import { shortHostname } from './bootstrap';

export function nodeOfThisHost(cluster: DeepReadonlyClusterConfig, env: NodeJS.ProcessEnv = process.env): string {
  const named = env['HAKIT_NODE_NAME'];
  if (named && cluster.nodes.some((n) => n.name === named)) return named;
  const host = shortHostname();
  if (cluster.nodes.some((n) => n.name === host)) return host;
  const mine = new Set(Object.values(os.networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address)));
  const byAddr = cluster.nodes.find((n) => Object.values(n.addrs).some((a) => mine.has(a.addr)));
  if (byAddr) return byAddr.name;
  throw new HakitError('HAKIT_E_USAGE', `this host (${host}) is none of the nodes of cluster.xml (${cluster.nodes.map((n) => n.name).join(', ')}); set HAKIT_NODE_NAME`, 'cluster.xml');
}
