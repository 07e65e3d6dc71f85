// The installed modules of this node. `<state>/modules/NAME` is a symbolic link to the
// applied release `<state>/releases/NAME/<seq>/`; installing stages and validates a new
// release, then swaps the link with one rename, so a failed install leaves the previous
// module untouched and a reader never sees half a module. Earlier releases are the history
// that `rollback` returns to.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigIssuesError, loadClusterConfig, loadUserConfig } from '../../core/config/load';
import { backupDir, clusterXmlPath, confDir, HISTORY_KEEP, moduleDir, modulesDir, releasesDir, stagingDir } from '../../core/config/paths';
import type { InstalledModule } from '../../core/config/pure/cross-check';
import type { DeepReadonlyClusterConfig, DeepReadonlyUserConfig } from '../../core/config/pure/types-frozen';
import { HakitError } from '../../core/errors/catalogue';
import { moduleNameMessage } from '../../core/config/pure/module-name';
import { checkModuleDir } from '../safe/check-module';
import { MODULE_NAME_PATTERN } from '../safe/limits';
import { packModule } from '../safe/pack';
import { unpackSafe } from '../safe/unpack';

type Env = NodeJS.ProcessEnv;

export function checkModuleName(name: string): string {
  if (!MODULE_NAME_PATTERN.test(name)) {
    throw new HakitError('HAKIT_E_MOD_NAME', moduleNameMessage(name), 'module');
  }
  return name;
}

/** cluster.xml of this node, or null when none is installed yet. Invalid: throws every issue. */
export function installedCluster(env: Env = process.env): DeepReadonlyClusterConfig | null {
  const file = clusterXmlPath(env);
  if (!fs.existsSync(file)) return null;
  const r = loadClusterConfig(file, 'cluster.xml', confDir(env));
  if (!r.ok) throw new ConfigIssuesError(r.errors);
  return r.value;
}

export function listInstalled(env: Env = process.env): { name: string; release: number; config: DeepReadonlyUserConfig | null }[] {
  const dir = modulesDir(env);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((n) => MODULE_NAME_PATTERN.test(n))
    .sort()
    .map((name) => {
      const r = loadUserConfig(path.join(moduleDir(name, env), 'conf', 'userconfig.xml'), `${name}/conf/userconfig.xml`);
      return { name, release: currentRelease(name, env) ?? 0, config: r.ok ? r.value : null };
    });
}

function others(name: string, env: Env): InstalledModule[] {
  return listInstalled(env).flatMap((m) => (m.name !== name && m.config ? [{ name: m.name, config: m.config }] : []));
}

function currentRelease(name: string, env: Env): number | null {
  try {
    const target = fs.readlinkSync(moduleDir(name, env));
    const seq = Number(path.basename(target));
    return Number.isInteger(seq) ? seq : null;
  } catch {
    return null;
  }
}

function releases(name: string, env: Env): number[] {
  const dir = releasesDir(name, env);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((n) => /^[0-9]+$/.test(n)).map(Number).sort((a, b) => a - b);
}

/** Validates a .safe file or a module directory without installing it. */
export async function validateModule(source: string, name: string | undefined, env: Env = process.env): Promise<{ name: string; config: DeepReadonlyUserConfig }> {
  const isDir = fs.existsSync(source) && fs.statSync(source).isDirectory();
  const modName = checkModuleName(name ?? path.basename(source.replace(/\/+$/, ''), '.safe'));
  const cluster = installedCluster(env);
  if (isDir) return { name: modName, config: checkOrThrow(source, modName, cluster, env) };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-safe-'));
  try {
    await unpackSafe(source, tmp);
    return { name: modName, config: checkOrThrow(tmp, modName, cluster, env) };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function checkOrThrow(dir: string, name: string, cluster: DeepReadonlyClusterConfig | null, env: Env): DeepReadonlyUserConfig {
  const r = checkModuleDir(dir, { name, cluster, others: others(name, env) });
  if (!r.ok) throw new ConfigIssuesError(r.errors);
  return r.config;
}

export async function installModule(file: string, name: string | undefined, env: Env = process.env): Promise<{ name: string; release: number }> {
  const modName = checkModuleName(name ?? path.basename(file, '.safe'));
  const cluster = installedCluster(env);
  if (!cluster) throw new HakitError('HAKIT_E_CONF_NO_CLUSTER', `install cluster.xml first (hakit cluster config FILE); looked for ${clusterXmlPath(env)}`, 'module install');
  fs.mkdirSync(stagingDir(env), { recursive: true, mode: 0o700 });
  const tmp = fs.mkdtempSync(path.join(stagingDir(env), `${modName}-`));
  try {
    await unpackSafe(file, tmp);
    checkOrThrow(tmp, modName, cluster, env);
    fs.chmodSync(tmp, 0o755);
    fs.mkdirSync(releasesDir(modName, env), { recursive: true, mode: 0o755 });
    // Installs of one module may run at once on a node (hakitd's API and config service, the
    // CLI): they take turns for the short part that numbers, links and prunes releases.
    return await withStoreLock(modName, env, () => {
      const seq = claimRelease(tmp, modName, env);
      pointAt(modName, seq, env);
      prune(modName, env);
      return { name: modName, release: seq };
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** How many numbers past the highest one an install tries before giving up (each taken by a concurrent install). */
const CLAIM_TRIES = 64;

/**
 * Moves the staged release to the next free number. The rename is the claim: renaming a
 * directory onto an existing (non-empty) release fails, so two installs can never share a
 * number even without the lock (a store on a file system without working locks, say).
 */
function claimRelease(staged: string, name: string, env: Env): number {
  const first = Math.max(0, ...releases(name, env)) + 1;
  for (let seq = first; seq < first + CLAIM_TRIES; seq++) {
    try {
      fs.renameSync(staged, path.join(releasesDir(name, env), String(seq)));
      return seq;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw new HakitError('HAKIT_E_MOD_IO', `cannot move the staged release: ${code ?? String(e)}`, 'module store');
    }
  }
  throw new HakitError('HAKIT_E_MOD_IO', `cannot move the staged release: releases ${first}..${first + CLAIM_TRIES - 1} are all taken`, 'module store');
}

/** Longest wait for another install or rollback of the same module on this node. */
export const STORE_LOCK_WAIT_MS = 10_000;
const STORE_LOCK_POLL_MS = 5;

/** Whether a process of this pid still runs (EPERM: it runs under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` holding `<state>/releases/.NAME.lock`, a file created exclusively with the
 * holder's pid. The sections it guards are synchronous and short (a rename, a symlink, a
 * prune); a waiter sleeps in small asynchronous steps (never blocking hakitd's event loop,
 * whose heartbeats must go on), and a lock whose holder died is taken over.
 */
async function withStoreLock<T>(name: string, env: Env, fn: () => T): Promise<T> {
  const file = path.join(path.dirname(releasesDir(name, env)), `.${name}.lock`);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  const token = `${process.pid} ${Math.random().toString(36).slice(2)}`;
  // HAKIT_STORE_LOCK_WAIT_MS shortens the wait for tests (the store's other paths come from env too).
  const wait_ms = Number(env['HAKIT_STORE_LOCK_WAIT_MS'] ?? STORE_LOCK_WAIT_MS);
  const deadline = Date.now() + wait_ms;
  for (;;) {
    try {
      fs.writeFileSync(file, token, { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new HakitError('HAKIT_E_MOD_IO', `cannot create the store lock ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'module store');
    }
    let holder: string;
    try {
      holder = fs.readFileSync(file, 'utf8');
    } catch {
      continue; // released meanwhile
    }
    const pid = Number(holder.split(' ')[0]);
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) {
      fs.rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new HakitError('HAKIT_E_MOD_BUSY', `another install or rollback of module ${name} (pid ${holder.split(' ')[0] || '?'}) held the store for over ${wait_ms} ms`, 'module store');
    await new Promise((resolve) => setTimeout(resolve, STORE_LOCK_POLL_MS));
  }
  try {
    return fn();
  } finally {
    // Only our own lock is removed (a waiter may have judged it stale and taken it over).
    try {
      if (fs.readFileSync(file, 'utf8') === token) fs.rmSync(file, { force: true });
    } catch {
      /* already gone */
    }
  }
}

/** Atomically makes modules/NAME point at release `seq`. */
function pointAt(name: string, seq: number, env: Env): void {
  fs.mkdirSync(modulesDir(env), { recursive: true, mode: 0o755 });
  const link = moduleDir(name, env);
  // Unique per call: two processes (or two calls of one) never share the temporary link.
  const tmpLink = path.join(modulesDir(env), `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}.link`);
  const target = path.relative(modulesDir(env), path.join(releasesDir(name, env), String(seq)));
  io(() => {
    fs.rmSync(tmpLink, { force: true });
    fs.symlinkSync(target, tmpLink);
    fs.renameSync(tmpLink, link);
  }, 'cannot switch the module link');
}

/** Keeps the applied release and the HISTORY_KEEP newest earlier ones. */
function prune(name: string, env: Env): void {
  const current = currentRelease(name, env);
  const earlier = releases(name, env).filter((s) => s !== current);
  for (const seq of earlier.slice(0, Math.max(0, earlier.length - HISTORY_KEEP))) {
    fs.rmSync(path.join(releasesDir(name, env), String(seq)), { recursive: true, force: true });
  }
}

/** A module is uninstalled only when its hakitd runs it nowhere here (`state`: its state there,
 *  null when hakitd is not running or does not host it): its stop scripts leave with its
 *  release, so nothing could stop the application any more (SafeKit, too, uninstalls only a
 *  stopped module). */
export function checkUninstallable(name: string, state: string | null): void {
  if (state !== null && state !== 'STOP') throw new HakitError('HAKIT_E_MOD_RUNNING', `module ${name} is ${state} on this node: stop it first (hakit stop -m ${name}), then uninstall it`, 'module uninstall');
}

export function uninstallModule(name: string, env: Env = process.env): { backup: string } {
  checkModuleName(name);
  if (currentRelease(name, env) === null) throw new HakitError('HAKIT_E_MOD_NOT_INSTALLED', `module ${name} is not installed`, 'module uninstall');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const backup = path.join(backupDir(env), `${name}-${stamp}`);
  io(() => {
    fs.mkdirSync(backupDir(env), { recursive: true, mode: 0o700 });
    fs.unlinkSync(moduleDir(name, env));
    fs.renameSync(releasesDir(name, env), backup);
  }, 'cannot move the module to its backup');
  return { backup };
}

/** The releases kept of an installed module (oldest first), which one is applied, and their folders. */
export function keptReleases(name: string, env: Env = process.env): { release: number; applied: boolean; dir: string }[] {
  checkModuleName(name);
  const current = currentRelease(name, env);
  if (current === null) throw new HakitError('HAKIT_E_MOD_NOT_INSTALLED', `module ${name} is not installed`, 'module');
  return releases(name, env).map((seq) => ({ release: seq, applied: seq === current, dir: path.join(releasesDir(name, env), String(seq)) }));
}

/** Re-applies the release before the applied one, or release `to` when given (one of the kept ones). */
export async function rollbackModule(name: string, env: Env = process.env, to?: number): Promise<{ release: number }> {
  checkModuleName(name);
  const current = currentRelease(name, env);
  if (current === null) throw new HakitError('HAKIT_E_MOD_NOT_INSTALLED', `module ${name} is not installed`, 'module rollback');
  const previous = to !== undefined ? releases(name, env).find((s) => s === to && s !== current) : releases(name, env).filter((s) => s < current).pop();
  if (previous === undefined) throw new HakitError('HAKIT_E_MOD_NO_HISTORY', to !== undefined ? `module ${name} has no kept config ${to} other than the applied one (${current})` : `module ${name} has no earlier applied config`, 'module rollback');
  checkOrThrow(path.join(releasesDir(name, env), String(previous)), name, installedCluster(env), env);
  await withStoreLock(name, env, () => pointAt(name, previous, env));
  return { release: previous };
}

export async function packageInstalled(name: string, outFile: string, env: Env = process.env): Promise<void> {
  checkModuleName(name);
  if (currentRelease(name, env) === null) throw new HakitError('HAKIT_E_MOD_NOT_INSTALLED', `module ${name} is not installed`, 'module package');
  await packModule(fs.realpathSync(moduleDir(name, env)), outFile);
}

function io(fn: () => void, what: string): void {
  try {
    fn();
  } catch (e) {
    throw new HakitError('HAKIT_E_MOD_IO', `${what}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'module store');
  }
}
