// `hakit state -v` shows a peer with no heartbeat wire version in common as such
// (core/daemon/pure/peer-wire.ts marks it, core/cli/commands/control.ts prints it).
import { formatPeer } from '../../../core/cli/commands/control';
import type { ModuleStatus } from '../../../core/control/api';
import { withPeerWire } from '../../../core/daemon/pure/peer-wire';

const status: ModuleStatus = {
  module: 'm',
  mode: 'mirror',
  state: 'ALONE',
  status: 'Ready',
  epoch: 1,
  copyComplete: true,
  failover: true,
  boot: false,
  peers: [
    { node: 'node2', reachable: false, lansUp: [], state: null, status: null, silent_ms: null },
    { node: 'node3', reachable: true, lansUp: [0], state: 'SECOND', status: 'Ready', silent_ms: 10 },
  ],
  last_error: null,
};

describe('peers with no wire version in common', () => {
  const wire = { own: { min: 3, max: 3 }, peers: { node2: { range: { min: 1, max: 2 }, version: null }, node3: { range: { min: 2, max: 3 }, version: 3 } } };

  it('are marked with both ranges; others are left as they are', () => {
    const out = withPeerWire(status, wire);
    expect(out.peers[0]).toMatchObject({ node: 'node2', wire_incompatible: { peer_versions: '1..2', own_versions: '3' } });
    expect(out.peers[1]).toBe(status.peers[1]);
    expect(withPeerWire(status, undefined)).toBe(status);
  });

  it('are printed with the code and both ranges by state -v', () => {
    const line = formatPeer(withPeerWire(status, wire).peers[0]!);
    expect(line).toContain('node2');
    expect(line).toContain('unreachable, not heard since hakitd started; HAKIT_E_WIRE_INCOMPATIBLE: it speaks heartbeat wire version 1..2, this node 3');
  });
});
