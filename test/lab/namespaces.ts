// Paths and inodes of a lab's namespaces, and how a command joins a host's view.
import fs from 'node:fs';
import { pinPath } from './state-file';
import type { HostPlan, LabPlan } from './pure/types';
import { nsInode, type NsSet } from './procs';

export const netnsPath = (netns: string): string => `/run/netns/${netns}`;

/** argv prefix that runs a command in a host's network AND mount view, keeping the cwd. */
export function joinArgv(plan: LabPlan, host: HostPlan, cwd: string = process.cwd()): string[] {
  return ['nsenter', `--net=${netnsPath(host.netns)}`, `--mount=${pinPath(plan.key, host.name)}`, `--wd=${cwd}`, '--'];
}

/** argv prefix that reads a host's mount view only (no cwd: the host's root). */
export function mountViewArgv(plan: LabPlan, host: HostPlan): string[] {
  return ['nsenter', `--mount=${pinPath(plan.key, host.name)}`, '--'];
}

/** Namespace inodes of some hosts (and the switch when asked). */
export function nsSetOf(plan: LabPlan, hosts: readonly HostPlan[], withSwitch: boolean): NsSet {
  const net = new Set<number>();
  const mnt = new Set<number>();
  const add = (set: Set<number>, ino: number | undefined): void => {
    if (ino !== undefined) set.add(ino);
  };
  for (const h of hosts) {
    add(net, nsInode(netnsPath(h.netns)));
    add(mnt, pinnedMountNs(plan, h));
  }
  if (withSwitch) add(net, nsInode(netnsPath(plan.switchNetns)));
  return { net, mnt };
}

/** The pin's inode only when a namespace is mounted there (else it is the plain file's inode). */
function pinnedMountNs(plan: LabPlan, host: HostPlan): number | undefined {
  const pin = pinPath(plan.key, host.name);
  try {
    const st = fs.statSync(pin);
    // nsfs files live on the nsfs device; a plain pin file lives on /run's device.
    return st.dev === fs.statSync('/proc/self/ns/mnt').dev ? st.ino : undefined;
  } catch {
    return undefined;
  }
}

export function existingNetns(): Set<string> {
  try {
    return new Set(fs.readdirSync('/run/netns'));
  } catch {
    return new Set();
  }
}
