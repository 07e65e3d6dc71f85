// Reads cluster.xml and every installed module (`<state>/modules/NAME/conf/userconfig.xml`)
// through the config loader. cluster.xml must be valid for the daemon to run; a module whose
// config is invalid is left out with its issues logged, the others still run.
import fs from 'node:fs';
import path from 'node:path';
import { formatIssues, issuesToError, loadClusterConfig, loadUserConfig } from '../config/load';
import { crossCheckCluster } from '../config/pure/cross-check';
import type { DeepReadonlyClusterConfig, DeepReadonlyUserConfig } from '../config/pure/types-frozen';
import type { LogSink } from '../log/sink';
import { planModule, type ModulePlan } from './module-plan';

/** Installed modules one daemon hosts at most. */
export const MAX_MODULES = 64;
const MODULE_DIR_NAME = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;

export function loadCluster(conf_dir: string): DeepReadonlyClusterConfig {
  const r = loadClusterConfig(path.join(conf_dir, 'cluster.xml'), 'cluster.xml', conf_dir);
  if (!r.ok) throw issuesToError(r.errors);
  return r.value;
}

export interface LoadedModule {
  readonly plan: ModulePlan;
  readonly config: DeepReadonlyUserConfig;
  /** The release `<state>/modules/NAME` pointed to when loaded (its real path), holding conf/
   *  and bin/: the scripts run are those of the config loaded, even once another release is
   *  installed (applied when the module stops, by its old release's stop scripts). */
  readonly dir: string;
}

export interface NotLoaded {
  readonly module: string;
  readonly reason: string;
}

/** `not_loaded` collects the modules left out and why, for `hakit state`. */
export function loadModules(modules_dir: string, cluster: DeepReadonlyClusterConfig, self: string, log: LogSink, not_loaded: NotLoaded[] = []): LoadedModule[] {
  if (!fs.existsSync(modules_dir)) return [];
  const out: LoadedModule[] = [];
  for (const name of fs.readdirSync(modules_dir).sort()) {
    if (!MODULE_DIR_NAME.test(name)) continue;
    if (out.length >= MAX_MODULES) {
      log.error({ module: name, limit: MAX_MODULES }, 'too many modules installed: this one is not loaded');
      not_loaded.push({ module: name, reason: `more than ${MAX_MODULES} modules installed` });
      continue;
    }
    let dir: string;
    try {
      dir = fs.realpathSync(path.join(modules_dir, name));
    } catch (e) {
      // Uninstalled (or its link broken) between the listing and now.
      log.error({ module: name, err: (e as NodeJS.ErrnoException).code ?? String(e) }, 'module not loaded: its folder cannot be resolved');
      not_loaded.push({ module: name, reason: `its folder cannot be resolved (${(e as NodeJS.ErrnoException).code ?? String(e)})` });
      continue;
    }
    const file = path.join(dir, 'conf', 'userconfig.xml');
    const shown = `${name}/conf/userconfig.xml`;
    const r = loadUserConfig(file, shown);
    if (!r.ok) {
      log.error({ module: name, issues: formatIssues(r.errors) }, 'module not loaded: its userconfig.xml is invalid');
      not_loaded.push({ module: name, reason: formatIssues(r.errors) });
      continue;
    }
    const issues = crossCheckCluster(r.value, cluster, shown);
    if (issues.length > 0) {
      log.error({ module: name, issues: formatIssues(issues) }, 'module not loaded: its userconfig.xml does not match cluster.xml');
      not_loaded.push({ module: name, reason: formatIssues(issues) });
      continue;
    }
    const plan = planModule(name, r.value, cluster);
    if (!plan.policy.nodes.includes(self)) {
      log.info({ module: name, nodes: plan.policy.nodes }, 'module installed but this node is not one of its nodes: not loaded');
      continue;
    }
    out.push({ plan, config: r.value, dir });
  }
  return out;
}
