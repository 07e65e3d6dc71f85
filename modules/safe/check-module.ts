// Validates an unpacked module directory: layout, userconfig.xml, the scripts it needs,
// and (when given) cluster.xml and the other installed modules. Collects every issue.
import fs from 'node:fs';
import path from 'node:path';
import { loadUserConfig } from '../../core/config/load';
import { crossCheckCluster, crossCheckModules, type InstalledModule } from '../../core/config/pure/cross-check';
import type { DeepReadonlyClusterConfig, DeepReadonlyUserConfig } from '../../core/config/pure/types-frozen';
import type { ConfigIssue } from '../../core/config/pure/xml-tree';
import { isHakitError } from '../../core/errors/catalogue';
import { listModuleFiles } from './pack';

export interface ModuleCheckContext {
  readonly name: string;
  readonly cluster: DeepReadonlyClusterConfig | null;
  readonly others: readonly InstalledModule[];
}

export type ModuleCheck = { readonly ok: true; readonly config: DeepReadonlyUserConfig } | { readonly ok: false; readonly errors: readonly ConfigIssue[] };

export function checkModuleDir(dir: string, ctx: ModuleCheckContext): ModuleCheck {
  const shown = `${ctx.name}/conf/userconfig.xml`;
  try {
    listModuleFiles(dir);
  } catch (e) {
    if (isHakitError(e)) return { ok: false, errors: [{ code: e.code, where: ctx.name, message: e.where ? e.message.slice(e.where.length + 2) : e.message }] };
    throw e;
  }
  const ucPath = path.join(dir, 'conf', 'userconfig.xml');
  if (!fs.existsSync(ucPath)) return { ok: false, errors: [{ code: 'HAKIT_E_MOD_NO_USERCONFIG', where: ctx.name, message: 'conf/userconfig.xml is missing' }] };
  const loaded = loadUserConfig(ucPath, shown);
  if (!loaded.ok) return loaded;
  const config = loaded.value;
  const issues: ConfigIssue[] = [...checkScripts(dir, config, shown)];
  if (ctx.cluster) issues.push(...crossCheckCluster(config, ctx.cluster, shown));
  issues.push(...crossCheckModules(ctx.name, config, ctx.others, shown));
  return issues.length > 0 ? { ok: false, errors: issues } : { ok: true, config };
}

function checkScripts(dir: string, config: DeepReadonlyUserConfig, shown: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const check = (rel: string, required: boolean): void => {
    const abs = path.join(dir, 'bin', rel);
    const line = config.lines[`exec/${rel}`];
    const where = line !== undefined ? `${shown}:${line} <custom exec="${rel}">` : `${shown.split('/')[0] ?? ''}/bin/${rel}`;
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      if (required) issues.push({ code: 'HAKIT_E_MOD_SCRIPT_MISSING', where, message: `bin/${rel} is needed by a ${config.service.mode} module (or named by the config) but is missing` });
      return;
    }
    if (!st.isFile()) issues.push({ code: 'HAKIT_E_MOD_SCRIPT_MISSING', where, message: `bin/${rel} is not a regular file` });
    else if ((st.mode & 0o100) === 0) issues.push({ code: 'HAKIT_E_MOD_SCRIPT_NOT_EXEC', where, message: `bin/${rel} is not executable (chmod +x)` });
  };
  const required = new Set(config.scripts.required);
  for (const rel of required) check(rel, true);
  for (const rel of config.scripts.optional) if (!required.has(rel)) check(rel, false);
  return issues;
}
