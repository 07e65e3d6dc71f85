// The cluster.xml schema, as data (docs/cluster.md is generated from it).
import type { Schema } from './schema';

export const CLUSTER_SCHEMA: Schema = {
  file: 'cluster.xml',
  root: 'cluster',
  elements: {
    cluster: {
      name: 'cluster',
      doc: 'Root element: the nodes of the cluster and the LANs that join them. The same file is installed on every node.',
      attrs: [
        { name: 'name', type: { kind: 'name' }, required: true, doc: 'Cluster name; heartbeats of another cluster are ignored.' },
        { name: 'keyfile', type: { kind: 'abspath' }, doc: 'File holding the 32-byte cluster key (HMAC of heartbeats and commands); default: `<config dir>/cluster.key`. Create it with `hakit cluster genkey` and copy it to every node.' },
      ],
      children: [
        { spec: 'lan', min: 1, max: 16 },
        { spec: 'site', min: 0, max: 16 },
        { spec: 'arbitrator', min: 0, max: 7 },
      ],
    },
    site: {
      name: 'site',
      doc: 'hakit addition for geo clusters (docs/geo.md): a group of nodes in one place (a city, a data centre). Heartbeats between nodes of different sites use at least the `wan` profile\'s timeouts (a WAN is slower and lossier than a LAN). A node belongs to at most one site; nodes in no site are timed as their modules say.',
      attrs: [
        { name: 'name', type: { kind: 'name' }, required: true, doc: 'Site name (logs, `hakit state`, the arbitrators\' tickets).' },
        { name: 'nodes', type: { kind: 'names' }, required: true, doc: 'The cluster.xml nodes of this site, separated by spaces.' },
      ],
      children: [],
    },
    arbitrator: {
      name: 'arbitrator',
      doc: 'hakit addition for geo clusters (docs/geo.md): a `hakit-witness` on a third site that grants each mirror module\'s ticket to one site. With several (at least 3 for a majority to survive the loss of one), a site serves a module only with a majority of them. Each arbitrator once: the same address and port twice is `HAKIT_E_ARBITRATOR_DUPLICATE`.',
      attrs: [
        { name: 'addr', type: { kind: 'ip' }, required: true, doc: 'The arbitrator\'s address.' },
        { name: 'port', type: { kind: 'port' }, default: '9010', doc: 'Its UDP port (hakit-witness listens on 9010 by default).' },
      ],
      children: [],
    },
    lan: {
      name: 'lan',
      doc: 'A network joining the nodes. Every node must have an address on every LAN.',
      attrs: [
        { name: 'name', type: { kind: 'name' }, required: true, doc: 'LAN name; userconfig.xml `<heartbeat name>` and `<farm><lan name>` refer to it.' },
        { name: 'command', type: { kind: 'bool' }, default: 'on', doc: 'Carries commands between nodes (CLI, console, module checkers). At least one LAN must.' },
        { name: 'framework', type: { kind: 'bool' }, default: 'on', doc: 'Carries the daemons\' membership heartbeats (node up/down, independent of modules).' },
        { name: 'replication', type: { kind: 'bool' }, default: 'off', doc: 'Default LAN for mirror replication (when a module has no `<heartbeat ident="flow">`); at most one. Without any, the first command LAN is used.' },
      ],
      children: [{ spec: 'node', min: 1, max: 64 }],
    },
    node: {
      name: 'node',
      doc: 'A node\'s address on the LAN.',
      attrs: [
        { name: 'name', type: { kind: 'name' }, required: true, doc: 'Node name (by default the host name, as `hostname -s` prints it).' },
        { name: 'addr', type: { kind: 'ip' }, required: true, doc: 'The node\'s IPv4 or IPv6 address on this LAN.' },
        { name: 'port', type: { kind: 'port' }, default: '9010', doc: 'hakitd port on this address (heartbeats UDP, API and replication TCP).' },
      ],
      children: [],
    },
  },
};
