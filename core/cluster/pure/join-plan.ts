// What a join changes (pure): the cluster model with the joining node added on every LAN, at
// its address in the subnet the serving node uses on that LAN; or the coded reason why not.
// Nothing is written anywhere unless this returns a model.
import { HakitError } from '../../errors/catalogue';
import { sameSubnet } from '../../net/pure/subnet';
import type { ClusterXmlModel } from './cluster-xml';

export interface JoinRequest {
  /** Name the joining node will have in cluster.xml. */
  readonly node: string;
  /** Every IPv4 address of the joining node. */
  readonly addresses: readonly string[];
  /** The cluster the joining node already belongs to, or null. */
  readonly current_cluster: string | null;
}

/** The serving node's own address and prefix on each LAN (from its interfaces). */
export interface ServingLan {
  readonly lan: string;
  readonly address: string;
  readonly prefix_len: number;
}

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function planJoin(model: ClusterXmlModel, req: JoinRequest, serving: readonly ServingLan[], port: number): ClusterXmlModel {
  if (!NODE_NAME.test(req.node)) throw new HakitError('HAKIT_E_USAGE', `"${req.node}" is not a valid node name (letters, digits, _ . -; at most 64)`, 'join request');
  if (req.current_cluster !== null && req.current_cluster !== model.name) {
    throw new HakitError('HAKIT_E_JOIN_OTHER_CLUSTER', `the joining node belongs to cluster "${req.current_cluster}", this is "${model.name}"; remove its /etc/hakit/cluster.xml first`, `node ${req.node}`);
  }
  const taken = model.lans.some((l) => l.nodes.some((n) => n.name === req.node));
  if (taken) throw new HakitError('HAKIT_E_JOIN_NAME_TAKEN', `cluster "${model.name}" already has a node named ${req.node}; join with --node OTHER_NAME`, `node ${req.node}`);
  const lans = model.lans.map((l) => {
    const s = serving.find((x) => x.lan === l.name);
    const addr = s === undefined ? undefined : req.addresses.find((a) => a !== s.address && sameSubnet(a, s.address, s.prefix_len));
    if (s === undefined || addr === undefined) {
      const where = s === undefined ? 'this node has no address on it' : `no address of ${req.node} is in ${s.address}/${s.prefix_len}`;
      throw new HakitError('HAKIT_E_JOIN_NO_LAN_ADDRESS', `LAN ${l.name}: ${where}`, `node ${req.node}`);
    }
    const clash = l.nodes.find((n) => n.addr === addr);
    if (clash) throw new HakitError('HAKIT_E_JOIN_NAME_TAKEN', `address ${addr} on LAN ${l.name} is node ${clash.name}'s`, `node ${req.node}`);
    return { ...l, nodes: [...l.nodes, { name: req.node, addr, port }] };
  });
  return { ...model, lans };
}
