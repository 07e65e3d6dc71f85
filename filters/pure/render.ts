// Renders nft scripts for a farm module. Each script is loaded with one `nft -f`, which the
// kernel applies as one transaction: all of it or nothing.
//
// Packet path on every node (all nodes hold the VIP; the LAN floods VIP frames to all):
//  1. netdev ingress (before conntrack): VIP frames arrive with the multicast virtual MAC, so
//     they are marked as addressed to this host; everything else (ARP, IPv6, other IPs) passes.
//  2. ip prerouting at -150 (after conntrack): a TCP packet of a connection this node already
//     tracks is accepted, whoever owns its bucket now: established connections survive a
//     rebalance. A new TCP connection is accepted only from a SYN whose bucket is in @owned.
//     UDP and ICMP echo always follow @owned, tracked or not (see the prerouting chain below).
//     Dropped packets never confirm a conntrack entry, so non-owners keep no state for flows
//     they do not serve.
//  3. arp output: ARP sent with the VIP as sender carries the virtual MAC instead of ours.
import { HakitError } from '../../core/errors/catalogue';
import { ARP_OUTPUT_PRIORITY, BUCKET_COUNT, NETDEV_INGRESS_PRIORITY, OWNED_SET, PREROUTING_PRIORITY, TABLE_PREFIX } from './limits';
import type { PortInterval, ValidFarmFilter, ValidFarmGroup, ValidFarmRule } from './types';

/** The nft families the module's tables live in, all named hakit_<module>. */
export const FILTER_FAMILIES = ['netdev', 'arp', 'ip'] as const;

/** The bucket whose owner also serves VIP traffic that matches no rule (ICMP, other ports). */
export const DEFAULT_BUCKET = 0;

/** Sorted copy of `owned` after checking every entry is a distinct bucket number. */
export function checkOwnedBuckets(owned: readonly number[], where: string): number[] {
  const sorted = [...owned].sort((a, b) => a - b);
  sorted.forEach((b, i) => {
    if (!Number.isInteger(b) || b < 0 || b >= BUCKET_COUNT) {
      throw new HakitError('HAKIT_E_FILTER_BUCKET', `bucket ${b} is outside 0..${BUCKET_COUNT - 1}`, where);
    }
    if (i > 0 && sorted[i - 1] === b) throw new HakitError('HAKIT_E_FILTER_BUCKET', `bucket ${b} is listed twice`, where);
  });
  return sorted;
}

function portSet(ports: readonly PortInterval[]): string {
  return `{ ${ports.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`)).join(', ')} }`;
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** The hash key: client IP (sticky), or client IP and source port. */
function hashKey(rule: ValidFarmRule): string {
  return rule.balance === 'on_addr' ? 'ip saddr' : `ip saddr . ${rule.proto} sport`;
}

function addressSet(vips: readonly string[]): string {
  return `{ ${vips.join(', ')} }`;
}

function groupLines(filter: ValidFarmFilter, group: ValidFarmGroup): string[] {
  return group.rules.flatMap((rule) => {
    const match = `ip daddr ${addressSet(group.vips)} ${rule.proto} dport ${portSet(rule.ports)}`;
    return [`${match} jhash ${hashKey(rule)} mod ${BUCKET_COUNT} seed ${hex32(filter.hash_seed)} @${OWNED_SET} accept`, `${match} drop`];
  });
}

/** Element list; with a lease, each element carries its timeout (it expires unless renewed). */
function elementList(owned: readonly number[], lease_ms: number | null): string {
  return owned.map((b) => (lease_ms === null ? `${b}` : `${b} timeout ${lease_ms}ms`)).join(', ');
}

function elements(owned: readonly number[], lease_ms: number | null): string {
  return owned.length === 0 ? '' : ` elements = { ${elementList(owned, lease_ms)} };`;
}

/** Add-then-delete removes a table whether or not it exists, inside the same transaction. */
function dropTables(table: string): string[] {
  return FILTER_FAMILIES.flatMap((family) => [`table ${family} ${table}`, `delete table ${family} ${table}`]);
}

/**
 * The whole filter of a module, replacing any leftover tables (from a crashed daemon) in the
 * same transaction, with `owned` as the initial bucket set.
 */
export function renderFilterScript(filter: ValidFarmFilter, owned: readonly number[]): string {
  const buckets = checkOwnedBuckets(owned, `module ${filter.module}`);
  const t = filter.table;
  const lines = [
    `# hakit farm filter of module ${filter.module} (generated)`,
    ...dropTables(t),
    `table netdev ${t} {`,
    `  chain ingress {`,
    `    type filter hook ingress device "${filter.interface}" priority ${NETDEV_INGRESS_PRIORITY}; policy accept;`,
    `    meta protocol != ip accept`,
    `    ip daddr != ${addressSet(filter.vips)} accept`,
    `    meta pkttype set host`,
    `  }`,
    `}`,
    `table arp ${t} {`,
    `  chain output {`,
    `    type filter hook output priority ${ARP_OUTPUT_PRIORITY}; policy accept;`,
    // Requests too: a node that ARPs with the VIP as sender must not teach its own MAC.
    `    arp saddr ip ${addressSet(filter.vips)} arp saddr ether set ${filter.virtual_mac}`,
    `  }`,
    `}`,
    `table ip ${t} {`,
    // typeof numgen: a 32-bit integer like jhash's result (`type mark` does not match jhash,
    // and nft 1.0.6 crashes listing a `typeof jhash` set).
    `  set ${OWNED_SET} { typeof numgen inc mod ${BUCKET_COUNT};${filter.lease_ms === null ? '' : ' flags timeout;'}${elements(buckets, filter.lease_ms)} }`,
    `  chain prerouting {`,
    `    type filter hook prerouting priority ${PREROUTING_PRIORITY}; policy accept;`,
    `    iifname != "${filter.interface}" accept`,
    `    ip daddr != ${addressSet(filter.vips)} accept`,
    // Only TCP keeps a flow on its old owner: a TCP connection has one server socket, and the
    // new owner drops its mid-stream packets (next rule), so exactly one node answers it. UDP
    // and ICMP echo have no such lock: a conntrack entry (ASSURED UDP lives 120 s, refreshed by
    // every packet) would keep the old owner answering a flow the new owner answers too, also
    // after the old node's hakitd died and its buckets expired (fencing by expiry,
    // docs/adr/0005-fencing-by-expiry.md). So those always follow @owned.
    `    meta l4proto tcp ct state established,related accept`,
    // ICMP errors about a flow this node tracks (fragmentation needed, unreachable): conntrack
    // marks only such errors `related`, never an echo request.
    `    meta l4proto icmp ct state related accept`,
    `    meta l4proto tcp tcp flags & (fin|syn|rst|ack) != syn drop`,
    ...filter.groups.flatMap((g) => groupLines(filter, g)).map((l) => `    ${l}`),
    // jhash mod 1 is always 0: "is bucket 0 owned here", for VIP traffic no rule matched.
    `    jhash ip daddr mod 1 seed 0x0 @${OWNED_SET} accept`,
    `    drop`,
    `  }`,
    `}`,
  ];
  return lines.join('\n') + '\n';
}

/**
 * One transaction that makes the owned set exactly `owned` (idempotent desired state). With a
 * lease it is also the renewal: flush and re-add in one transaction give every element a new
 * full timeout, and packets see the old set or the new one, never an empty one in between
 * (nf_tables commits a transaction by flipping its generation).
 */
export function renderOwnedUpdate(filter: ValidFarmFilter, owned: readonly number[]): string {
  const buckets = checkOwnedBuckets(owned, `module ${filter.module}`);
  const lines = [`flush set ip ${filter.table} ${OWNED_SET}`];
  if (buckets.length > 0) lines.push(`add element ip ${filter.table} ${OWNED_SET} { ${elementList(buckets, filter.lease_ms)} }`);
  return lines.join('\n') + '\n';
}

/** Removes the module's tables; succeeds when they are already gone. */
export function renderRemoveScript(module: string): string {
  return dropTables(TABLE_PREFIX + module).join('\n') + '\n';
}

/** argv after `nft` that lists the owned set as JSON. */
export function listOwnedArgs(filter: ValidFarmFilter): string[] {
  return ['-j', 'list', 'set', 'ip', filter.table, OWNED_SET];
}
