// The Configuration routes (contract/config-routes.ts). Every change goes through the module
// store's own install, which stages and checks a release and swaps one link
// (modules/store/module-store.ts), then hakitd's reload (no restart); other nodes get the
// package through their config service, exactly as `hakit module install --all-nodes` sends
// it (core/cluster/push.ts). A package is checked on this node before anything changes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HakitError, isHakitError } from '../../errors/catalogue';
import { ConfigIssuesError, loadUserConfig } from '../../config/load';
import { moduleDir } from '../../config/paths';
import type { ReloadReport } from '../../control/api';
import { pushModule } from '../../cluster/push';
import { installedCluster, installModule, keptReleases, packageInstalled, rollbackModule, validateModule } from '../../../modules/store/module-store';
import { packModule } from '../../../modules/safe/pack';
import { unpackSafe } from '../../../modules/safe/unpack';
import { setMacros } from '../../../modules/safe/with-macros';
import { macroLines, macrosOf, MACROS_MAX, type ConfigMacro } from '../contract/pure/config-macros';
import { CONFIG_PACKAGE_MAX_BYTES, type ConfigApplied, type ConfigCheck, type ConfigHistory, type ConfigInstallOutcome, type ConfigIssueInfo, type ConfigNodeResult, type FileDownload, type UserconfigText } from '../contract/pure/config-types';
import { issueInfo, messageWithoutWhere } from '../pure/config-issues';
import type { ApiBackend } from './backend';
import type { Handler, Outcome, RouteContext } from './handlers';
import { buildSupportSnapshot } from './support-snapshot';

/** The name an uploaded package is unpacked under, so its own problems have no file inside the module. */
const UPLOAD_NAME = 'upload.safe';
const USERCONFIG_REL = path.join('conf', 'userconfig.xml');

/** A module's problems as an API error: the first as `error`, all of them as `error.issues`. */
export class ConfigProblemError extends HakitError {
  constructor(readonly api_issues: readonly ConfigIssueInfo[]) {
    const first = api_issues[0] ?? { code: 'HAKIT_E_INTERNAL', file: '', line: null, message: 'no issue given' };
    const where = first.file ? `${first.file}${first.line !== null ? `:${first.line}` : ''}` : undefined;
    const more = api_issues.length > 1 ? ` (and ${api_issues.length - 1} more)` : '';
    super(first.code as HakitError['code'], `${first.message}${more}`, where);
  }
}

export interface ConfigHandlerDeps {
  readonly backend: ApiBackend;
  /** HAKIT_CONF_DIR / HAKIT_STATE_DIR of the module store this node uses. */
  readonly env: NodeJS.ProcessEnv;
  readonly product_version: string;
  readonly now_ms: () => number;
  readonly onNode: (local: (ctx: RouteContext) => Promise<Outcome>) => Handler;
  readonly audited: (action: string, f: (ctx: RouteContext) => Promise<Outcome>) => Handler;
  /** Sends the package to these peers' config services (push.ts); a port so that tests may fake peers. */
  readonly push?: (module: string, file: string, nodes: readonly string[]) => Promise<{ node: string; ok: boolean; detail: string }[]>;
}

const ok = (body: unknown): Outcome => ({ kind: 'ok', body });

/** Every problem of a failed check, whatever threw it. */
function issuesOf(e: unknown, module: string): ConfigIssueInfo[] {
  if (e instanceof ConfigIssuesError) return e.issues.map((i) => issueInfo(i, module, UPLOAD_NAME));
  if (isHakitError(e)) return [issueInfo({ code: e.code, where: e.where ?? '', message: messageWithoutWhere(e.message, e.where) }, module, UPLOAD_NAME)];
  throw e;
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-api-config-'));
}

function decodePackage(b64: string): Buffer {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length > CONFIG_PACKAGE_MAX_BYTES) throw new HakitError('HAKIT_E_API_PACKAGE_TOO_BIG', `the package is ${bytes.length} bytes, at most ${CONFIG_PACKAGE_MAX_BYTES}`, 'API request');
  return bytes;
}

function readUserconfig(dir: string): string | null {
  try {
    return fs.readFileSync(path.join(dir, USERCONFIG_REL), 'utf8');
  } catch {
    return null;
  }
}

function writeUserconfig(dir: string, text: string): void {
  fs.mkdirSync(path.join(dir, 'conf'), { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(dir, USERCONFIG_REL), text, { mode: 0o600 });
}

function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const n of fs.readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    if (fs.lstatSync(path.join(dir, r)).isDirectory()) out.push(...listFiles(dir, r));
    else out.push(r);
  }
  return out;
}

function detailOf(report: ReloadReport | null, module: string): string {
  if (report === null) return 'installed';
  return report.modules_pending.find((p) => p.module === module)?.reason ?? 'installed and reloaded';
}

export function makeConfigHandlers(d: ConfigHandlerDeps): Record<string, Handler> {
  const me = d.backend.node;
  const env = d.env;

  const reload = async (module: string): Promise<string> => {
    try {
      return detailOf((await d.backend.call('reload', {})) as ReloadReport, module);
    } catch (e) {
      return `installed; hakitd did not reload (${isHakitError(e) ? e.code : String(e)}): run hakit cluster reload`;
    }
  };

  /**
   * Unpacks the package (and the edited userconfig.xml over its own) into a fresh folder and
   * checks it as this node would install it. `f` runs on the checked folder; the folder is
   * removed afterwards whatever happens.
   */
  const withChecked = async <T>(
    module: string,
    b64: string,
    userconfig: string | undefined,
    macros: string | undefined,
    f: (dir: string, mode: string, tmp: string, defaults: ConfigMacro[]) => Promise<T>,
    onIssues: (issues: ConfigIssueInfo[], dir: string | null, defaults: ConfigMacro[]) => T,
  ): Promise<T> => {
    const bytes = decodePackage(b64);
    const tmp = tempDir();
    const dir = path.join(tmp, module);
    try {
      const file = path.join(tmp, UPLOAD_NAME);
      fs.writeFileSync(file, bytes, { mode: 0o600 });
      fs.mkdirSync(dir, { mode: 0o700 });
      try {
        await unpackSafe(file, dir);
      } catch (e) {
        return onIssues(issuesOf(e, module), null, []);
      }
      if (userconfig !== undefined) writeUserconfig(dir, userconfig);
      const defaults = macrosOf(readUserconfig(dir) ?? '');
      if (macros !== undefined) {
        const problem = applyMacros(dir, macroLines(macros));
        if (problem) return onIssues([problem], dir, defaults);
      }
      let mode: string;
      try {
        mode = (await validateModule(dir, module, env)).config.service.mode;
      } catch (e) {
        return onIssues(issuesOf(e, module), dir, defaults);
      }
      return await f(dir, mode, tmp, defaults);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  };

  /** Sets the macros as `hakit module install --macro` does (its own code, so its own errors); the problem, or null when set. */
  const applyMacros = (dir: string, lines: readonly string[]): ConfigIssueInfo | null => {
    const issue = (code: string, message: string): ConfigIssueInfo => ({ code, file: USERCONFIG_REL, line: null, message: `--macro: ${message}` });
    if (lines.length === 0) return null;
    if (lines.length > MACROS_MAX) return issue('HAKIT_E_USAGE', `at most ${MACROS_MAX} macros, not ${lines.length}`);
    const text = readUserconfig(dir);
    if (text === null) return issue('HAKIT_E_MOD_NO_USERCONFIG', 'the module has no conf/userconfig.xml to set macros in');
    try {
      writeUserconfig(dir, setMacros(text, lines));
      return null;
    } catch (e) {
      if (!isHakitError(e)) throw e;
      return issue(e.code, messageWithoutWhere(e.message, e.where));
    }
  };

  const refuse = (issues: ConfigIssueInfo[]): never => {
    throw new ConfigProblemError(issues);
  };

  const checkNodes = (list: string): string[] => {
    const names = [...new Set(list.split(','))];
    const known = new Set(d.backend.nodes().map((n) => n.name));
    const unknown = names.filter((n) => !known.has(n));
    if (unknown.length > 0) throw new HakitError('HAKIT_E_API_NOT_FOUND', `no node ${unknown.map((n) => `"${n}"`).join(', ')} in cluster.xml`, 'API request');
    return names;
  };

  const push =
    d.push ??
    (async (module: string, file: string, nodes: readonly string[]) => {
      const cluster = installedCluster(env);
      if (cluster === null) throw new HakitError('HAKIT_E_CONF_NO_CLUSTER', 'this node has no cluster.xml', 'module install');
      return pushModule(cluster, me, module, file, nodes);
    });

  const installOn = async (module: string, file: string, nodes: readonly string[]): Promise<ConfigNodeResult[]> => {
    const results: ConfigNodeResult[] = [];
    if (nodes.includes(me)) {
      try {
        const r = await installModule(file, module, env);
        results.push({ node: me, ok: true, release: r.release, detail: await reload(module), error: null });
      } catch (e) {
        if (!isHakitError(e)) throw e;
        results.push({ node: me, ok: false, release: null, detail: 'not installed', error: { code: e.code, message: e.message } });
      }
    }
    const peers = nodes.filter((n) => n !== me);
    if (peers.length > 0) {
      for (const p of await push(module, file, peers)) {
        const release = /^release (\d+)/.exec(p.detail);
        results.push({ node: p.node, ok: p.ok, release: release ? Number(release[1]) : null, detail: p.detail, error: p.ok ? null : { code: 'HAKIT_E_CONFIG_PUSH', message: p.detail } });
      }
    }
    return results;
  };

  const applied = (module: string): { release: number; dir: string } => {
    const a = keptReleases(module, env).find((r) => r.applied);
    if (!a) throw new HakitError('HAKIT_E_MOD_NOT_INSTALLED', `module ${module} is not installed`, `node ${me}`);
    return a;
  };

  const releaseInfo = (r: { release: number; applied: boolean; dir: string }): ConfigHistory['releases'][number] => {
    const uc = path.join(r.dir, USERCONFIG_REL);
    let sha: string | null = null;
    let mode: string | null = null;
    try {
      sha = crypto.createHash('sha256').update(fs.readFileSync(uc)).digest('hex');
      const loaded = loadUserConfig(uc, 'userconfig.xml');
      mode = loaded.ok ? loaded.value.service.mode : null;
    } catch {
      // An unreadable release is still listed: the admin sees it, a rollback to it is refused by the check.
    }
    return { release: r.release, applied: r.applied, installed_at: new Date(fs.statSync(r.dir).mtimeMs).toISOString(), userconfig_sha256: sha, mode };
  };

  return {
    'config-check': async (ctx) => {
      const module = ctx.params['module'] as string;
      const userconfig = ctx.body['userconfig'] as string | undefined;
      const r = await withChecked<ConfigCheck>(
        module,
        ctx.body['safe_b64'] as string,
        userconfig,
        ctx.body['macros'] as string | undefined,
        async (dir, mode, _tmp, macros) => ({ module, ok: true, checked_by: me, mode, issues: [], userconfig: readUserconfig(dir), files: listFiles(dir), macros }),
        (issues, dir, macros) => ({ module, ok: false, checked_by: me, mode: null, issues, userconfig: dir ? readUserconfig(dir) : null, files: dir ? listFiles(dir) : [], macros }),
      );
      return ok(r);
    },

    'config-install': d.audited('module-install', async (ctx) => {
      const module = ctx.params['module'] as string;
      const nodes = checkNodes(ctx.body['nodes'] as string);
      const results = await withChecked(
        module,
        ctx.body['safe_b64'] as string,
        ctx.body['userconfig'] as string | undefined,
        ctx.body['macros'] as string | undefined,
        async (dir, _mode, tmp) => {
          // Repacked from the checked folder: every node gets exactly what was checked here.
          const file = path.join(tmp, `${module}.safe`);
          await packModule(dir, file);
          return installOn(module, file, nodes);
        },
        refuse,
      );
      const r: ConfigInstallOutcome = { module, results };
      const failed = results.filter((x) => !x.ok);
      // Each node's result is in the answer; the audit record says when one did not take it.
      if (failed.length > 0) return { kind: 'ok', body: r, audit_error: { code: 'HAKIT_E_CONFIG_PUSH', message: failed.map((f) => `${f.node}: ${f.error?.message ?? f.detail}`).join('; ') } };
      return ok(r);
    }),

    'userconfig-get': d.onNode(async (ctx) => {
      const module = ctx.params['module'] as string;
      const a = applied(module);
      const text = readUserconfig(a.dir);
      if (text === null) throw new HakitError('HAKIT_E_MOD_NO_USERCONFIG', `module ${module} has no conf/userconfig.xml`, `node ${me}`);
      const r: UserconfigText = { node: me, module, release: a.release, text };
      return ok(r);
    }),

    'userconfig-put': d.onNode(
      d.audited('userconfig', async (ctx) => {
        const module = ctx.params['module'] as string;
        const a = applied(module);
        const tmp = tempDir();
        try {
          const dir = path.join(tmp, module);
          fs.cpSync(fs.realpathSync(a.dir), dir, { recursive: true });
          writeUserconfig(dir, ctx.body['text'] as string);
          try {
            await validateModule(dir, module, env);
          } catch (e) {
            refuse(issuesOf(e, module));
          }
          const file = path.join(tmp, `${module}.safe`);
          await packModule(dir, file);
          const r = await installModule(file, module, env);
          const out: ConfigApplied = { node: me, module, release: r.release, detail: await reload(module) };
          return ok(out);
        } finally {
          fs.rmSync(tmp, { recursive: true, force: true });
        }
      }),
    ),

    'config-history': d.onNode(async (ctx) => {
      const module = ctx.params['module'] as string;
      const releases = keptReleases(module, env).map(releaseInfo).sort((a, b) => b.release - a.release);
      const r: ConfigHistory = { node: me, module, releases };
      return ok(r);
    }),

    'config-rollback': d.onNode(
      d.audited('module-rollback', async (ctx) => {
        const module = ctx.params['module'] as string;
        const release = ctx.body['release'] as number;
        const kept = keptReleases(module, env);
        if (!kept.some((r) => r.release === release)) throw new HakitError('HAKIT_E_API_NO_RELEASE', `module ${module} keeps configurations ${kept.map((r) => r.release).join(', ')} on ${me}, not ${release}`, `node ${me}`);
        try {
          await rollbackModule(module, env, release);
        } catch (e) {
          if (e instanceof ConfigIssuesError) refuse(issuesOf(e, module));
          throw e;
        }
        const out: ConfigApplied = { node: me, module, release, detail: await reload(module) };
        return ok(out);
      }),
    ),

    'module-package': d.onNode(async (ctx) => {
      const module = ctx.params['module'] as string;
      const a = applied(module);
      const tmp = tempDir();
      try {
        const file = path.join(tmp, `${module}.safe`);
        await packageInstalled(module, file, env);
        const bytes = fs.readFileSync(file);
        const r: FileDownload = { node: me, file_name: `${module}-${me}-release${a.release}.safe`, media_type: 'application/zip', size_bytes: bytes.length, content_b64: bytes.toString('base64') };
        return ok(r);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    }),

    'support-snapshot': d.onNode(async (ctx) => {
      const module = ctx.query['module'] as string | undefined;
      if (module !== undefined) applied(module);
      const modules = module !== undefined ? [module] : installedModuleNames(env);
      const bytes = await buildSupportSnapshot({ backend: d.backend, env, modules, product_version: d.product_version, now_ms: d.now_ms });
      const stamp = new Date(d.now_ms()).toISOString().replace(/[:.]/g, '-');
      const r: FileDownload = { node: me, file_name: `hakit-snapshot-${me}${module ? `-${module}` : ''}-${stamp}.zip`, media_type: 'application/zip', size_bytes: bytes.length, content_b64: bytes.toString('base64') };
      return ok(r);
    }),
  };
}

function installedModuleNames(env: NodeJS.ProcessEnv): string[] {
  const dir = path.dirname(moduleDir('x', env));
  try {
    return fs.readdirSync(dir).filter((n) => /^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(n)).sort();
  } catch {
    return [];
  }
}
