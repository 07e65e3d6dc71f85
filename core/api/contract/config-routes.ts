// The Configuration routes (admin only): check and install a module package on chosen nodes,
// read and replace a module's userconfig.xml, its last configurations and a rollback, and
// downloads (the module as .safe, a support snapshot). Spread into ROUTES (routes.ts).
import type { RouteSpec } from './routes';
import { NAME_PATTERN, S, obj, type JsonSchema } from './pure/schema';
import { MACROS_FIELD_MAX_CHARS } from './pure/config-macros';
import { CONFIG_PACKAGE_BODY_MAX_BYTES, CONFIG_PACKAGE_MAX_BYTES, CONFIG_USERCONFIG_BODY_MAX_BYTES, CONFIG_USERCONFIG_MAX_CHARS } from './pure/config-types';

const NODE_NAME = NAME_PATTERN.slice(1, -1);
const NODE_MODULE = { node: S.node, module: S.module };

const SAFE_B64: JsonSchema = { type: 'string', pattern: '^[A-Za-z0-9+/]*={0,2}$', minLength: 4, maxLength: CONFIG_PACKAGE_BODY_MAX_BYTES, description: `the .safe (zip) file, base64; at most ${CONFIG_PACKAGE_MAX_BYTES} bytes once decoded` };
const USERCONFIG: JsonSchema = { type: 'string', minLength: 1, maxLength: CONFIG_USERCONFIG_MAX_CHARS, description: 'conf/userconfig.xml text' };
const MACROS: JsonSchema = { type: 'string', maxLength: MACROS_FIELD_MAX_CHARS, description: 'NAME=VALUE lines, one per line: each sets a <macro> of userconfig.xml, as `hakit module install --macro NAME=VALUE` does' };
const NODES: JsonSchema = { type: 'string', pattern: `^${NODE_NAME}(,${NODE_NAME}){0,63}$`, maxLength: 4096, description: 'node names, comma-separated' };

function c(id: string, method: RouteSpec['method'], path: string, summary: string, response: string, more: Partial<Pick<RouteSpec, 'params' | 'query' | 'body' | 'audited' | 'max_body_bytes'>> = {}): RouteSpec {
  return { id, method, path, access: 'admin', summary, response, params: more.params ?? NODE_MODULE, query: more.query ?? obj({}), body: more.body, audited: more.audited ?? method !== 'GET', max_body_bytes: more.max_body_bytes };
}

export const CONFIG_ROUTES: readonly RouteSpec[] = [
  c('config-check', 'POST', '/modules/:module/check', 'Check a module package (and an edited userconfig.xml, and macros set) on this node: every problem with its file and line, the macros it defines; nothing changes', 'ConfigCheck', {
    params: { module: S.module },
    body: obj({ safe_b64: SAFE_B64, userconfig: USERCONFIG, macros: MACROS }, ['safe_b64']),
    audited: false,
    max_body_bytes: CONFIG_PACKAGE_BODY_MAX_BYTES,
  }),
  c('config-install', 'POST', '/modules/:module/install', 'Install a module package (with an edited userconfig.xml, and macros set) on the nodes chosen, each reloading without a restart; checked first, nothing changes when invalid', 'ConfigInstallOutcome', {
    params: { module: S.module },
    body: obj({ safe_b64: SAFE_B64, userconfig: USERCONFIG, macros: MACROS, nodes: NODES }, ['safe_b64', 'nodes']),
    max_body_bytes: CONFIG_PACKAGE_BODY_MAX_BYTES,
  }),
  c('userconfig-get', 'GET', '/nodes/:node/modules/:module/userconfig', 'The applied userconfig.xml of a module on that node', 'UserconfigText'),
  c('userconfig-put', 'PUT', '/nodes/:node/modules/:module/userconfig', 'Replace the userconfig.xml of a module on that node (a new release, reloaded); nothing changes when invalid', 'ConfigApplied', {
    body: obj({ text: USERCONFIG }),
    max_body_bytes: CONFIG_USERCONFIG_BODY_MAX_BYTES,
  }),
  c('config-history', 'GET', '/nodes/:node/modules/:module/history', 'The applied configuration and the last ones kept on that node, newest first', 'ConfigHistory'),
  c('config-rollback', 'POST', '/nodes/:node/modules/:module/rollback', 'Re-apply one of the configurations kept on that node (reloaded without a restart)', 'ConfigApplied', {
    body: obj({ release: { type: 'integer', minimum: 1, maximum: 1_000_000_000 } }),
  }),
  c('module-package', 'GET', '/nodes/:node/modules/:module/package', 'The module as applied on that node, as a .safe (base64)', 'FileDownload'),
  c('support-snapshot', 'GET', '/nodes/:node/snapshot', 'A support snapshot of that node (logs, configs, states; secrets left out) as a .zip (base64)', 'FileDownload', {
    params: { node: S.node },
    query: obj({ module: S.module }, []),
  }),
];
