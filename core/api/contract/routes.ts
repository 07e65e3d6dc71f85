// Every route of the API, as data: method, path, who may call it, what it takes. The server
// registers exactly these (core/api/server/routes-mount.ts), the OpenAPI document is built
// from them (openapi.ts), and the authorization-matrix test walks them all.
import type { Access, Role } from './pure/roles';
import { EMPTY, S, obj, type JsonSchema } from './pure/schema';
import { CONFIG_ROUTES } from './config-routes';
import { INSIGHT_ROUTES } from './insight-routes';
import { MODULE_COMMANDS, type ModuleCommandKind } from './pure/types';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteSpec {
  readonly id: string;
  readonly method: Method;
  /** Under API_BASE, express-style parameters (`:node`). */
  readonly path: string;
  readonly access: Access;
  readonly summary: string;
  readonly params: Readonly<Record<string, JsonSchema>>;
  readonly query: JsonSchema;
  /** undefined: the route takes no body (one sent is refused). */
  readonly body?: JsonSchema;
  /** Name of the answer's type in types.ts. */
  readonly response: string;
  /** Changes something: recorded in the audit log. */
  readonly audited: boolean;
  /** Bodies above the API's default limit (a module package): this route's own limit. */
  readonly max_body_bytes?: number;
}

const NODE = { node: S.node };
const NODE_MODULE = { node: S.node, module: S.module };
const LINES = obj({ lines: S.lines }, []);

function r(id: string, method: Method, path: string, access: Access, summary: string, response: string, more: Partial<Pick<RouteSpec, 'params' | 'query' | 'body' | 'audited'>> = {}): RouteSpec {
  return { id, method, path, access, summary, response, params: more.params ?? {}, query: more.query ?? EMPTY, body: more.body, audited: more.audited ?? (method !== 'GET' && access !== 'public') };
}

export const ROUTES: readonly RouteSpec[] = [
  r('openapi', 'GET', '/openapi.json', 'public', 'This document', 'OpenAPI'),
  r('login', 'POST', '/login', 'public', 'Log in: sets the session cookie, answers the CSRF token', 'SessionInfo', { body: obj({ user: S.user, password: S.password }), audited: true }),
  r('session', 'GET', '/session', 'monitor', 'Who is logged in, and the CSRF token', 'SessionInfo'),
  r('logout', 'POST', '/logout', 'monitor', 'End the session', 'Empty', { body: EMPTY, audited: false }),
  r('password-own', 'PUT', '/session/password', 'monitor', 'Change one\'s own password', 'Empty', { body: obj({ old_password: S.password, new_password: S.newPassword }) }),

  r('cluster', 'GET', '/cluster', 'monitor', 'The cluster\'s nodes and their addresses', 'ClusterInfo'),
  r('state', 'GET', '/state', 'monitor', 'Every module on every node (this node asks the others)', 'ClusterState'),
  r('node-state', 'GET', '/nodes/:node/state', 'monitor', 'Every module of one node', 'NodeState', { params: NODE }),
  r('resources', 'GET', '/nodes/:node/modules/:module/resources', 'monitor', 'Resources, failover rules, the rule applied last, resource history', 'ModuleResources', { params: NODE_MODULE }),
  r('replication', 'GET', '/nodes/:node/modules/:module/replication', 'monitor', 'Replication status: in sync, pending bytes, rate, ETA, the last verify run on that node', 'ReplicationStatus', { params: NODE_MODULE }),
  r('module-logs', 'GET', '/nodes/:node/modules/:module/logs', 'monitor', 'Last lines of the module\'s log on that node', 'LogPage', { params: NODE_MODULE, query: LINES }),
  r('node-logs', 'GET', '/nodes/:node/logs', 'monitor', 'Last lines of hakitd\'s log on that node', 'LogPage', { params: NODE, query: LINES }),
  r('level-get', 'GET', '/nodes/:node/level', 'monitor', 'hakitd\'s log level on that node', 'LevelInfo', { params: NODE }),

  r('command', 'POST', '/nodes/:node/modules/:module/commands', 'control', 'Run a module command on that node (primforce needs admin)', 'CommandOutcome', {
    params: NODE_MODULE,
    body: obj({ kind: { type: 'string', enum: [...MODULE_COMMANDS], maxLength: 16 }, on: { type: 'boolean' } }, ['kind']),
  }),
  r('resource-set', 'PUT', '/nodes/:node/modules/:module/resources/:resource', 'control', 'Set a resource up or down by hand', 'Resource', {
    params: { ...NODE_MODULE, resource: S.resource },
    body: obj({ value: { type: 'string', enum: ['up', 'down'], maxLength: 4 } }),
  }),
  r('monitor-switch', 'PUT', '/nodes/:node/modules/:module/monitor', 'control', 'Turn errd or the checkers on or off', 'MonitorSwitch', {
    params: NODE_MODULE,
    body: obj({ what: { type: 'string', enum: ['errd', 'checkers'], maxLength: 8 }, on: { type: 'boolean' } }),
  }),
  r('verify', 'POST', '/nodes/:node/modules/:module/replication/verify', 'control', 'Compare both copies by content hash (rfsverify)', 'VerifyResult', { params: NODE_MODULE, body: EMPTY }),
  r('fullsync', 'POST', '/nodes/:node/modules/:module/replication/fullsync', 'admin', 'Next re-integration compares every file', 'Accepted', { params: NODE_MODULE, body: EMPTY }),
  r('level-set', 'PUT', '/nodes/:node/level', 'admin', 'Set hakitd\'s log level on that node', 'LevelInfo', {
    params: NODE,
    body: obj({ level: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'], maxLength: 5 } }),
  }),
  r('audit', 'GET', '/nodes/:node/audit', 'admin', 'The audit log of that node (commands that changed something)', 'AuditPage', { params: NODE, query: LINES }),

  r('users', 'GET', '/users', 'admin', 'Users and their roles', 'UserInfo[]'),
  r('user-add', 'POST', '/users', 'admin', 'Add a user', 'UserInfo', { body: obj({ name: S.user, role: S.role, password: S.newPassword }) }),
  r('user-del', 'DELETE', '/users/:user', 'admin', 'Delete a user', 'Empty', { params: { user: S.user } }),
  r('user-password', 'PUT', '/users/:user/password', 'admin', 'Set a user\'s password', 'Empty', { params: { user: S.user }, body: obj({ password: S.newPassword }) }),
  r('apikeys', 'GET', '/apikeys', 'admin', 'API keys (names and roles, never the tokens)', 'ApiKeyInfo[]'),
  r('apikey-add', 'POST', '/apikeys', 'admin', 'Create an API key; its token is shown once', 'ApiKeyCreated', { body: obj({ name: S.user, role: S.role }) }),
  r('apikey-del', 'DELETE', '/apikeys/:name', 'admin', 'Revoke an API key', 'Empty', { params: { name: S.user } }),

  ...CONFIG_ROUTES,
  ...INSIGHT_ROUTES,

  r('users-pull', 'GET', '/internal/users', 'node', 'Peer nodes: the users file, to keep it identical on every node', 'UsersFile'),
  r('users-changed', 'POST', '/internal/users/changed', 'node', 'Peer nodes: "my users file changed, pull it"', 'Empty', { body: EMPTY, audited: false }),
];

/** Prometheus text, outside API_BASE where scrapers look for it; any role (an API key of role monitor is the usual). */
export const METRICS_PATH = '/metrics';
export const METRICS_ACCESS: Role = 'monitor';

/** primforce may lose data: admin only, as the console's typed confirmation says. */
export const COMMAND_ACCESS: Readonly<Record<ModuleCommandKind, Role>> = {
  start: 'control',
  stop: 'control',
  restart: 'control',
  stopstart: 'control',
  prim: 'control',
  second: 'control',
  swap: 'control',
  primforce: 'admin',
  failover: 'control',
  boot: 'control',
  // Manual failover (docs/geo.md): letting a survivor take over is an operator's control action.
  approve: 'control',
  deny: 'control',
};

export function routeById(id: string): RouteSpec | undefined {
  return ROUTES.find((x) => x.id === id);
}
