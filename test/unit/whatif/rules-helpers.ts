// What-if clusters built from real userconfig.xml text: parsed by the config loader, planned by
// the daemon's planModule and the rules' planMonitor, the farm's waited resources as the daemon
// adds them, and snapshotted by core/whatif/snapshot.ts, as a running hakitd would.
import { parseClusterText, parseUserConfigText, unwrap } from '../../../core/config/load';
import { clusterProfile } from '../../../core/daemon/heartbeat-plan';
import { planModule } from '../../../core/daemon/module-plan';
import type { ModuleAnnouncement, ModuleMode, ModuleStateName, SubStatus } from '../../../core/module/pure/types';
import { planMonitor, waitResourceNames } from '../../../core/rules/pure/plan';
import { predict } from '../../../core/whatif/pure/predict';
import { makeScenario, type WhatIfQuestion } from '../../../core/whatif/pure/scenario';
import type { WhatIfCluster, WhatIfPrediction } from '../../../core/whatif/pure/types';
import { whatifSnapshot } from '../../../core/whatif/snapshot';

export function cluster3(): string {
  return `<cluster name="w" keyfile="/etc/hakit/cluster.key">
  <lan name="lan0">
    <node name="node1" addr="198.18.90.1" port="9010"/>
    <node name="node2" addr="198.18.90.2" port="9010"/>
    <node name="node3" addr="198.18.90.3" port="9010"/>
  </lan>
</cluster>`;
}

/** A mirror module on node1 and node2; `checks` goes into <service>. */
export function mirrorConfig(o: { checks: string; failover?: 'on' | 'off'; maxloop?: number }): string {
  return `<safe>
  <service mode="mirror" nodes="node1 node2" failover="${o.failover ?? 'on'}" maxloop="${o.maxloop ?? 2}" loop_interval="24">
    <heart profile="fast"><heartbeat name="lan0"/></heart>
    <vip><interface_list><interface><real_interface>
      <virtual_addr addr="198.18.90.50" where="one_side_alias"/>
    </real_interface></interface></interface_list></vip>
    ${o.checks}
  </service>
</safe>`;
}

/** A farm module on node1..node3; `checks` goes into <service>. */
export function farmConfig(o: { checks: string; maxloop?: number }): string {
  return `<safe>
  <service mode="farm" maxloop="${o.maxloop ?? 1}" loop_interval="24">
    <heart profile="fast"><heartbeat name="lan0"/></heart>
    <farm><lan name="lan0"><node name="node1" power="1"/><node name="node2" power="1"/><node name="node3" power="1"/></lan></farm>
    <vip><interface_list><interface><virtual_interface type="vmac_directed">
      <virtual_addr addr="198.18.90.60" where="alias"/>
    </virtual_interface></interface></interface_list>
    <rule proto="tcp" port="80" filter="on_addr"/></vip>
    ${o.checks}
  </service>
</safe>`;
}

export function ann(module: string, mode: ModuleMode, state: ModuleStateName, status: SubStatus = 'Ready', over: Partial<ModuleAnnouncement> = {}): ModuleAnnouncement {
  const serving = state === 'PRIM' || state === 'ALONE';
  return {
    module,
    mode,
    state,
    status,
    serving,
    epoch: 3,
    copyComplete: state === 'PRIM' || state === 'ALONE' || (state === 'SECOND' && status === 'Ready'),
    lastRole: state === 'PRIM' ? 'PRIM' : state === 'ALONE' ? 'ALONE' : state === 'SECOND' ? 'SECOND' : 'none',
    tookOver: false,
    handover: false,
    wantsPrim: false,
    started: state !== 'STOP',
    ...over,
  };
}

/** The snapshot node1's daemon would take, with `states` announced by each node. */
export function snapshotOf(module: string, xml: string, states: Readonly<Record<string, ModuleAnnouncement>>): WhatIfCluster {
  const cluster = unwrap(parseClusterText(cluster3(), 'cluster.xml', '/tmp'));
  const config = unwrap(parseUserConfigText(xml));
  const plan = planModule(module, config, cluster);
  const monitor = planMonitor(config, module);
  const policy = { ...plan.policy, waitOnResources: plan.policy.mode !== 'mirror' ? waitResourceNames(monitor) : [] };
  const peers = Object.fromEntries(Object.entries(states).filter(([n]) => n !== 'node1').map(([n, a]) => [n, { up: true, modules: [a] }]));
  return whatifSnapshot({
    node: 'node1',
    cluster,
    modules: [{ plan, config, policy, monitor }],
    profile: clusterProfile([plan]),
    announcements: new Map(states['node1'] ? [[module, states['node1']]] : []),
    peers,
    failover: () => null,
  });
}

export function ask(c: WhatIfCluster, q: WhatIfQuestion): WhatIfPrediction {
  return predict(c, makeScenario(c, { script_ms: 500, sync_ms: 1000, ...q }));
}

export const after = (p: WhatIfPrediction, node: string): string | undefined => p.modules[0]?.nodes.find((n) => n.node === node)?.after;
export const kinds = (p: WhatIfPrediction): string[] => [...p.warnings, ...p.modules.flatMap((m) => m.warnings)].map((w) => w.kind);
