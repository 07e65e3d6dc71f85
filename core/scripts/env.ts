// The environment a module script sees. Userconfig variables come first so that they can
// never override the HAKIT_* variables the script relies on.
export interface ScriptContext {
  readonly module: string;
  readonly node: string;
  readonly from_state: string;
  readonly to_state: string;
  readonly action: string;
  readonly module_dir?: string;
  readonly user_vars?: Readonly<Record<string, string>>;
}

export function scriptEnv(ctx: ScriptContext): Record<string, string> {
  return {
    ...(ctx.user_vars ?? {}),
    HAKIT_MODULE: ctx.module,
    HAKIT_NODE: ctx.node,
    HAKIT_FROM_STATE: ctx.from_state,
    HAKIT_TO_STATE: ctx.to_state,
    HAKIT_ACTION: ctx.action,
    ...(ctx.module_dir ? { HAKIT_MODULE_DIR: ctx.module_dir } : {}),
  };
}

/** Variables of the daemon's own environment that scripts get; nothing else leaks into them
 * (an admin's SSH agent, systemd's credentials or notify socket stay with the daemon). */
const INHERITED_NAMES: ReadonlySet<string> = new Set(['PATH', 'LANG', 'LANGUAGE', 'TZ', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR']);
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The part of the daemon's environment a module script or checker inherits: the allowlist
 * above, the locale (LC_*), and hakit's own HAKIT_* settings (directories, node binary). */
export function inheritedEnv(parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = { PATH: DEFAULT_PATH, HOME: '/root' };
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined) continue;
    if (INHERITED_NAMES.has(name) || name.startsWith('LC_') || name.startsWith('HAKIT_')) env[name] = value;
  }
  return env;
}
