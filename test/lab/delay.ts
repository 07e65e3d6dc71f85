// The delay line (delayline.c): built at first use, run in the switch namespace between a
// host's veth peer and a fresh veth pair whose other end joins the bridge.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LabError } from './errors';
import { delayPorts, lanOf, switchPort } from './pure/plan';
import type { LabPlan } from './pure/types';
import { mustRun } from './sh';
import { BIN_DIR, logPath } from './state-file';

const SOURCE_NAME = 'delayline.c';
/** The delay line prints "ready" within milliseconds; this bounds a broken start. */
const READY_WAIT_MS = 3_000;
const READY_POLL_MS = 10;
/** How far up from this file to look for the C source (dist/test/lab -> repo root is 3). */
const SOURCE_SEARCH_LEVELS = 4;

function findSource(): string {
  let dir = __dirname;
  for (let i = 0; i <= SOURCE_SEARCH_LEVELS; i++) {
    for (const candidate of [path.join(dir, SOURCE_NAME), path.join(dir, 'test', 'lab', SOURCE_NAME)]) {
      if (fs.existsSync(candidate)) return candidate;
    }
    dir = path.dirname(dir);
  }
  throw new LabError('HAKIT_E_LAB_DELAY', `cannot find ${SOURCE_NAME} near ${__dirname}`, 'lab/delay');
}

/** Compiles the delay line once per source version; the binary name carries the source hash. */
export async function delayBinary(): Promise<string> {
  const source = findSource();
  const hash = createHash('sha256').update(fs.readFileSync(source)).digest('hex').slice(0, 12);
  const binary = path.join(BIN_DIR, `delayline-${hash}`);
  if (fs.existsSync(binary)) return binary;
  fs.mkdirSync(BIN_DIR, { recursive: true });
  const tmp = `${binary}.${process.pid}.tmp`;
  // Parallel labs may compile at once: each writes its own file, rename is atomic.
  await mustRun(['cc', '-O2', '-Wall', '-o', tmp, source], 'compile the delay line');
  fs.renameSync(tmp, binary);
  return binary;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function inSwitch(plan: LabPlan, argv: readonly string[]): string[] {
  return ['nsenter', `--net=/run/netns/${plan.switchNetns}`, '--', ...argv];
}

/** Makes the veth pair of a delay line and plugs its bridge end into the LAN's bridge. */
export async function makeDelayPorts(plan: LabPlan, host: string, lan: number): Promise<void> {
  const { line, bridgePort } = delayPorts(host, lan);
  const bridge = lanOf(plan, lan).bridge;
  const batch = [`link add ${line} type veth peer name ${bridgePort}`, `link set ${bridgePort} master ${bridge} up`, `link set ${line} up`].join('\n');
  await mustRun(inSwitch(plan, ['ip', '-batch', '-']), `make delay ports for ${host} LAN ${lan}`, { input: batch + '\n' });
}

/** Starts the delay line; resolves with its pid once it listens on both ports. */
export async function startDelayLine(plan: LabPlan, host: string, lan: number, delay_ms: number): Promise<number> {
  const binary = await delayBinary();
  const log = logPath(plan.key, `delay-${host}-${lan}`);
  fs.writeFileSync(log, '');
  const fd = fs.openSync(log, 'a');
  const { line } = delayPorts(host, lan);
  const child = spawn('nsenter', inSwitch(plan, [binary, switchPort(host, lan), line, String(delay_ms)]).slice(1), {
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new LabError('HAKIT_E_LAB_DELAY', 'nsenter did not start', log);
  const deadline = Date.now() + READY_WAIT_MS;
  while (Date.now() < deadline) {
    const text = fs.readFileSync(log, 'utf8');
    if (text.includes('ready')) return pid;
    if (text.includes('delayline:') || child.exitCode !== null) break;
    await sleep(READY_POLL_MS);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  throw new LabError('HAKIT_E_LAB_DELAY', `delay line for ${host} LAN ${lan} did not start: ${fs.readFileSync(log, 'utf8').trim()}`, log);
}

/** Moves the host's traffic through the delay line (true) or straight onto the bridge (false). */
export async function routeThroughDelay(plan: LabPlan, host: string, lan: number, delayed: boolean): Promise<void> {
  const port = switchPort(host, lan);
  const cmd = delayed ? `link set ${port} nomaster` : `link set ${port} master ${lanOf(plan, lan).bridge}`;
  await mustRun(inSwitch(plan, ['ip', '-batch', '-']), `${delayed ? 'unplug' : 'replug'} ${port}`, { input: cmd + '\n' });
}

export async function removeDelayPorts(plan: LabPlan, host: string, lan: number): Promise<void> {
  const { line } = delayPorts(host, lan);
  await mustRun(inSwitch(plan, ['ip', 'link', 'del', line]), `remove delay ports of ${host} LAN ${lan}`);
}
