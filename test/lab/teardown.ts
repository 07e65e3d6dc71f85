// `down`: removes exactly what the state file says the lab made, in an order that works
// after a crash at any point of `up`: processes, mounts, namespaces, directories, records.
import fs from 'node:fs';
import { LabError } from './errors';
import { parseMountinfo } from './pure/mountinfo';
import type { LabState } from './pure/types';
import { netnsPath, nsSetOf } from './namespaces';
import { powerCut } from './power';
import { pidGone, processStartTicks, waitGone } from './procs';
import { run } from './sh';
import { labDir, listLabKeys, pinDir, readMadeDirs, readState, releaseIndex, withGlobalLock, writeMadeDirs } from './state-file';

function hostMountPoints(): string[] {
  return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).map((e) => e.mountpoint);
}

async function unmountPins(state: LabState): Promise<void> {
  const mounted = new Set(hostMountPoints());
  for (const pin of state.mountPins) if (mounted.has(pin)) await run(['umount', '-l', pin]);
  const dir = pinDir(state.plan.key);
  if (state.pinDirMounted && mounted.has(dir)) await run(['umount', '-l', dir]);
}

async function deleteNetns(state: LabState): Promise<void> {
  const present = state.netns.filter((n) => fs.existsSync(netnsPath(n)));
  if (present.length === 0) return;
  await run(['ip', '-force', '-batch', '-'], { input: present.map((n) => `netns del ${n}`).join('\n') + '\n' });
}

/** Removes the per-host data unless something is mounted under it on the host (never delete through a mount). */
function removeData(state: LabState): string | undefined {
  const dir = state.dataDir;
  if (dir === undefined || !fs.existsSync(dir)) return undefined;
  const inside = hostMountPoints().filter((m) => m === dir || m.startsWith(dir + '/'));
  if (inside.length > 0) return `left ${dir}: host mounts inside it (${inside.join(', ')})`;
  fs.rmSync(dir, { recursive: true, force: true });
  return undefined;
}

/** The last lab down removes the host mount points labs created, when they are empty. */
function removeMadeDirsIfLast(ownKey: string): void {
  if (listLabKeys().some((k) => k !== ownKey)) return;
  const kept = readMadeDirs().filter((d) => {
    try {
      fs.rmdirSync(d);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code !== 'ENOENT';
    }
  });
  writeMadeDirs(kept);
}

/** How long a recorded host process gets to exit after SIGTERM before SIGKILL. */
const HOST_PROCESS_STOP_WAIT_MS = 3_000;

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Gone already.
  }
}

/** Stops the processes the lab recorded outside its hosts: those pids only, if still the same processes. Returns the survivors. */
async function stopHostProcesses(state: LabState): Promise<number[]> {
  const ours = (state.hostProcesses ?? []).filter((p) => p.pid > 1 && !pidGone(p.pid) && processStartTicks(p.pid) === p.startTicks).map((p) => p.pid);
  for (const pid of ours) signal(pid, 'SIGTERM');
  const stubborn = await waitGone(ours, HOST_PROCESS_STOP_WAIT_MS);
  for (const pid of stubborn) signal(pid, 'SIGKILL');
  return waitGone(stubborn, HOST_PROCESS_STOP_WAIT_MS);
}

/** Takes a lab down; false when there was no such lab. Throws after cleaning up if a process would not die. */
export async function teardown(key: string): Promise<boolean> {
  const state = readState(key);
  if (state === undefined) {
    if (!fs.existsSync(labDir(key))) return false;
    // Crashed between making the directory and writing the record: nothing else was made.
    await withGlobalLock(() => fs.rmSync(labDir(key), { recursive: true, force: true }));
    return true;
  }
  const plan = state.plan;
  const hostAlive = await stopHostProcesses(state);
  const report = await powerCut(plan, plan.hosts, {}, nsSetOf(plan, plan.hosts, true));
  await unmountPins(state);
  await deleteNetns(state);
  const dataProblem = removeData(state);
  await withGlobalLock(() => {
    releaseIndex(plan.index, key);
    removeMadeDirsIfLast(key);
    fs.rmSync(labDir(key), { recursive: true, force: true });
  });
  const stillAlive = [...hostAlive, ...report.stillAlive];
  if (stillAlive.length > 0 || dataProblem !== undefined) {
    const alive = stillAlive.length > 0 ? `pids ${stillAlive.join(' ')} did not die within the wait; ` : '';
    throw new LabError('HAKIT_E_LAB_KILL', `${alive}${dataProblem ?? ''}`, `lab ${key} down`);
  }
  return true;
}
