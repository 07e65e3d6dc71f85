// `up`: makes a lab. Everything is recorded in the state file before it is made; any
// failure tears down what was made and rethrows.
import fs from 'node:fs';
import { HakitError } from '../../core/errors/catalogue';
import { LabError } from './errors';
import { parseMountinfo } from './pure/mountinfo';
import { checkSpec, labKey, makePlan } from './pure/plan';
import { hostScript, NODE_DIRS, PACKAGE_LIB_DIR, PACKAGED_DIRS, switchScript } from './pure/scripts';
import type { LabPlan, LabSpec, LabState } from './pure/types';
import { existingNetns, netnsPath } from './namespaces';
import { FUSECTL_DIR } from './power';
import { mustRun, run } from './sh';
import { claimIndex, dataDir, labDir, labExists, pinDir, pinPath, readMadeDirs, withGlobalLock, writeMadeDirs, writeState } from './state-file';
import { teardown } from './teardown';

export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new HakitError('HAKIT_E_NOT_ROOT', 'the lab makes namespaces, bridges and mounts: run it as root (sudo)', `uid ${process.getuid()}`);
  }
}

function initialState(plan: LabPlan, packagedRoot: string | undefined): LabState {
  return {
    ...(packagedRoot === undefined ? {} : { packagedRoot }),
    version: 1,
    plan,
    created_at: new Date().toISOString(),
    phase: 'making',
    netns: [...plan.hosts.map((h) => h.netns), plan.switchNetns],
    mountPins: plan.hosts.map((h) => pinPath(plan.key, h.name)),
    pinDirMounted: true,
    dataDir: dataDir(plan.key),
    baselineMounts: {},
    cuts: [],
    losses: [],
    delays: [],
  };
}

/** Under the global lock: refuse if taken, claim an index, record the lab, make mount points. */
async function reserve(spec: LabSpec, packagedRoot: string | undefined): Promise<LabState> {
  return withGlobalLock(() => {
    const key = labKey(spec.name);
    if (labExists(key)) {
      throw new LabError('HAKIT_E_LAB_EXISTS', `lab '${key}' is up already; nothing changed (take it down first: npm run lab -- ${spec.name ? `--name ${spec.name} ` : ''}down)`, labDir(key));
    }
    const taken = existingNetns();
    const probe = makePlan(spec, 0);
    const clash = [...probe.hosts.map((h) => h.netns), probe.switchNetns].filter((n) => taken.has(n));
    if (clash.length > 0) {
      throw new LabError('HAKIT_E_LAB_NAMESPACE_TAKEN', `network namespace(s) ${clash.join(', ')} exist but belong to no lab '${key}'; nothing changed`, '/run/netns');
    }
    const index = claimIndex(key, spec.name === '');
    fs.mkdirSync(labDir(key), { recursive: true });
    const state = initialState(makePlan(spec, index), packagedRoot);
    writeState(state);
    makeMountPoints(packagedRoot === undefined ? NODE_DIRS : [...NODE_DIRS, ...PACKAGED_DIRS, { sub: '', target: PACKAGE_LIB_DIR }]);
    return state;
  });
}

/** Host directories the per-node binds need; recorded machine-wide so the last lab removes them. */
function makeMountPoints(dirs: ReadonlyArray<{ target: string }>): void {
  const made = readMadeDirs();
  for (const d of dirs) {
    if (fs.existsSync(d.target)) continue;
    writeMadeDirs([...made, d.target]);
    made.push(d.target);
    fs.mkdirSync(d.target, { recursive: true });
  }
}

async function ensureHostFusectl(): Promise<void> {
  if (!fs.existsSync(FUSECTL_DIR)) await run(['modprobe', 'fuse']);
  const mounted = parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).some((e) => e.fstype === 'fusectl');
  if (!mounted && fs.existsSync(FUSECTL_DIR)) await run(['mount', '-t', 'fusectl', 'fusectl', FUSECTL_DIR]);
}

/** The pin directory must be a private mount: pinning a mount namespace on a shared one fails. */
async function makePinDir(plan: LabPlan): Promise<void> {
  const dir = pinDir(plan.key);
  fs.mkdirSync(dir, { recursive: true });
  await mustRun(['mount', '--bind', dir, dir], 'bind the pin directory');
  await mustRun(['mount', '--make-private', dir], 'make the pin directory private');
  for (const h of plan.hosts) fs.writeFileSync(pinPath(plan.key, h.name), '');
}

async function makeHost(plan: LabPlan, host: LabPlan['hosts'][number], packagedRoot: string | undefined): Promise<number[]> {
  const hostData = `${dataDir(plan.key)}/${host.name}`;
  for (const d of NODE_DIRS) fs.mkdirSync(`${hostData}/${d.sub}`, { recursive: true });
  const argv = ['nsenter', `--net=${netnsPath(host.netns)}`, '--', 'unshare', `--mount=${pinPath(plan.key, host.name)}`, '--propagation', 'private', '--', 'sh', '-c', hostScript(plan, host, hostData, packagedRoot)];
  const mountinfo = await mustRun(argv, `set up host ${host.name}`);
  return parseMountinfo(mountinfo).map((e) => e.id);
}

/** `packagedRoot`: a staged package tree (test/lab/packaged.ts) to bind into every host. */
export async function makeLab(spec: LabSpec, packagedRoot?: string): Promise<LabState> {
  requireRoot();
  const checked = checkSpec(spec);
  if (!checked.ok) throw new LabError('HAKIT_E_LAB_BAD_SPEC', checked.message, 'lab up');
  let state = await reserve(spec, packagedRoot);
  try {
    const plan = state.plan;
    await ensureHostFusectl();
    const adds = state.netns.map((n) => `netns add ${n}`).join('\n') + '\n';
    await mustRun(['ip', '-batch', '-'], 'make network namespaces', { input: adds });
    await mustRun(['nsenter', `--net=${netnsPath(plan.switchNetns)}`, '--', 'sh', '-c', switchScript(plan)], 'make the LAN bridges');
    await makePinDir(plan);
    const baselines = await Promise.all(plan.hosts.map((h) => makeHost(plan, h, packagedRoot)));
    const baselineMounts: Record<string, number[]> = {};
    plan.hosts.forEach((h, i) => (baselineMounts[h.name] = baselines[i] ?? []));
    state = { ...state, phase: 'ready', baselineMounts };
    writeState(state);
    return state;
  } catch (e) {
    await teardown(state.plan.key).catch(() => undefined);
    throw e;
  }
}
