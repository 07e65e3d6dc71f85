// The console's pure parts: SafeKit colours with icon and words, the event reducer, the
// isolation banner's rule, the bucket layout.
import type { ClusterState, ModuleOnNode } from '../../core/api/contract/pure/types';
import { bucketOwners, cellLook, colourOf, switchFlags } from '../../webconsole/pure/cell';
import { TIMELINE_MAX, applyNode, applyState, fromState, gridOf, ownNodeIsolated } from '../../webconsole/pure/cluster-view';

function mod(over: Partial<ModuleOnNode> = {}): ModuleOnNode {
  return { module: 'm1', node: 'n1', mode: 'mirror', state: 'PRIM', status: 'Ready', epoch: 1, copy_complete: true, failover: true, boot: false, peers: [{ node: 'n2', reachable: true, lans_up: [0], state: 'SECOND', status: 'Ready' }], farm: null, last_error: null, ...over };
}

const cluster = (m: ModuleOnNode, n2reachable = false): ClusterState => ({
  api_version: 1,
  answered_by: 'n1',
  at: '2026-01-01T00:00:00Z',
  nodes: [
    { node: 'n1', reachable: true, error: null, modules: [m], not_loaded: [] },
    { node: 'n2', reachable: n2reachable, error: null, modules: [], not_loaded: [] },
  ],
});

test('colours follow SafeKit: red STOP/WAIT NotReady, orange transitions, magenta ALONE, green ready', () => {
  expect(colourOf('STOP', 'NotReady', true)).toBe('red');
  expect(colourOf('WAIT', 'NotReady', true)).toBe('red');
  expect(colourOf('WAIT', 'Transient', true)).toBe('orange');
  expect(colourOf('PRIM', 'Transient', true)).toBe('orange');
  expect(colourOf('SECOND', 'Ready', false)).toBe('orange');
  expect(colourOf('ALONE', 'Ready', true)).toBe('magenta');
  for (const s of ['PRIM', 'SECOND', 'UP']) expect(colourOf(s, 'Ready', true)).toBe('green');
});

test('a cell always has an icon and words besides its colour', () => {
  const l = cellLook(mod({ state: 'SECOND', copy_complete: false }), true);
  expect(l).toMatchObject({ colour: 'orange', label: 'SECOND (Ready)' });
  expect(l.icon).not.toBe('');
  expect(l.details).toContain('copy NOT up to date');
  expect(cellLook(null, false)).toMatchObject({ colour: 'red', label: 'unreachable' });
  expect(cellLook(mod({ state: 'UP' }), false)).toMatchObject({ colour: 'red', label: 'unreachable', details: ['API not answering', 'last known UP (Ready)'] });
  expect(cellLook(mod({ state: 'UP' }), true, null, true)).toMatchObject({ colour: 'red', details: ['heartbeats lost', 'last known UP (Ready)'] });
  expect(cellLook(null, false, { node: 'n2', reachable: true, lans_up: [0], state: 'SECOND', status: 'Ready' })).toMatchObject({ colour: 'green', details: ['seen by heartbeat only'] });
});

test('a full timeline keeps its length; each change still has a newest entry of its own (the history reloads on it)', () => {
  let v = fromState(cluster(mod()));
  for (let i = 0; i < TIMELINE_MAX + 3; i++) {
    const before = v.timeline.at(-1);
    const from = i % 2 === 0 ? 'PRIM' : 'ALONE';
    const to = i % 2 === 0 ? 'ALONE' : 'PRIM';
    v = applyState(v, { node: 'n1', module: 'm1', at: `t${i}`, previous: { state: from, status: 'Ready' }, current: mod({ state: to }) });
    expect(v.timeline.at(-1)).not.toBe(before);
  }
  expect(v.timeline).toHaveLength(TIMELINE_MAX);
  // A fresh /state answer keeps the timeline and so its newest entry: no reload for it.
  expect(fromState(cluster(mod()), v.timeline).timeline.at(-1)).toBe(v.timeline.at(-1));
});

test('state and node events update the view and the timeline', () => {
  let v = fromState(cluster(mod()));
  v = applyState(v, { node: 'n1', module: 'm1', at: 't1', previous: { state: 'PRIM', status: 'Ready' }, current: mod({ state: 'ALONE' }) });
  const g = gridOf(v, ['n1', 'n2']);
  expect(g.modules).toEqual(['m1']);
  expect(g.cell('m1', 'n1').m?.state).toBe('ALONE');
  expect(v.timeline).toEqual([{ at: 't1', node: 'n1', module: 'm1', from: 'PRIM (Ready)', to: 'ALONE (Ready)' }]);
  // n1's heartbeats see n2 down: n2's own (stale) answer is shown as lost.
  const n2up = applyState(v, { node: 'n2', module: 'm1', at: 't1', previous: null, current: mod({ node: 'n2', state: 'SECOND', peers: [] }) });
  expect(gridOf(n2up, ['n1', 'n2']).cell('m1', 'n2').heartbeat_lost).toBe(false);
  const lost = applyState(n2up, { node: 'n1', module: 'm1', at: 't1', previous: null, current: mod({ peers: [{ node: 'n2', reachable: false, lans_up: [], state: null, status: null }] }) });
  expect(gridOf(lost, ['n1', 'n2']).cell('m1', 'n2').heartbeat_lost).toBe(true);
  expect(applyState(v, { node: 'n1', module: 'm1', at: 't9', previous: { state: 'ALONE', status: 'Ready' }, current: mod({ state: 'ALONE', epoch: 9 }) }).timeline).toHaveLength(1);
  v = applyNode(v, { node: 'n1', reachable: false, at: 't2' });
  expect(gridOf(v, ['n1', 'n2']).cell('m1', 'n1').reachable).toBe(false);
  v = applyState(v, { node: 'n1', module: 'm1', at: 't3', previous: { state: 'ALONE', status: 'Ready' }, current: null });
  expect(gridOf(v, ['n1', 'n2']).modules).toEqual([]);
});

test('isolation: banner only when no other node is seen by heartbeat nor by the API', () => {
  expect(ownNodeIsolated(fromState(cluster(mod())), ['n1', 'n2'])).toBe(false);
  const alone = mod({ state: 'ALONE', peers: [{ node: 'n2', reachable: false, lans_up: [], state: null, status: null }] });
  expect(ownNodeIsolated(fromState(cluster(alone)), ['n1', 'n2'])).toBe(true);
  expect(ownNodeIsolated(fromState(cluster(alone, true)), ['n1', 'n2'])).toBe(false);
  expect(ownNodeIsolated(fromState(cluster(alone)), ['n1'])).toBe(false);
});

test('the 256-bucket layout', () => {
  const b = bucketOwners({ n1: 128, n2: 120 }, ['n1', 'n2']);
  expect(b).toHaveLength(256);
  expect(b.filter((x) => x === 'n1')).toHaveLength(128);
  expect(b.filter((x) => x === null)).toHaveLength(8);
});

test('switches are shown with an icon and in words; checkers only when the node reported them', () => {
  expect(switchFlags(mod())).toEqual([
    { key: 'failover', on: true, icon: '●', text: 'failover on' },
    { key: 'boot', on: false, icon: '○', text: 'boot off' },
  ]);
  expect(switchFlags(mod({ checkers: false, boot: true })).map((f) => `${f.icon} ${f.text}`)).toEqual(['● failover on', '○ checkers off', '● boot on']);
});
