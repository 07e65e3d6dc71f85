// Lays a lab out from its spec and index: namespace, bridge and port names, subnets,
// addresses and MACs. Pure, so the layout can be unit-tested and replayed exactly.
import type { HostPlan, LabPlan, LabSpec, LanPlan } from './types';

/** Node hosts take host bytes 1..MAX_NODES; client and witness take fixed bytes above the VIP range. */
export const MAX_NODES = 99;
/** Each lab owns 16 consecutive /24 subnets, one per LAN. */
export const MAX_LANS = 16;
/** 198.18.0.0/15 holds 512 /24s: 32 labs of 16 LANs. Index 0 is the default lab. */
export const MAX_LAB_INDEX = 31;
export const PREFIX_LEN = 24;
/** Addresses .100 .. .199 of every LAN are never given to a host: tests use them for VIPs. */
export const SPARE_FIRST_BYTE = 100;
export const SPARE_COUNT = 100;
const CLIENT_BYTE = 201;
const WITNESS_BYTE = 202;
/** Lab names end up in namespace names and state paths: keep them short and plain. */
export const LAB_NAME_PATTERN = /^[a-z][a-z0-9]{0,9}$/;
export const DEFAULT_LAB_KEY = 'default';

export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/** Validates a spec; the message says which field is wrong and the allowed range. */
export function checkSpec(spec: LabSpec): Checked<LabSpec> {
  if (spec.name !== '' && !LAB_NAME_PATTERN.test(spec.name)) {
    return { ok: false, message: `lab name '${spec.name}' must match ${LAB_NAME_PATTERN.source}` };
  }
  if (!Number.isInteger(spec.nodes) || spec.nodes < 1 || spec.nodes > MAX_NODES) {
    return { ok: false, message: `--nodes must be an integer 1..${MAX_NODES}, got ${spec.nodes}` };
  }
  if (!Number.isInteger(spec.lans) || spec.lans < 1 || spec.lans > MAX_LANS) {
    return { ok: false, message: `--lans must be an integer 1..${MAX_LANS}, got ${spec.lans}` };
  }
  return { ok: true, value: spec };
}

/** The lab name as written by users: '' and 'default' both mean the default lab. */
export function normaliseLabName(name: string | undefined): string {
  return name === undefined || name === DEFAULT_LAB_KEY ? '' : name;
}

export function labKey(name: string): string {
  return name === '' ? DEFAULT_LAB_KEY : name;
}

export function netnsName(labName: string, host: string): string {
  return labName === '' ? host : `${labName}-${host}`;
}

function hostPlans(spec: LabSpec): HostPlan[] {
  const hosts: HostPlan[] = [];
  for (let i = 1; i <= spec.nodes; i++) {
    hosts.push({ name: `node${i}`, kind: 'node', netns: netnsName(spec.name, `node${i}`), hostByte: i, ordinal: i });
  }
  if (spec.client) hosts.push({ name: 'client', kind: 'client', netns: netnsName(spec.name, 'client'), hostByte: CLIENT_BYTE, ordinal: CLIENT_BYTE });
  if (spec.witness) hosts.push({ name: 'witness', kind: 'witness', netns: netnsName(spec.name, 'witness'), hostByte: WITNESS_BYTE, ordinal: WITNESS_BYTE });
  return hosts;
}

/** LAN k of lab i is the (16*i + k)-th /24 of 198.18.0.0/15. */
export function lanNetwork(labIndex: number, lan: number): string {
  const n = labIndex * MAX_LANS + lan;
  return `198.${18 + Math.floor(n / 256)}.${n % 256}.0`;
}

export function makePlan(spec: LabSpec, index: number): LabPlan {
  const lans: LanPlan[] = [];
  for (let k = 0; k < spec.lans; k++) {
    lans.push({ index: k, bridge: `br${k}`, network: lanNetwork(index, k), prefixLen: PREFIX_LEN });
  }
  return { spec, key: labKey(spec.name), index, switchNetns: netnsName(spec.name, 'sw'), hosts: hostPlans(spec), lans };
}

function withHostByte(network: string, hostByte: number): string {
  return network.replace(/\.0$/, `.${hostByte}`);
}

export function hostAddr(plan: LabPlan, host: HostPlan, lan: number): string {
  return withHostByte(lanOf(plan, lan).network, host.hostByte);
}

/** The n-th address of a LAN that no host uses (for VIPs), n in 0..SPARE_COUNT-1. */
export function spareAddr(plan: LabPlan, lan: number, n: number): string {
  if (!Number.isInteger(n) || n < 0 || n >= SPARE_COUNT) throw new RangeError(`spare address index ${n} is not in 0..${SPARE_COUNT - 1}`);
  return withHostByte(lanOf(plan, lan).network, SPARE_FIRST_BYTE + n);
}

export function lanOf(plan: LabPlan, lan: number): LanPlan {
  const found = plan.lans[lan];
  if (found === undefined) throw new RangeError(`LAN ${lan} does not exist (lab has ${plan.lans.length})`);
  return found;
}

export function findHost(plan: LabPlan, name: string): HostPlan | undefined {
  return plan.hosts.find((h) => h.name === name);
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** Locally administered unicast MAC, stable across runs: 02:4c:<lab>:<lan>:00:<host byte>. */
export function hostMac(plan: LabPlan, host: HostPlan, lan: number): string {
  return `02:4c:${hex2(plan.index)}:${hex2(lan)}:00:${hex2(host.hostByte)}`;
}

/** Interface name of a host on a LAN, inside the host's namespace. */
export function hostIfname(lan: number): string {
  return `eth${lan}`;
}

/** The switch-side peer of a host's interface (a bridge port unless a delay line sits in between). */
export function switchPort(host: string, lan: number): string {
  return `${host}-${lan}`;
}

/** Delay line veth pair: `x` is read/written by the delay line, `y` is its bridge port. */
export function delayPorts(host: string, lan: number): { line: string; bridgePort: string } {
  return { line: `${host}-${lan}x`, bridgePort: `${host}-${lan}y` };
}

/** Every host interface name must fit Linux's IFNAMSIZ-1 = 15 characters. */
export const IFNAME_MAX_CHARS = 15;
