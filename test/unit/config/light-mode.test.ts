// `light` is the light module of SafeKit: one node, checkers and local restarts, no failover.
// A two-node failover without replication is a mirror module with no <rfs>.
import { issuesOf, okConfig } from './fixtures';

test('a light module names one node; no heartbeat is needed', () => {
  const c = okConfig('<safe><service mode="light" nodes="node1"><check><tcp ident="app" when="both" action="restart"><to addr="127.0.0.1" port="80"/></tcp></check></service></safe>');
  expect(c.service).toMatchObject({ mode: 'light', nodes: ['node1'] });
  expect(c.heart).toBeNull();
});

test('a light module on two nodes is refused, pointing at a mirror without <rfs>', () => {
  const issues = issuesOf('<safe><service mode="light" nodes="node1 node2"/></safe>');
  expect(issues.map((i) => i.code)).toContain('HAKIT_E_CONF_LIGHT_NODES');
  expect(issues.find((i) => i.code === 'HAKIT_E_CONF_LIGHT_NODES')?.message).toMatch(/mode="mirror" with no <rfs>/);
});

test('heartbeats and a split-brain witness belong to mirror and farm modules, not to a light one', () => {
  const withHeart = issuesOf('<safe><service mode="light" nodes="node1"><heart><heartbeat name="default"/></heart></service></safe>');
  expect(withHeart.length).toBeGreaterThan(0);
  expect(withHeart[0]?.where).toMatch(/userconfig\.xml:1/);
});

test('a mirror module without <rfs> is the two-node failover without replication', () => {
  const c = okConfig('<safe><service mode="mirror" nodes="node1 node2"><heart><heartbeat name="default"/></heart></service></safe>');
  expect(c.rfs).toBeNull();
  expect(c.service.nodes).toEqual(['node1', 'node2']);
});
