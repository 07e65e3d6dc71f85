// The what-if snapshot from a daemon's real pieces: cluster.xml and userconfig.xml parsed by
// the config loader, planned by the daemon's planModule, announcements and membership peers.
import { parseClusterText, parseUserConfigText, unwrap } from '../../../core/config/load';
import { planModule } from '../../../core/daemon/module-plan';
import { clusterProfile } from '../../../core/daemon/heartbeat-plan';
import { planMonitor } from '../../../core/rules/pure/plan';
import type { ModuleAnnouncement } from '../../../core/module/pure/types';
import { whatifSnapshot } from '../../../core/whatif/snapshot';
import { predict } from '../../../core/whatif/pure/predict';
import { makeScenario } from '../../../core/whatif/pure/scenario';
import { twoNodeCluster, twoNodeMirrorUserconfig } from '../../daemon/helpers/two-node-config';

const ann = (state: 'PRIM' | 'SECOND'): ModuleAnnouncement => ({ module: 'app', mode: 'mirror', state, status: 'Ready', serving: state === 'PRIM', epoch: 2, copyComplete: true, lastRole: state, tookOver: false, handover: false, wantsPrim: false, started: true });

test('snapshot of a two-node mirror cluster, and the prediction from it', () => {
  const cluster = unwrap(parseClusterText(twoNodeCluster('c', 77).replace('KEYFILE', '/etc/hakit/cluster.key'), 'cluster.xml', '/tmp'));
  const config = unwrap(parseUserConfigText(twoNodeMirrorUserconfig('198.18.77.50', '')));
  const plan = planModule('app', config, cluster);
  const snap = whatifSnapshot({
    node: 'node1',
    cluster,
    modules: [{ plan, config, monitor: planMonitor(config, 'app') }],
    profile: clusterProfile([plan]),
    announcements: new Map([['app', ann('PRIM')]]),
    peers: { node2: { up: true, modules: [ann('SECOND')] } },
    failover: () => true,
  });
  expect(snap.taken_by).toBe('node1');
  expect(snap.lans).toEqual([{ index: 0, name: 'lan0' }]);
  expect(snap.nodes).toEqual([
    { node: 'node1', lans: [0] },
    { node: 'node2', lans: [0] },
  ]);
  expect(snap.profile.name).toBe('fast');
  const m = snap.modules[0]!;
  expect(m.policy).toBe(plan.policy);
  expect(m.replication_lan).toBe(0);
  expect(m.monitor?.rules.module).toBe('app');
  expect(m.nodes.map((x) => [x.node, x.reachable, x.announcement?.state, x.failover])).toEqual([
    ['node1', true, 'PRIM', true],
    ['node2', true, 'SECOND', null],
  ]);
  // The fast profile: node2 takes over within its 800 ms timeout plus a period, scripts aside.
  const p = predict(snap, makeScenario(snap, { fail: ['node1'], script_ms: 100 }));
  expect(p.modules[0]!.nodes.find((n) => n.node === 'node2')?.after).toBe('ALONE/Ready');
  const lost = p.timeline.find((t) => t.kind === 'peer-lost')!;
  expect(lost.at_ms).toBeLessThanOrEqual(800 + 150 + 2);
});
