// Turns lab hosts into a hakit cluster with the real tools, as an admin would: cluster.xml and
// a key (`hakit cluster config`, `hakit cluster genkey`), modules packaged and installed
// (`hakit module package`, `hakit module install`), hakit-witness and hakitd started detached
// with their output under the host's /var/log/hakit. Shared by `npm run demo`, the failover
// benchmark and lab tests. In a packaged lab (Lab.up({ packaged: true })) everything runs as
// installed: the package's `hakit` command, hakitd and hakit-witness started from their unit
// files (test/lab/unit-start.ts); otherwise the built JS in dist/ on this node.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Lab } from '../index';
import { packagedCli, startUnit } from '../unit-start';

/** The repository root (holds package.json), found upward from this file (src or dist). */
export function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'modules'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the repository root above ${__dirname}`);
}

export const ROOT = repoRoot();
export const CLI = path.join(ROOT, 'dist/core/cli/main.js');
export const DAEMON = path.join(ROOT, 'dist/core/daemon/main.js');
export const WITNESS = path.join(ROOT, 'dist/core/witness/main.js');
export const NODE = process.execPath;
/** Bounds every hakit CLI call (waitstate takes its own --timeout on top). */
const CLI_TIMEOUT_MS = 60_000;
/** One `hakit state` read: a CLI start takes seconds on a loaded 2-core machine. */
const STATE_TIMEOUT_MS = 15_000;
const POLL_MS = 200;

export interface HakitResult {
  code: number;
  out: string;
}

/** Runs `hakit ARGS` on a host (its network and mount view). */
export async function hakit(lab: Lab, host: string, args: readonly string[], timeout_ms = CLI_TIMEOUT_MS): Promise<HakitResult> {
  const cli = lab.packagedRoot === undefined ? [NODE, CLI] : packagedCli(lab);
  const r = await lab.exec(host, [...cli, ...args], { timeout_ms, cwd: ROOT });
  return { code: r.code ?? -1, out: (r.stdout + r.stderr).trim() };
}

/** Like hakit() but throws with the command's output when it fails. */
export async function mustHakit(lab: Lab, host: string, args: readonly string[], timeout_ms?: number): Promise<string> {
  const r = await hakit(lab, host, args, timeout_ms);
  if (r.code !== 0) throw new Error(`${host}: hakit ${args.join(' ')} failed (exit ${r.code}): ${r.out}`);
  return r.out;
}

/** Writes a file in a host's view (its /etc/hakit, /srv... are its own). */
export async function writeOn(lab: Lab, host: string, file: string, text: string, mode = '644'): Promise<void> {
  const r = await lab.exec(host, ['sh', '-c', `mkdir -p "$(dirname "$1")" && cat > "$1" && chmod ${mode} "$1"`, 'sh', file], { input: text });
  if (r.code !== 0) throw new Error(`${host}: cannot write ${file}: ${r.stderr.trim()}`);
}

export interface ClusterLan {
  /** cluster.xml LAN name. */
  name: string;
  /** Lab LAN index. */
  lan: number;
}

export function clusterXml(lab: Lab, name: string, nodes: readonly string[], lans: readonly ClusterLan[]): string {
  const body = lans
    .map((l) => `  <lan name="${l.name}">\n${nodes.map((n) => `    <node name="${n}" addr="${lab.addr(n, l.lan)}"/>`).join('\n')}\n  </lan>`)
    .join('\n');
  return `<cluster name="${name}">\n${body}\n</cluster>\n`;
}

/**
 * cluster.xml on every node (checked and installed by `hakit cluster config`), a key made by
 * `hakit cluster genkey` on the first node and copied to every other host (the witness too).
 */
export async function configureCluster(lab: Lab, nodes: readonly string[], xml: string, keyHosts: readonly string[]): Promise<void> {
  const first = nodes[0] as string;
  await mustHakit(lab, first, ['cluster', 'genkey', '--force']);
  const key = await lab.exec(first, ['base64', '-w0', '/etc/hakit/cluster.key']);
  if (key.code !== 0) throw new Error(`${first}: cannot read the key: ${key.stderr}`);
  for (const h of keyHosts.filter((x) => x !== first)) {
    const r = await lab.exec(h, ['sh', '-c', 'mkdir -p /etc/hakit && base64 -d > /etc/hakit/cluster.key && chmod 600 /etc/hakit/cluster.key'], { input: key.stdout });
    if (r.code !== 0) throw new Error(`${h}: cannot write the key: ${r.stderr}`);
  }
  for (const n of nodes) {
    // The node's /tmp is the host's: a name per lab and node, removed once installed.
    const file = `/tmp/hakit-${lab.name || 'default'}-${n}-cluster.xml`;
    try {
      await writeOn(lab, n, file, xml);
      await mustHakit(lab, n, ['cluster', 'config', file]);
    } finally {
      await lab.exec(n, ['rm', '-f', file]);
    }
  }
}

/**
 * Copies a module directory, lets `patch` edit its userconfig.xml, packs it with
 * `hakit module package --dir` and installs the package on every node (which keeps its own
 * copy); the package and the copy are removed.
 */
export async function packageAndInstall(lab: Lab, nodes: readonly string[], srcDir: string, name: string, patch: (xml: string) => string): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `hakit-${name}-`));
  try {
    const dir = path.join(work, name);
    fs.cpSync(srcDir, dir, { recursive: true });
    const conf = path.join(dir, 'conf', 'userconfig.xml');
    fs.writeFileSync(conf, patch(fs.readFileSync(conf, 'utf8')));
    const safe = path.join(work, `${name}.safe`);
    await mustHakit(lab, nodes[0] as string, ['module', 'package', '--dir', dir, safe]);
    for (const n of nodes) await mustHakit(lab, n, ['module', 'install', '-m', name, safe]);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Starts argv on a host in a new session, detached from us, output appended to `log` (host path). */
export async function startDetached(lab: Lab, host: string, argv: readonly string[], log: string): Promise<number> {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = `mkdir -p "$(dirname ${q(log)})"; setsid ${argv.map(q).join(' ')} </dev/null >>${q(log)} 2>&1 & echo $!`;
  const r = await lab.exec(host, ['sh', '-c', script], { cwd: ROOT });
  const pid = Number(r.stdout.trim());
  if (r.code !== 0 || !(pid > 0)) throw new Error(`${host}: cannot start ${argv.join(' ')}: ${r.stderr.trim()}`);
  return pid;
}

/** Packaged lab: the witness's /etc/default/hakit-witness as docs/install.md writes it (every node bound to its addresses). */
function witnessDefaults(lab: Lab, host: string): string {
  const nodes = lab.hosts.filter((h) => h.kind === 'node').map((h) => `--node ${h.name}=${Array.from({ length: lab.lanCount }, (_x, i) => lab.addr(h.name, i)).join(',')}`);
  return [`HAKIT_WITNESS_ADDRESS=${lab.addr(host, 0)}`, 'HAKIT_WITNESS_KEY_FILE=/etc/hakit/cluster.key', `HAKIT_WITNESS_OPTS="${nodes.join(' ')}"`, ''].join('\n');
}

export async function startWitness(lab: Lab, host = 'witness'): Promise<number> {
  if (lab.packagedRoot === undefined) {
    return startDetached(lab, host, [NODE, WITNESS, '--address', lab.addr(host, 0), '--key-file', '/etc/hakit/cluster.key'], '/var/log/hakit/hakit-witness.out');
  }
  await writeOn(lab, host, '/etc/default/hakit-witness', witnessDefaults(lab, host));
  return startUnit(lab, host, 'hakit-witness.service');
}

/**
 * Starts hakitd on a node. Packaged lab: as the unit does, its options in the node's
 * /etc/default/hakit (the lab writes `--node NAME`; a log level other than info is added).
 */
export async function startDaemon(lab: Lab, host: string, logLevel = 'info'): Promise<number> {
  if (lab.packagedRoot === undefined) {
    return startDetached(lab, host, [NODE, DAEMON, '--node', host, '--log-level', logLevel], '/var/log/hakit/hakitd.out');
  }
  const opts = logLevel === 'info' ? `--node ${host}` : `--node ${host} --log-level ${logLevel}`;
  await writeOn(lab, host, '/etc/default/hakit', `HAKITD_OPTS="${opts}"\n`);
  return startUnit(lab, host, 'hakitd.service');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls cond until it holds; false after wait_ms (bounded in time and in tries). */
export async function until(cond: () => Promise<boolean>, wait_ms: number, poll_ms = POLL_MS): Promise<boolean> {
  const deadline = Date.now() + wait_ms;
  const tries = Math.ceil(wait_ms / poll_ms) + 1;
  for (let i = 0; i < tries && Date.now() <= deadline; i++) {
    if (await cond()) return true;
    await sleep(poll_ms);
  }
  return false;
}

/** Waits until hakitd answers on the host (`hakit state` exits 0). */
export async function waitDaemon(lab: Lab, host: string, wait_ms: number): Promise<boolean> {
  return until(async () => (await hakit(lab, host, ['state'], 5000)).code === 0, wait_ms);
}

export interface ModuleState {
  state: string;
  status: string;
}

/** The module's state on a host, or undefined when hakitd does not answer. */
export async function moduleState(lab: Lab, host: string, module: string): Promise<ModuleState | undefined> {
  const r = await hakit(lab, host, ['state', '-m', module, '--json'], STATE_TIMEOUT_MS);
  if (r.code !== 0) return undefined;
  try {
    const m = (JSON.parse(r.out) as { modules: Array<{ state: string; status: string }> }).modules[0];
    return m === undefined ? undefined : { state: m.state, status: m.status };
  } catch {
    return undefined;
  }
}

// --- userconfig.xml edits (plain text: the examples are small and regular) ---

export function setMacro(xml: string, name: string, value: string): string {
  const re = new RegExp(`(<macro name="${name}" value=")[^"]*(")`);
  if (!re.test(xml)) throw new Error(`userconfig.xml has no macro ${name}`);
  return xml.replace(re, `$1${value}$2`);
}

export function setProfile(xml: string, profile: 'default' | 'fast'): string {
  if (!/<heart profile="[a-z]+"/.test(xml)) throw new Error('userconfig.xml has no <heart profile=...>');
  return xml.replace(/<heart profile="[a-z]+"/, `<heart profile="${profile}"`);
}

/** Adds a heartbeat on another cluster.xml LAN (a peer is lost only when silent on all). */
export function addHeartbeat(xml: string, lanName: string): string {
  if (!xml.includes('</heart>')) throw new Error('userconfig.xml has no <heart>');
  return xml.replace('</heart>', `  <heartbeat name="${lanName}"/>\n    </heart>`);
}

/** Names the split-brain witness (hakit-witness on that address). */
export function addWitness(xml: string, addr: string): string {
  if (!xml.includes('</check>')) throw new Error('userconfig.xml has no <check>');
  return xml.replace('</check>', `  <splitbrain exec="ping" arg="${addr}"/>\n    </check>`);
}

/** Drops a farm node line (`<node name="X" .../>`), e.g. node3 of a 3-node example on 2 nodes. */
export function dropFarmNode(xml: string, node: string): string {
  return xml.replace(new RegExp(`\\s*<node name="${node}"[^>]*/>`), '');
}
