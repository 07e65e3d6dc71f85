// Sends a module (or a reload) to the other members' config services, keyed by the cluster
// key: `hakit module install NAME.safe --all-nodes`. One node's failure is reported, never
// hidden, and does not stop the others.
import fs from 'node:fs';
import { readKey } from '../config/cluster-store';
import type { DeepReadonlyClusterConfig } from '../config/pure/types-frozen';
import type { ReloadReport } from '../control/api';
import { configEndpoints } from './config-service';
import { channelRequest, clusterChannelKey, CLUSTER_IDENTITY } from './psk-channel';

export interface PushResult {
  readonly node: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** `only`: push to these nodes alone (the console's node choice); default every other node. */
export async function pushModule(cluster: DeepReadonlyClusterConfig, self: string, name: string, file: string, only?: readonly string[]): Promise<PushResult[]> {
  const key = clusterChannelKey(readKey(cluster.keyfile));
  const safe_b64 = fs.readFileSync(file).toString('base64');
  const out: PushResult[] = [];
  for (const n of cluster.nodes) {
    if (n.name === self || (only !== undefined && !only.includes(n.name))) continue;
    const ep = configEndpoints(cluster, n.name)[0];
    if (ep === undefined) {
      out.push({ node: n.name, ok: false, detail: 'no command LAN address' });
      continue;
    }
    try {
      const r = (await channelRequest(ep.address, ep.port, CLUSTER_IDENTITY, key, { op: 'install-module', name, safe_b64 })) as { release: number; reload: ReloadReport };
      const pending = r.reload.modules_pending.find((p) => p.module === name);
      out.push({ node: n.name, ok: true, detail: `release ${r.release}${pending ? ` (${pending.reason})` : ''}` });
    } catch (e) {
      out.push({ node: n.name, ok: false, detail: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}
