// Shell scripts that build a lab's switch and hosts. Pure text: every name in them comes
// from a validated plan, and each script runs as one process so `up` stays fast.
import { hostIfname, hostMac, switchPort } from './plan';
import type { HostPlan, LabPlan } from './types';
import { hostAddr } from './plan';

/** Single-quotes a word for sh. */
export function shq(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function disableIpv6(ifname: string): string {
  // Link-local IPv6 chatter (DAD, router solicitations) would add noise to every capture.
  return `echo 1 > /proc/sys/net/ipv6/conf/${ifname}/disable_ipv6`;
}

/** Runs in the switch namespace: one bridge per LAN, one veth per host and LAN. */
export function switchScript(plan: LabPlan): string {
  const batch: string[] = ['link set lo up'];
  for (const lan of plan.lans) {
    batch.push(`link add ${lan.bridge} type bridge stp_state 0 mcast_snooping 0`);
    batch.push(`link set ${lan.bridge} up`);
  }
  for (const host of plan.hosts) {
    for (const lan of plan.lans) {
      const port = switchPort(host.name, lan.index);
      batch.push(`link add ${port} type veth peer name ${hostIfname(lan.index)} address ${hostMac(plan, host, lan.index)} netns ${host.netns}`);
      batch.push(`link set ${port} master ${lan.bridge} up`);
    }
  }
  return ['set -e', disableIpv6('all'), disableIpv6('default'), `ip -batch - <<'EOF'`, ...batch, 'EOF', ''].join('\n');
}

/** Network part of a host: addresses on every LAN interface, loopback up. */
export function hostNetScript(plan: LabPlan, host: HostPlan): string {
  const lines: string[] = [];
  const batch: string[] = ['link set lo up'];
  for (const lan of plan.lans) {
    const ifname = hostIfname(lan.index);
    lines.push(disableIpv6(ifname));
    batch.push(`addr add ${hostAddr(plan, host, lan.index)}/${lan.prefixLen} dev ${ifname}`);
    batch.push(`link set ${ifname} up`);
  }
  return [...lines, `ip -batch - <<'EOF'`, ...batch, 'EOF'].join('\n');
}

/** Per-host directories and where they appear in the host's mount view. */
export const NODE_DIRS: ReadonlyArray<{ sub: string; target: string }> = [
  { sub: 'srv', target: '/srv' },
  { sub: 'etc', target: '/etc/hakit' },
  { sub: 'lib', target: '/var/lib/hakit' },
  { sub: 'log', target: '/var/log/hakit' },
  { sub: 'run', target: '/run/hakit' },
];

// Copies of namespace pins and FUSE mounts of the machine would keep other labs' namespaces
// and other tests' FUSE connections alive for as long as this host lives: drop them.
const DROP_FOREIGN_MOUNTS = String.raw`awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { t = $(i + 1); break }
  if (t == "nsfs" || t == "fuse" || t == "fuseblk" || t ~ /^fuse\./) print $5 }' /proc/self/mountinfo | tac |
while IFS= read -r m; do umount -l "$(printf '%b' "$m")" 2>/dev/null || true; done`;

/**
 * Extra per-host directories of a packaged lab: the witness's state and logs (its unit's
 * %S/hakit-witness and %L/hakit-witness) and /etc/default, which starts as a copy of the
 * machine's so that each host has its own /etc/default/hakit as an installed node would.
 */
export const PACKAGED_DIRS: ReadonlyArray<{ sub: string; target: string }> = [
  { sub: 'witness-lib', target: '/var/lib/hakit-witness' },
  { sub: 'witness-log', target: '/var/log/hakit-witness' },
];
/** Where the package's runtime, JS and dependencies live (installers/deb/build.sh). */
export const PACKAGE_LIB_DIR = '/usr/lib/hakit';
const ETC_DEFAULT = '/etc/default';

/** Packaged lab: the staged tree's /usr/lib/hakit (read-only), per-host witness dirs and /etc/default. */
function packagedMountLines(hostDataDir: string, packagedRoot: string, nodeName: string | undefined): string[] {
  const lines = [
    `mount --bind ${shq(`${packagedRoot}${PACKAGE_LIB_DIR}`)} ${PACKAGE_LIB_DIR}`,
    `mount -o remount,bind,ro ${PACKAGE_LIB_DIR}`,
  ];
  for (const d of PACKAGED_DIRS) lines.push(`mkdir -p ${shq(`${hostDataDir}/${d.sub}`)}`, `mount --bind ${shq(`${hostDataDir}/${d.sub}`)} ${shq(d.target)}`);
  const def = `${hostDataDir}/default`;
  lines.push(`mkdir -p ${shq(def)}`, `cp -a ${ETC_DEFAULT}/. ${shq(def)}/`);
  // The node's name: a real node's host name; lab hosts share the machine's, so it is given.
  if (nodeName !== undefined) lines.push(`printf '%s\\n' ${shq(`HAKITD_OPTS="--node ${nodeName}"`)} > ${shq(`${def}/hakit`)}`);
  lines.push(`mount --bind ${shq(def)} ${ETC_DEFAULT}`);
  return lines;
}

/** Mount part of a host, run inside its fresh mount namespace; prints the resulting mountinfo. */
export function hostMountScript(hostDataDir: string, packaged?: { root: string; nodeName: string | undefined }): string {
  const lines = [
    DROP_FOREIGN_MOUNTS,
    // A sysfs mounted from inside the netns shows this host's interfaces (as `ip netns exec` does).
    'umount -l /sys',
    'mount -t sysfs sysfs /sys',
    'if [ -d /sys/fs/fuse/connections ]; then mount -t fusectl fusectl /sys/fs/fuse/connections || true; fi',
    'if [ -d /sys/fs/cgroup ]; then mount -t cgroup2 cgroup2 /sys/fs/cgroup || true; fi',
  ];
  for (const d of NODE_DIRS) lines.push(`mount --bind ${shq(`${hostDataDir}/${d.sub}`)} ${shq(d.target)}`);
  if (packaged !== undefined) lines.push(...packagedMountLines(hostDataDir, packaged.root, packaged.nodeName));
  lines.push('cat /proc/self/mountinfo');
  return lines.join('\n');
}

export function hostScript(plan: LabPlan, host: HostPlan, hostDataDir: string, packagedRoot?: string): string {
  const packaged = packagedRoot === undefined ? undefined : { root: packagedRoot, nodeName: host.kind === 'node' ? host.name : undefined };
  return ['set -e', hostNetScript(plan, host), hostMountScript(hostDataDir, packaged), ''].join('\n');
}
