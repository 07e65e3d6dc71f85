// The userconfig.xml schema, as data. Element names follow SafeKit's userconfig.xml; where
// hakit differs (simpler farm rules, capture modes, rise/fall counts) the doc text says so.
// docs/userconfig.md is generated from this table (core/config/docgen.ts).
import type { AttrSpec, ElementSpec, Schema } from './schema';

const MS_MAX = 24 * 3600 * 1000;
const dur = (bareUnit: 'ms' | 's' | 'h', min_ms: number, max_ms = MS_MAX) => ({ kind: 'duration', bareUnit, min_ms, max_ms }) as const;
const when = { name: 'when', type: { kind: 'enum', values: ['prim', 'second', 'both', 'pre'] }, default: 'prim', doc: 'On which node role the checker runs: `prim` (PRIM/ALONE or UP in a farm), `second`, `both`, or `pre` (from prestart on).' } as const;
const ident = { name: 'ident', type: { kind: 'name' }, required: true, doc: 'Name of the checker, unique in the module; `<failover>` rules and logs use it.' } as const;
const action = (dflt: string) => ({ name: 'action', type: { kind: 'enum', values: ['wait', 'restart', 'stopstart', 'stop'] }, default: dflt, doc: 'What the module does when the checker fails: `wait` (stop the application and wait for the checker to succeed again), `restart` (restart the application locally), `stopstart` (restart the module, letting the other node take over), `stop` (stop the module).' }) as const;
const interval = { name: 'interval', type: dur('s', 100), default: '10s', doc: 'Time between two checks.' } as const;
const timeout = { name: 'timeout', type: dur('s', 100), default: '5s', doc: 'Time after which one check counts as failed.' } as const;
const rise = { name: 'rise', type: { kind: 'int', min: 1, max: 100 }, default: '1', doc: 'Consecutive successes needed before the target counts as up (hakit addition, as in keepalived/HAProxy).' } as const;
const fall = { name: 'fall', type: { kind: 'int', min: 1, max: 100 }, default: '3', doc: 'Consecutive failures needed before the target counts as down (hakit addition).' } as const;
const probe: readonly AttrSpec[] = [interval, timeout, rise, fall];

const elements: Record<string, ElementSpec> = {
  safe: {
    name: 'safe',
    doc: 'Root element of userconfig.xml.',
    attrs: [],
    children: [
      { spec: 'macro', min: 0, max: 256 },
      { spec: 'service', min: 1, max: 1 },
    ],
  },
  macro: {
    name: 'macro',
    doc: 'Defines `%NAME%`, expanded in every attribute value of the file before anything else is checked (a macro value may not use other macros).',
    attrs: [
      { name: 'name', type: { kind: 'name' }, required: true, doc: 'Macro name; used as `%name%`.' },
      { name: 'value', type: { kind: 'string' }, required: true, doc: 'Replacement text.' },
    ],
    children: [],
  },
  service: {
    name: 'service',
    doc: 'The module: its kind and its restart policy. All other elements live inside it.',
    attrs: [
      { name: 'mode', type: { kind: 'enum', values: ['mirror', 'farm', 'light'] }, required: true, doc: '`mirror`: one PRIM, one SECOND, replicated directories; `farm`: the application runs on every node behind one load-balanced VIP; `light`: the light module of SafeKit: one node, checkers and local restarts, no failover and no replication (a failover between 2 nodes without replication is a `mirror` with no `<rfs>`).' },
      { name: 'boot', type: { kind: 'enum', values: ['on', 'off', 'auto'] }, default: 'off', doc: 'Start the module when the node boots: `on`, `off`, or `auto` (start if it was running when the node stopped).' },
      { name: 'defaultprim', type: { kind: 'string', maxChars: 64 }, default: 'alone', doc: 'Mirror: node that should be PRIM when both are up (swap back after re-integration); `alone` means no preference (the node that was PRIM stays PRIM).' },
      { name: 'failover', type: { kind: 'bool' }, default: 'on', doc: 'Mirror: `off` means the survivor does not take over automatically on failure (it waits for an operator).' },
      { name: 'maxloop', type: { kind: 'int', min: 0, max: 1000 }, default: '3', doc: 'Maximum number of restarts (restart or stopstart) within `loop_interval`; one more stops the module.' },
      { name: 'loop_interval', type: dur('h', 1000), default: '24h', doc: 'Window over which `maxloop` restarts are counted (bare number: hours, as in SafeKit).' },
      { name: 'nodes', type: { kind: 'names' }, doc: 'hakit addition: the cluster.xml nodes the module runs on (a mirror needs exactly 2). Default: every node of cluster.xml (for a farm: the nodes listed in `<farm>` if any).' },
    ],
    children: [
      { spec: 'heart', min: 0, max: 1 },
      { spec: 'farm', min: 0, max: 1 },
      { spec: 'vip', min: 0, max: 1 },
      { spec: 'rfs', min: 0, max: 1 },
      { spec: 'user', min: 0, max: 1 },
      { spec: 'errd', min: 0, max: 1 },
      { spec: 'check', min: 0, max: 1 },
      { spec: 'failover', min: 0, max: 1 },
    ],
  },
  heart: {
    name: 'heart',
    modes: ['mirror', 'farm'],
    doc: 'Heartbeats of the module: its profile and the LANs they use. Required for mirror (between its two nodes); optional for a farm, where it chooses the profile (e.g. `fast`) of the farm heartbeats and their LANs (`<farm>` still gives the nodes and their power). Without it a farm uses the `default` profile on every cluster LAN.',
    attrs: [
      { name: 'profile', type: { kind: 'enum', values: ['default', 'fast', 'wan'] }, default: 'default', doc: '`default`: pulse 500 ms, timeout 2.5 s (a lost peer is detected within 3 s); `fast`: pulse 150 ms, timeout 800 ms (detected within 1 s; for dedicated LANs); `wan`: pulse 1 s, timeout 5 s (between sites, docs/geo.md; a module whose nodes are on two cluster.xml `<site>`s gets at least these timeouts).' },
      { name: 'pulse', type: dur('ms', 20, 60_000), doc: 'Overrides the profile\'s time between two heartbeats.' },
      { name: 'timeout', type: dur('ms', 100, 600_000), doc: 'Overrides the profile\'s silence on every LAN after which the peer counts as down; must be at least 3 pulses.' },
    ],
    children: [{ spec: 'heartbeat', min: 1, max: 16 }],
  },
  heartbeat: {
    name: 'heartbeat',
    doc: 'One heartbeat channel, on the cluster.xml LAN of the same name.',
    attrs: [
      { name: 'name', type: { kind: 'name' }, required: true, doc: 'LAN name from cluster.xml.' },
      { name: 'ident', type: { kind: 'enum', values: ['flow', 'none'] }, default: 'none', doc: '`flow` marks the LAN that carries replication (at most one). Without one, the cluster.xml replication LAN is used.' },
    ],
    children: [],
  },
  farm: {
    name: 'farm',
    modes: ['farm'],
    doc: 'Farm topology: the LANs the farm heartbeats on and, per node, its power (share of the load).',
    attrs: [],
    children: [{ spec: 'farm_lan', min: 1, max: 16 }],
  },
  farm_lan: {
    name: 'lan',
    doc: 'A LAN of cluster.xml the farm heartbeats on.',
    attrs: [{ name: 'name', type: { kind: 'name' }, required: true, doc: 'LAN name from cluster.xml.' }],
    children: [{ spec: 'farm_node', min: 0, max: 64 }],
  },
  farm_node: {
    name: 'node',
    doc: 'A farm node and its weight. When nodes are listed here, they are the farm\'s members.',
    attrs: [
      { name: 'name', type: { kind: 'name' }, required: true, doc: 'Node name from cluster.xml.' },
      { name: 'power', type: { kind: 'int', min: 0, max: 100 }, default: '1', doc: 'Relative share of the 256 buckets (0: member that takes no load).' },
    ],
    children: [],
  },
  vip: {
    name: 'vip',
    doc: 'Virtual IP addresses: on PRIM for a mirror, on every UP node (load-balanced) for a farm.',
    attrs: [],
    children: [
      { spec: 'interface_list', min: 1, max: 1 },
      { spec: 'loadbalancing_list', min: 0, max: 1 },
      { spec: 'vip_rule', min: 0, max: 64 },
    ],
  },
  interface_list: {
    name: 'interface_list',
    doc: 'The network interfaces that carry virtual addresses.',
    attrs: [],
    children: [{ spec: 'interface', min: 1, max: 16 }],
  },
  interface: {
    name: 'interface',
    doc: 'One interface. Without `name`, the interface is the one whose subnet holds the virtual addresses.',
    attrs: [
      { name: 'name', type: { kind: 'string', maxChars: 15 }, doc: 'hakit addition: device name (e.g. `eth0`); default: found from the address\'s subnet at start.' },
      { name: 'check', type: { kind: 'bool' }, default: 'on', doc: 'Watch the interface\'s link; when it goes down the module does what the `<failover>` rules say (default: stopstart).' },
      { name: 'arpreroute', type: { kind: 'bool' }, default: 'on', doc: 'Send gratuitous ARP (and IPv6 unsolicited NA) when the VIP is set, so clients and switches learn the new owner.' },
    ],
    children: [
      { spec: 'real_interface', min: 0, max: 1 },
      { spec: 'virtual_interface', min: 0, max: 1 },
    ],
  },
  real_interface: {
    name: 'real_interface',
    modes: ['mirror', 'light'],
    doc: 'Mirror VIPs, set as aliases of the real interface on PRIM only.',
    attrs: [],
    children: [{ spec: 'real_virtual_addr', min: 1, max: 16 }],
  },
  real_virtual_addr: {
    name: 'virtual_addr',
    doc: 'A mirror virtual address.',
    attrs: [
      { name: 'addr', type: { kind: 'ip' }, required: true, doc: 'The virtual IPv4 address (an IPv6 one is refused: `HAKIT_E_CONF_VIP_IPV6`, not supported yet).' },
      { name: 'prefixlen', type: { kind: 'int', min: 1, max: 128 }, doc: 'hakit addition: prefix length; default: the one of the interface\'s subnet.' },
      { name: 'where', type: { kind: 'enum', values: ['one_side_alias', 'alias'] }, default: 'one_side_alias', doc: '`one_side_alias`: only on PRIM (mirror); `alias`: on every node (only meaningful in a farm).' },
      { name: 'check', type: { kind: 'bool' }, default: 'on', doc: 'Check every `interval` that the address is still set; re-add it if removed by someone else.' },
    ],
    children: [],
  },
  virtual_interface: {
    name: 'virtual_interface',
    modes: ['farm'],
    doc: 'Farm VIPs, set on every node; an nftables ingress filter lets each node accept only the clients it owns.',
    attrs: [
      { name: 'type', type: { kind: 'enum', values: ['vmac_directed', 'vmac_invisible'] }, default: 'vmac_directed', doc: '`vmac_directed`: ARP replies for the VIP carry a virtual multicast MAC so the LAN floods VIP traffic to every node; `vmac_invisible`: the same, but the real MAC never appears (for switches that learn it).' },
      { name: 'vmac', type: { kind: 'mac' }, doc: 'The virtual MAC; default: 01:00:5e plus the low 23 bits of the first VIP (a multicast MAC).' },
    ],
    children: [{ spec: 'farm_virtual_addr', min: 1, max: 16 }],
  },
  farm_virtual_addr: {
    name: 'virtual_addr',
    doc: 'A farm virtual address.',
    attrs: [
      { name: 'addr', type: { kind: 'ipv4' }, required: true, doc: 'The virtual IPv4 address (farm filtering is IPv4 only).' },
      { name: 'prefixlen', type: { kind: 'int', min: 1, max: 32 }, doc: 'Prefix length; default: the one of the interface\'s subnet.' },
      { name: 'where', type: { kind: 'enum', values: ['alias'] }, default: 'alias', doc: 'Always `alias` (on every node) in a farm.' },
      { name: 'check', type: { kind: 'bool' }, default: 'on', doc: 'Check that the address is still set.' },
    ],
    children: [],
  },
  loadbalancing_list: {
    name: 'loadbalancing_list',
    modes: ['farm'],
    doc: 'SafeKit\'s form of farm rules: groups of VIPs with their rules. hakit also accepts `<rule>` directly in `<vip>` (applies to every VIP).',
    attrs: [],
    children: [{ spec: 'group', min: 1, max: 64 }],
  },
  group: {
    name: 'group',
    doc: 'A set of VIPs sharing load-balancing rules.',
    attrs: [{ name: 'name', type: { kind: 'name' }, required: true, doc: 'Group name (for logs).' }],
    children: [
      { spec: 'lb_cluster', min: 1, max: 1 },
      { spec: 'group_rule', min: 1, max: 64 },
    ],
  },
  lb_cluster: {
    name: 'cluster',
    doc: 'The VIPs of the group.',
    attrs: [],
    children: [{ spec: 'host', min: 1, max: 16 }],
  },
  host: {
    name: 'host',
    doc: 'One VIP of the group; must be a `<virtual_addr>` of this module.',
    attrs: [{ name: 'name', type: { kind: 'ipv4' }, required: true, doc: 'The VIP.' }],
    children: [],
  },
  ...ruleSpecs(),
  rfs: {
    name: 'rfs',
    modes: ['mirror'],
    doc: 'Replicated file systems (mirror only): the directories PRIM replicates to SECOND.',
    attrs: [
      { name: 'async', type: { kind: 'enum', values: ['none', 'second'] }, default: 'none', doc: '`none`: a sync call (fsync, fdatasync, msync, a write on an O_SYNC/O_DSYNC descriptor) returns when SECOND holds every write it covers (a write() returns once done locally and queued to SECOND); `second`: SECOND acknowledges on receipt, before its own disk has the data — faster, may lose the last synced writes on a double failure (a SECOND whose hakitd or node went down without a clean stop takes its copy for incomplete, so it cannot take over by itself until PRIM compared it in full).' },
      { name: 'mode', type: { kind: 'enum', values: ['sync', 'watch'] }, default: 'sync', doc: 'hakit addition: capture. `sync`: FUSE passthrough over the directory, every write queued to SECOND, every sync call waits for it (needs /dev/fuse); `watch`: file watcher plus block hashes, asynchronous, recovery point not zero.' },
      { name: 'bandwidth', type: { kind: 'size', min_bytes: 0, max_bytes: 100 * 1024 ** 3 }, default: '0', doc: 'Cap of re-integration traffic in bytes per second (`0`: no cap). Live writes are never capped.' },
      { name: 'blocksize', type: { kind: 'size', min_bytes: 4096, max_bytes: 16 * 1024 ** 2 }, default: '64K', doc: 'Block size of a re-integration\'s comparison: PRIM and SECOND hash each file by blocks of this size and a block that differs is shipped whole (smaller: less shipped for scattered changes, more hashes computed and sent). Live writes and the journal of changes keep exact byte ranges whatever this says.' },
      { name: 'encrypt', type: { kind: 'bool' }, default: 'off', doc: 'hakit addition: `off`: replication frames are authenticated, not encrypted (AES-GMAC over header and payload under a per-session key: forged, replayed, dropped or reordered frames are refused, but the file data can be read on the replication LAN), as DRBD does. `on`: the payload is also encrypted with AES-256-GCM. Encrypting adds 0.4–0.8 ms per MiB written (encryption on PRIM plus decryption on SECOND, both on the path of every synchronous write): frames are sealed and opened 2.1–2.7× faster with `off` (measured on a 2-core VM: `npm run bench -- frames`). Use `on` when the replication LAN is not private. Both nodes must have the same setting (else `HAKIT_E_MIRROR_PROTECTION`).' },
      { name: 'writeback', type: { kind: 'bool' }, default: 'off', doc: 'hakit addition (`mode="sync"`): `on`: the kernel keeps writes in the page cache of the mount, as on a local disk and under DRBD: a write() through a cached descriptor returns without reaching hakit, and its pages are queued to SECOND when the kernel writes them back — at the latest at the file\'s next fsync, fdatasync, msync or close, at unmount, or after the kernel\'s dirty expiry (`vm.dirty_expire_centisecs`, 30 s by default). Sync calls are protected exactly as with `off`; a write that was never synced may be lost with PRIM for up to that expiry instead of a few milliseconds. Faster for many small writes never synced one by one (PostgreSQL\'s bulk load: 2-3x faster), slower for many small synced transactions (one more request per fsync of a written file: pgbench TPS 10-35% lower, measured). `off`: every write() is queued to SECOND before it returns.' },
      { name: 'sync_secondary', type: { kind: 'bool' }, default: 'off', doc: 'With `async="none"`: `on`: before it acknowledges a sync call (fsync, fdatasync, O_SYNC/O_DSYNC write, msync), SECOND makes what it covers durable on its own disk (fdatasync of the file, fsync of the directories changed since the last one), so no acknowledged write is lost even if both nodes lose power at once; one more disk flush per sync call. `off`: SECOND acknowledges once every earlier write is written there (its page cache): a failover keeps every acknowledged write, a SECOND that rebooted compares its copy in full before it is in sync again, and after a power loss of both nodes at once the acknowledged writes are on the former PRIM\'s disk, which the module rules make serve first (docs/mirror.md "Durability contract").' },
      { name: 'acktimeout', type: dur('s', 1000, 600_000), default: '5s', doc: 'PRIM gives its replication session up when SECOND acknowledges nothing for this long while writes are in flight, or sends nothing for this long (PRIM pings every quarter of it, and SECOND gives a connection silent for this long, at least 5 s, up too). PRIM then tries to resume the session for up to 1 s before it goes ALONE; meanwhile sync calls wait. Shorter: a cut replication LAN stalls the application\'s sync calls for less time; longer: a SECOND slow to answer (a busy disk with `sync_secondary="on"`) is less often left behind and re-integrated. A SECOND declared lost by the heartbeats is given up at once, whatever this says.' },
      { name: 'nbrei', type: { kind: 'int', min: 1, max: 16 }, default: '3', doc: 'Accepted for SafeKit compatibility; no effect. hakit does not re-integrate files in parallel threads: a comparison keeps 64 signature requests in flight on the replication link.' },
      { name: 'reitimeout', type: dur('s', 1000), default: '1h', doc: 'Accepted for SafeKit compatibility; no effect. A re-integration that stops making progress is ended by `acktimeout` (no acknowledgement with requests in flight) and starts again on the next connection.' },
    ],
    children: [{ spec: 'replicated', min: 1, max: 64 }],
  },
  replicated: {
    name: 'replicated',
    doc: 'One replicated directory tree.',
    attrs: [
      { name: 'dir', type: { kind: 'abspath' }, required: true, doc: 'Absolute path; not nested in another replicated dir, not used by another installed module.' },
      { name: 'mode', type: { kind: 'enum', values: ['sync', 'watch'] }, doc: 'Capture mode for this directory; default: `<rfs mode>`. (SafeKit uses `mode="read_only"` for SECOND access; hakit never lets SECOND\'s copy be written.)' },
    ],
    children: [{ spec: 'notreplicated', min: 0, max: 256 }],
  },
  notreplicated: {
    name: 'notreplicated',
    doc: 'Files not replicated (neither shipped nor compared). Give `path` or `regexpath`.',
    attrs: [
      { name: 'path', type: { kind: 'relpath' }, doc: 'Path relative to the replicated dir (a file or a whole subtree).' },
      { name: 'regexpath', type: { kind: 'regex' }, doc: 'JavaScript regular expression matched against the path relative to the dir. A leading `!` inverts it: only matching files are replicated.' },
    ],
    children: [],
  },
  user: {
    name: 'user',
    doc: 'The module scripts (bin/start_prim, stop_prim, start_both, …) and their environment.',
    attrs: [
      { name: 'starttimeout', type: dur('s', 1000), default: '300s', doc: 'hakit addition: a start script running longer is killed and counts as failed.' },
      { name: 'nicestoptimeout', type: dur('s', 1000), default: '300s', doc: 'Timeout of stop scripts.' },
      { name: 'forcestoptimeout', type: dur('s', 1000), default: '300s', doc: 'Timeout of stop scripts called with the argument `force` after a nice stop failed.' },
      { name: 'logging', type: { kind: 'enum', values: ['userlog', 'none'] }, default: 'userlog', doc: '`userlog`: stdout and stderr of scripts go to the module\'s user log.' },
    ],
    children: [{ spec: 'var', min: 0, max: 256 }],
  },
  var: {
    name: 'var',
    doc: 'An environment variable given to every script of the module.',
    attrs: [
      { name: 'name', type: { kind: 'name' }, required: true, doc: 'Variable name (must not start with HAKIT_, which hakit sets itself).' },
      { name: 'value', type: { kind: 'string' }, required: true, doc: 'Its value.' },
    ],
    children: [],
  },
  errd: {
    name: 'errd',
    doc: 'Process monitoring.',
    attrs: [{ name: 'polltimer', type: dur('s', 500), default: '10s', doc: 'Time between two scans of the process table.' }],
    children: [{ spec: 'proc', min: 1, max: 64 }],
  },
  proc: {
    name: 'proc',
    doc: 'A process that must stay within [atleast, atmost] instances.',
    attrs: [
      { name: 'name', type: { kind: 'string', maxChars: 255 }, required: true, doc: 'Process name (as in /proc/PID/comm, or the command\'s basename).' },
      { name: 'argregex', type: { kind: 'regex' }, doc: 'Regular expression the full command line must match.' },
      { name: 'atleast', type: { kind: 'int', min: 0, max: 10000 }, default: '1', doc: 'Minimum number of instances.' },
      { name: 'atmost', type: { kind: 'int', min: -1, max: 10000 }, default: '-1', doc: 'Maximum number of instances (-1: no maximum).' },
      { name: 'action', type: { kind: 'enum', values: ['restart', 'stopstart', 'stop', 'none'] }, default: 'restart', doc: 'What to do when the count is out of bounds.' },
      { name: 'class', type: { kind: 'enum', values: ['prim', 'second', 'both', 'pre'] }, default: 'prim', doc: 'Role in which the process is expected (`both`: farm UP, or PRIM and SECOND).' },
    ],
    children: [],
  },
  check: {
    name: 'check',
    doc: 'Checkers of the module. Each has an `ident` unique in the module.',
    attrs: [],
    children: [
      { spec: 'tcp', min: 0, max: 64 },
      { spec: 'ping', min: 0, max: 64 },
      { spec: 'intf', min: 0, max: 64 },
      { spec: 'ip', min: 0, max: 64 },
      { spec: 'custom', min: 0, max: 64 },
      { spec: 'module', min: 0, max: 64 },
      { spec: 'splitbrain', min: 0, max: 1 },
    ],
  },
  tcp: { name: 'tcp', doc: 'TCP checker: connects to each target.', attrs: [ident, when, action('restart')], children: [{ spec: 'tcp_to', min: 1, max: 16 }] },
  tcp_to: {
    name: 'to',
    doc: 'A TCP target.',
    attrs: [
      { name: 'addr', type: { kind: 'ip' }, required: true, doc: 'Address to connect to.' },
      { name: 'port', type: { kind: 'port' }, required: true, doc: 'Port to connect to.' },
      ...probe,
    ],
    children: [],
  },
  ping: { name: 'ping', doc: 'Ping checker (ICMP echo).', attrs: [ident, when, action('wait')], children: [{ spec: 'ping_to', min: 1, max: 16 }] },
  ping_to: { name: 'to', doc: 'A ping target.', attrs: [{ name: 'addr', type: { kind: 'ip' }, required: true, doc: 'Address to ping.' }, ...probe], children: [] },
  intf: { name: 'intf', doc: 'Interface checker: link state of a network interface.', attrs: [ident, when, action('wait')], children: [{ spec: 'intf_to', min: 1, max: 16 }] },
  intf_to: { name: 'to', doc: 'An interface to watch.', attrs: [{ name: 'name', type: { kind: 'string', maxChars: 15 }, required: true, doc: 'Device name.' }, interval, rise, fall], children: [] },
  ip: { name: 'ip', doc: 'IP checker: the address must be set on this node.', attrs: [ident, when, action('wait')], children: [{ spec: 'ip_to', min: 1, max: 16 }] },
  ip_to: { name: 'to', doc: 'An address that must be present.', attrs: [{ name: 'addr', type: { kind: 'ip' }, required: true, doc: 'The address.' }, interval, rise, fall], children: [] },
  custom: {
    name: 'custom',
    doc: 'Custom checker: a long-running program of bin/ that reports by exit or by `hakit set`.',
    attrs: [
      ident,
      when,
      action('wait'),
      { name: 'exec', type: { kind: 'relpath' }, required: true, doc: 'Program in the module\'s bin/ directory (must exist and be executable).' },
      { name: 'arg', type: { kind: 'string' }, default: '', doc: 'Arguments, split on spaces.' },
      interval,
      timeout,
      rise,
      fall,
    ],
    children: [],
  },
  module: {
    name: 'module',
    doc: 'Module checker: this module waits while another module is not in a stable serving state.',
    attrs: [
      { name: 'name', type: { kind: 'name' }, required: true, doc: 'The other module\'s name (it need not be installed yet).' },
      { name: 'ident', type: { kind: 'name' }, doc: 'Checker name; default: `module_NAME`.' },
      interval,
    ],
    children: [{ spec: 'module_to', min: 0, max: 1 }],
  },
  module_to: {
    name: 'to',
    doc: 'Where the other module runs; default: this node.',
    attrs: [
      { name: 'addr', type: { kind: 'ip' }, required: true, doc: 'Address of the node running the other module.' },
      { name: 'port', type: { kind: 'port' }, default: '9010', doc: 'hakitd API port on that node.' },
    ],
    children: [],
  },
  splitbrain: {
    name: 'splitbrain',
    modes: ['mirror'],
    doc: 'Split-brain witness: when the heartbeats are cut, only a node that reaches the witness may serve.',
    attrs: [
      { name: 'ident', type: { kind: 'name' }, default: 'witness', doc: 'Checker name.' },
      { name: 'exec', type: { kind: 'enum', values: ['ping', 'tcp'] }, default: 'ping', doc: 'How the witness is probed.' },
      { name: 'arg', type: { kind: 'witness' }, required: true, doc: 'Witness address; for `tcp` also a port (`ADDR:PORT`).' },
      interval,
      timeout,
    ],
    children: [],
  },
  failover: {
    name: 'failover',
    doc: 'hakit\'s simplified failover rules (SafeKit uses a rule language here): each rule overrides the action of the checkers it names.',
    attrs: [
      { name: 'handle_time', type: dur('s', 0, 600_000), default: '0', doc: 'Time a failure must last before the rule acts.' },
      { name: 'mode', type: { kind: 'enum', values: ['auto', 'manual'] }, default: 'auto', doc: 'hakit addition for geo clusters (docs/geo.md). Mirror: `auto` lets the survivor take over when its peer is lost; `manual` makes it wait in WAIT (Approval) until `hakit failover approve -m M` (or `timer`): a cut between two sites looks like a dead site. `hakit failover deny -m M` keeps it waiting and cancels the timer.' },
      { name: 'timer', type: dur('s', 1000, MS_MAX), doc: 'With `mode="manual"`: the survivor takes over by itself after waiting this long (bare number: seconds). Default: no timer, it waits for an operator.' },
    ],
    children: [{ spec: 'failover_rule', min: 0, max: 64 }],
  },
  failover_rule: {
    name: 'rule',
    doc: 'When the named checker (or `interface_failure` for any `<interface check="on">`) fails, do `action`.',
    attrs: [
      { name: 'name', type: { kind: 'name' }, required: true, doc: 'Rule name (for logs).' },
      { name: 'when', type: { kind: 'name' }, required: true, doc: 'A checker `ident` of this module, or `interface_failure`.' },
      { name: 'action', type: { kind: 'enum', values: ['wait', 'restart', 'stopstart', 'stop'] }, required: true, doc: 'What to do.' },
    ],
    children: [],
  },
};

function ruleSpecs(): Record<string, ElementSpec> {
  const attrs: readonly AttrSpec[] = [
    { name: 'proto', type: { kind: 'enum', values: ['tcp', 'udp'] }, default: 'tcp', doc: 'Protocol the rule applies to.' },
    { name: 'port', type: { kind: 'portrange' }, required: true, doc: 'Destination port or range (`80`, `8000-8010`).' },
    { name: 'filter', type: { kind: 'enum', values: ['on_addr', 'on_port'] }, default: 'on_addr', doc: '`on_addr`: a client address always goes to the same node (sticky, for stateful protocols); `on_port`: client address and source port are hashed (finer spread, for stateless protocols).' },
  ];
  return {
    vip_rule: { name: 'rule', modes: ['farm'], doc: 'hakit\'s short form of a farm rule: applies to every VIP of the module.', attrs, children: [] },
    group_rule: { name: 'rule', doc: 'A load-balancing rule for the group\'s VIPs.', attrs, children: [] },
  };
}

export const USERCONFIG_SCHEMA: Schema = { file: 'userconfig.xml', root: 'safe', elements };
