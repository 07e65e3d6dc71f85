// Power cut of a host: its links go dead first (the switch-side veth peers are set down, so
// the host's kernel can no longer answer anything: no RST, no ARP, no FIN from the sockets of
// the processes about to die), then every process dies at once, its FUSE connections are
// aborted and the mounts its processes made are lazily unmounted (as after a reboot), so a
// dead FUSE mount can never hang the machine. The namespaces stay; `setLinks(.., true)`
// (lab.powerOn) brings the links back, after which daemons may be started again. The host's
// neighbour table is flushed with the processes: packets queued there would outlive them.
import fs from 'node:fs';
import { fuseConnection, isFuse, mountsSince, parseMountinfo, type MountEntry } from './pure/mountinfo';
import type { HostPlan, LabPlan } from './pure/types';
import { switchPort } from './pure/plan';
import { shq } from './pure/scripts';
import { mountViewArgv, nsSetOf } from './namespaces';
import { killAllIn, waitGone, type NsSet } from './procs';
import { mustRun, run } from './sh';
import { dataDir } from './state-file';

export const FUSECTL_DIR = '/sys/fs/fuse/connections';
/** Processes stuck in the kernel need the FUSE abort to die; this bounds the wait after it. */
export const KILL_WAIT_MS = 5_000;
/** Unmount passes: a mount may be stacked on another that only shows once the top one goes. */
const UNMOUNT_PASSES = 3;

export interface PowerCutReport {
  killed: number[];
  fuseAborted: string[];
  unmounted: string[];
  stillAlive: number[];
}

async function readMounts(plan: LabPlan, host: HostPlan): Promise<MountEntry[]> {
  const r = await run([...mountViewArgv(plan, host), 'cat', '/proc/self/mountinfo']);
  return r.code === 0 ? parseMountinfo(r.stdout) : [];
}

function abortFuse(entries: readonly MountEntry[]): string[] {
  const aborted: string[] = [];
  for (const e of entries.filter(isFuse)) {
    const conn = fuseConnection(e);
    if (conn === undefined) continue;
    try {
      fs.writeFileSync(`${FUSECTL_DIR}/${conn}/abort`, '1');
      aborted.push(`${conn} (${e.mountpoint})`);
    } catch {
      /* connection already gone */
    }
  }
  return aborted;
}

async function unmountSince(plan: LabPlan, host: HostPlan, baseline: readonly number[]): Promise<string[]> {
  const done: string[] = [];
  for (let pass = 0; pass < UNMOUNT_PASSES; pass++) {
    const extra = mountsSince(await readMounts(plan, host), baseline);
    if (extra.length === 0) break;
    const script = extra.map((e) => `umount -l ${shq(e.mountpoint)} 2>/dev/null || true`).join('\n');
    await run([...mountViewArgv(plan, host), 'sh', '-c', script]);
    done.push(...extra.map((e) => e.mountpoint));
  }
  return done;
}

/** Kills every process of the namespaces, then aborts FUSE and unmounts per host. */
export async function powerCut(plan: LabPlan, hosts: readonly HostPlan[], baselines: Readonly<Record<string, readonly number[]>>, ns?: NsSet): Promise<PowerCutReport> {
  const killed = killAllIn(ns ?? nsSetOf(plan, hosts, false));
  const fuseAborted: string[] = [];
  const unmounted: string[] = [];
  for (const host of hosts) {
    // RAM is lost in a power cut, packets a dead process left queued in the kernel too: the
    // neighbour table holds those sent while the links were already dead (no ARP answer),
    // and would transmit them on power-on, old heartbeats claiming the host still serves
    // (seen once in 35 cuts: the survivor took them for a split brain and yielded).
    await run(['ip', '-n', host.netns, 'neigh', 'flush', 'all']);
    fuseAborted.push(...abortFuse(await readMounts(plan, host)));
    const baseline = baselines[host.name];
    if (baseline !== undefined) unmounted.push(...(await unmountSince(plan, host, baseline)));
    clearRunDir(plan, host);
  }
  const stillAlive = await waitGone(killed, KILL_WAIT_MS);
  return { killed, fuseAborted, unmounted, stillAlive };
}

/** /run is a tmpfs on a real machine: a power cut empties the host's /run/hakit (its daemon's adoption records with it). */
function clearRunDir(plan: LabPlan, host: HostPlan): void {
  const run_dir = `${dataDir(plan.key)}/${host.name}/run`;
  for (const entry of fs.existsSync(run_dir) ? fs.readdirSync(run_dir) : []) fs.rmSync(`${run_dir}/${entry}`, { recursive: true, force: true });
}

/**
 * Sets the switch side of every link of a host down (power cut) or up (power on). The host
 * cannot undo it from inside; a delay line between the host and its bridge is unaffected
 * (it reads the same switch-side port).
 */
export async function setLinks(plan: LabPlan, host: HostPlan, up: boolean): Promise<void> {
  const batch = plan.lans.map((l) => `link set ${switchPort(host.name, l.index)} ${up ? 'up' : 'down'}`).join('\n') + '\n';
  await mustRun(['nsenter', `--net=/run/netns/${plan.switchNetns}`, '--', 'ip', '-batch', '-'], `${up ? 'power on' : 'power cut'} ${host.name}: links ${up ? 'up' : 'down'}`, { input: batch });
}
