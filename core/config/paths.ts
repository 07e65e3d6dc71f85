// Where hakit keeps its files. Every other part asks here; tests point the environment
// variables at private temp dirs.
import path from 'node:path';

export const DEFAULT_CONF_DIR = '/etc/hakit';
export const DEFAULT_STATE_DIR = '/var/lib/hakit';
export const DEFAULT_RUN_DIR = '/run/hakit';
/** Applied configs kept per module for `hakit module rollback`. */
export const HISTORY_KEEP = 3;

export function confDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env['HAKIT_CONF_DIR'] || DEFAULT_CONF_DIR);
}
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env['HAKIT_STATE_DIR'] || DEFAULT_STATE_DIR);
}
export function runDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env['HAKIT_RUN_DIR'] || DEFAULT_RUN_DIR);
}
export const clusterXmlPath = (env?: NodeJS.ProcessEnv) => path.join(confDir(env), 'cluster.xml');
export const modulesDir = (env?: NodeJS.ProcessEnv) => path.join(stateDir(env), 'modules');
/** `<state>/modules/NAME`: a symbolic link to the applied release, holding `conf/` and `bin/`.
 * Installing or rolling back swaps the link with one rename, so readers never see half a module. */
export const moduleDir = (name: string, env?: NodeJS.ProcessEnv) => path.join(modulesDir(env), name);
/** `<state>/releases/NAME/<seq>/`: the applied release and up to HISTORY_KEEP earlier ones. */
export const releasesDir = (name: string, env?: NodeJS.ProcessEnv) => path.join(stateDir(env), 'releases', name);
/** Backups left by `module uninstall`: `<state>/backup/NAME-<stamp>/`. */
export const backupDir = (env?: NodeJS.ProcessEnv) => path.join(stateDir(env), 'backup');
/** Staging area of installs, on the same file system as releases/ so that rename works. */
export const stagingDir = (env?: NodeJS.ProcessEnv) => path.join(stateDir(env), 'staging');
