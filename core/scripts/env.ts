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
