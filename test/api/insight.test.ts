// The insight routes on the real HTTPS server with a fake daemon: a what-if question asked by
// a monitor (answered by the engine from the backend's snapshot), coded errors for bad
// questions, the cluster timeline read from a module log, and the pure mappings (bucket map
// from each node's owned buckets, transitions from log lines).
import fs from 'node:fs';
import path from 'node:path';
import { API_BASE } from '../../core/api/contract/version';
import type { BucketMap, TransitionPage, WhatIfAnswer, WhatIfChoices } from '../../core/api/contract/pure/insight-types';
import type { NodeState } from '../../core/api/contract/pure/types';
import { bucketMap, mergeTransitions, transitionOf } from '../../core/api/pure/insight-map';
import { moduleOnNode } from '../../core/api/pure/map';
import type { ApiServer } from '../../core/api/server/api-server';
import { apiKeyAdd } from '../../core/api/users/store';
import { HEARTBEAT_PROFILES, defaultPolicy } from '../../core/module/pure/policy';
import type { WhatIfCluster } from '../../core/whatif/pure/types';
import { call, codeOf, makeTls, startFakeApi, type TlsFixture } from './helpers';

const ann = (state: 'PRIM' | 'SECOND') => ({
  module: 'm1',
  mode: 'mirror' as const,
  state,
  status: 'Ready' as const,
  serving: state === 'PRIM',
  epoch: 3,
  copyComplete: true,
  lastRole: state,
  tookOver: false,
  handover: false,
  wantsPrim: false,
  started: true,
});

const CLUSTER: WhatIfCluster = {
  taken_by: 'n1',
  lans: [{ index: 0, name: 'default' }],
  nodes: [
    { node: 'n1', lans: [0] },
    { node: 'n2', lans: [0] },
  ],
  profile: HEARTBEAT_PROFILES.default,
  modules: [
    {
      policy: defaultPolicy('m1', 'mirror', ['n1', 'n2']),
      powers: null,
      replication_lan: 0,
      nodes: [
        { node: 'n1', reachable: true, announcement: ann('PRIM'), failover: true },
        { node: 'n2', reachable: true, announcement: ann('SECOND'), failover: null },
      ],
    },
  ],
};

let server: ApiServer;
let port = 0;
let fx: TlsFixture;
let key = '';
let log_dir = '';
const get = (p: string) => call(port, fx.tls.ca, 'GET', `${API_BASE}${p}`, { headers: { authorization: `Bearer ${key}` } });

beforeAll(async () => {
  fx = await makeTls();
  key = (await apiKeyAdd(fx.conf_dir, 'mon', 'monitor')).token;
  const started = await startFakeApi(fx, { whatif: () => CLUSTER });
  server = started.server;
  port = started.port;
  log_dir = started.log_dir;
  const line = (time: string, msg: string) => JSON.stringify({ level: 30, time, node: 'n1', module: 'm1', msg });
  fs.writeFileSync(
    path.join(log_dir, 'modules', 'm1.log'),
    [line('2026-12-05T10:00:00.000Z', 'm1: STOP -> WAIT (start)'), line('2026-12-05T10:00:01.000Z', 'running prestart'), line('2026-12-05T10:00:03.000Z', 'm1: WAIT -> ALONE (up-to-date copy)'), '{torn'].join('\n') + '\n',
  );
}, 60_000);

afterAll(async () => {
  await server?.close();
});

test('a monitor asks "n1 fails": n2 takes over after the heartbeat timeout, with the timeline', async () => {
  const a = await get('/whatif?fail=n1&script_ms=200&horizon_ms=20000');
  expect(a.status).toBe(200);
  const w = a.body as WhatIfAnswer;
  expect(w.scenario.fail_nodes).toEqual(['n1']);
  expect(w.scenario.script_ms).toBe(200);
  const m = w.modules.find((x) => x.module === 'm1');
  expect(m?.nodes.find((n) => n.node === 'n2')).toMatchObject({ before: 'SECOND/Ready', after: 'ALONE/Ready', failed: false });
  expect(m?.nodes.find((n) => n.node === 'n1')).toMatchObject({ before: 'PRIM/Ready', after: 'DOWN', failed: true });
  expect(m?.vip_after).toEqual(['n2']);
  expect(w.timeline.some((t) => t.kind === 'peer-lost' && t.node === 'n2')).toBe(true);
  expect(w.assumptions.length).toBeGreaterThan(0);
});

test('what may be asked, and bad questions are coded 400s', async () => {
  const c = (await get('/whatif/choices')).body as WhatIfChoices;
  expect(c).toEqual({ available: true, reason: null, nodes: ['n1', 'n2'], lans: [{ index: 0, name: 'default' }], witness: false, modules: [{ module: 'm1', mode: 'mirror', nodes: ['n1', 'n2'], app_checkers: [], checkers: [] }] });
  const unknown = await get('/whatif?fail=n9');
  expect(unknown.status).toBe(400);
  expect(codeOf(unknown)).toBe('HAKIT_E_WHATIF_UNKNOWN_NODE');
  expect(codeOf(await get('/whatif?cut=nolan'))).toBe('HAKIT_E_WHATIF_UNKNOWN_LAN');
  expect(codeOf(await get('/whatif'))).toBe('HAKIT_E_WHATIF_EMPTY');
  const bad = await get('/whatif?fail=../etc');
  expect(bad.status).toBe(400);
  expect(codeOf(bad)).toBe('HAKIT_E_API_BAD_REQUEST');
  expect(codeOf(await get('/whatif?horizon_ms=99999999&fail=n1'))).toBe('HAKIT_E_API_BAD_REQUEST');
  // Application and checker faults (docs/whatif.md): names checked against the modules, syntax by the schema.
  expect(codeOf(await get('/whatif?app_fail=zz@n1'))).toBe('HAKIT_E_WHATIF_UNKNOWN_MODULE');
  expect(codeOf(await get('/whatif?checker_fail=m1/ping.router@n1'))).toBe('HAKIT_E_WHATIF_UNKNOWN_CHECKER');
  expect(codeOf(await get('/whatif?app_fail=m1'))).toBe('HAKIT_E_API_BAD_REQUEST');
  expect(codeOf(await get('/whatif?app_fail=m1@n1&heal=often'))).toBe('HAKIT_E_API_BAD_REQUEST');
  const unwatched = await get('/whatif?fail=n2&app_fail=m1@n1%2B5000&horizon_ms=20000');
  expect(unwatched.status).toBe(200);
  const w = unwatched.body as WhatIfAnswer;
  expect(w.scenario.faults?.map((f) => [f.kind, f.node, f.at_ms])).toEqual([
    ['node', 'n2', 0],
    ['app', 'n1', 5000],
  ]);
  expect(w.modules[0]?.warnings.map((x) => x.kind)).toContain('not-watched');
});

test('the cluster timeline: state changes from the module logs, merged, the missing node named', async () => {
  const a = await get('/transitions');
  expect(a.status).toBe(200);
  const t = a.body as TransitionPage;
  expect(t.events.map((e) => `${e.node} ${e.module} ${e.from}->${e.to} (${e.why})`)).toEqual(['n1 m1 STOP->WAIT (start)', 'n1 m1 WAIT->ALONE (up-to-date copy)']);
  expect(t.missing.map((x) => x.node)).toEqual(['n2']);
  const one = (await get('/nodes/n1/transitions?lines=2')).body as TransitionPage;
  expect(one.events.map((e) => e.to)).toEqual(['ALONE']);
});

test('bucket map: each bucket\'s owner from the nodes\' own owned lists; gaps and overlaps show', () => {
  const farm = (owned: number[]) => ({ share: `${owned.length}/256`, assigned: owned.length, members: [], counts: {}, default_owner: '', waiting_for: [], filter: 'loaded' as const, leaving: false, error: null, owned_buckets: owned });
  const mod = (node: string, owned: number[] | null) => ({ module: 'web', node, mode: 'farm' as const, state: 'UP' as const, status: 'Ready' as const, epoch: 0, copy_complete: false, failover: true, boot: false, peers: [], farm: owned === null ? null : farm(owned), last_error: null });
  const nodes: NodeState[] = [
    { node: 'a', reachable: true, error: null, modules: [mod('a', [0, 1, 2])], not_loaded: [] },
    { node: 'b', reachable: true, error: null, modules: [mod('b', [2, 3, 255])], not_loaded: [] },
    { node: 'c', reachable: false, error: { code: 'HAKIT_E_API_NODE_UNREACHABLE', message: 'x' }, modules: [], not_loaded: [] },
  ];
  const m: BucketMap = bucketMap('web', 'a', 'now', nodes);
  expect(m.owners).toHaveLength(256);
  expect(m.owners.slice(0, 5)).toEqual(['a', 'a', 'a+b', 'b', '']);
  expect(m.owners[255]).toBe('b');
  expect(m.nodes.map((n) => [n.node, n.owned?.length ?? null])).toEqual([
    ['a', 3],
    ['b', 3],
    ['c', null],
  ]);
});

test('transitions: only edge lines count; merged by time, newest kept', () => {
  const l = (time: string, node: string, msg: string) => ({ time, level: 'info' as const, node, module: 'm', msg, fields: {} });
  expect(transitionOf(l('t', 'a', 'running start_prim'))).toBeNull();
  expect(transitionOf(l('t', 'a', 'm: SECOND -> ALONE (failover: peer lost)'))).toMatchObject({ from: 'SECOND', to: 'ALONE', why: 'failover: peer lost', module: 'm' });
  const e = (time: string, node: string) => ({ time, node, module: 'm', from: 'A', to: 'B', why: '', level: 'info' });
  expect(mergeTransitions([[e('2', 'a'), e('4', 'a')], [e('1', 'b'), e('3', 'b')]], 3).map((x) => x.time)).toEqual(['2', '3', '4']);
});

test('state mapping: a farm node\'s owned buckets (read back from its filter) reach the contract', () => {
  const farm = { share: '3/256', assigned: 3, members: ['n1'], counts: { n1: 256 }, default_owner: 'n1', waiting_for: [], filter: 'loaded' as const, leaving: false, error: null, owned: [0, 1, 7] };
  const m = moduleOnNode('n1', { module: 'web', mode: 'farm', state: 'UP', status: 'Ready', epoch: 0, copyComplete: false, failover: true, boot: false, peers: [], last_error: null, farm } as never);
  expect(m.farm?.owned_buckets).toEqual([0, 1, 7]);
  expect(m.farm?.share).toBe('3/256');
});
