// What each route of contract/routes.ts does. Module commands, states, resources and
// replication go through backend.call: the control socket's own dispatch. Routes naming
// another node are forwarded to it (peers.ts), signed on the caller's behalf; the node that
// runs a change writes the audit record.
import type { Response } from 'express';
import { HakitError, isHakitError } from '../../errors/catalogue';
import type { StateResult } from '../../control/api';
import type { MonitorStatus } from '../../monitor/api';
import type { MirrorStatusResult } from '../../daemon/mirror-handlers';
import { DAEMON_LOG_FILE, moduleLogPath } from '../../log/logs';
import crypto from 'node:crypto';
import path from 'node:path';
import type { RouteSpec } from '../contract/routes';
import type { Role } from '../contract/pure/roles';
import type { AuditRecord, ClusterInfo, ClusterState, CommandOutcome, LogPage, ModuleCommandKind, NodeState, ResourceChange, SessionInfo } from '../contract/pure/types';
import { API_VERSION } from '../contract/version';
import type { Principal } from '../pure/authz';
import { attemptSucceeded, loginDelayMs, takeAttempt, type Bucket } from '../pure/login-limiter';
import { logLine, moduleResources, nodeState, replicationStatus, unreachableNode, withMonitorSwitches } from '../pure/map';
import { clearedCookie, SESSION_IDLE_TIMEOUT_MS, sessionCookie } from '../pure/sessions';
import type { UsersDoc } from '../pure/users-doc';
import type { AuditLog } from '../audit';
import { logLineTail } from '../log-tail';
import { verifyPassword } from '../users/password';
import { apiKeyAdd, apiKeyDel, userAdd, userDel, userPasswd } from '../users/store';
import type { Authenticated, SessionStore } from './auth';
import type { ApiBackend, PeerClient } from './backend';
import { makeConfigHandlers, type ConfigHandlerDeps } from './config-handlers';
import { makeInsightHandlers } from './insight-handlers';
import { lostByHeartbeats, SilentPeers } from './silent-peers';

export interface RouteContext {
  readonly route: RouteSpec;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, unknown>>;
  readonly body: Readonly<Record<string, unknown>>;
  /** null on public routes. */
  readonly principal: Principal | null;
  readonly ip: string;
  readonly url: string;
  readonly auth: Authenticated;
  readonly res: Response;
}

/** `audit_error`: the change answered but did not fully happen (a node of several refused); recorded as failed. */
export type Outcome = { readonly kind: 'ok'; readonly body: unknown; readonly audit_error?: AuditRecord['error'] } | { readonly kind: 'raw'; readonly status: number; readonly body: unknown };
export type Handler = (ctx: RouteContext) => Promise<Outcome>;
export type Handlers = Readonly<Record<string, Handler>>;

export interface HandlerDeps {
  readonly backend: ApiBackend;
  readonly peers: PeerClient | null;
  readonly sessions: SessionStore;
  readonly conf_dir: string;
  users(): UsersDoc;
  /** The users file changed here (reload it, tell the peers), or on `from` (pull it from there). */
  usersChanged(from?: string): void;
  readonly audit: AuditLog;
  resourceHistory(module: string): readonly ResourceChange[];
  openapi(): unknown;
  now_ms(): number;
  /** The module store's HAKIT_CONF_DIR/HAKIT_STATE_DIR (Configuration routes); default: process.env with conf_dir. */
  readonly module_env?: NodeJS.ProcessEnv;
  readonly product_version?: string;
  /** Replaces the push to peers' config services (tests). */
  readonly push_module?: ConfigHandlerDeps['push'];
}

export const DEFAULT_LOG_LINES = 200;

const ok = (body: unknown): Outcome => ({ kind: 'ok', body });

function who(p: Principal | null): { user: string; role: string; from_node: string | null } {
  if (!p) return { user: '-', role: '-', from_node: null };
  if (p.kind === 'node') return { user: p.user, role: p.role ?? '-', from_node: p.node };
  return { user: p.user, role: p.role, from_node: null };
}

export function makeHandlers(d: HandlerDeps): Handlers {
  const me = d.backend.node;
  let buckets: ReadonlyMap<string, Bucket> = new Map();
  const silent = new SilentPeers(d.now_ms);

  const isPeer = (node: string): boolean => node !== me && d.backend.nodes().some((n) => n.name === node);

  /** Runs locally when the route names this node, else forwards it to that node. */
  const onNode = (local: (ctx: RouteContext) => Promise<Outcome>): Handler => async (ctx) => {
    const node = ctx.params['node'] as string;
    if (node === me) return local(ctx);
    if (!isPeer(node)) throw new HakitError('HAKIT_E_API_NOT_FOUND', `no node "${node}" in cluster.xml`, 'API');
    const p = ctx.principal;
    // One hop only: a peer's forwarded call never travels further.
    if (!p || p.kind === 'node' || !d.peers) throw new HakitError('HAKIT_E_API_NOT_FOUND', `node ${me} does not forward this call`, 'API');
    const a = await d.peers.request(node, ctx.route.method, ctx.url, ctx.route.body ? ctx.body : undefined, p.user, p.role);
    return { kind: 'raw', status: a.status, body: a.body };
  };

  /** Runs a change and records it (who, from where, what, result) in this node's audit log. */
  const audited = (action: string, f: (ctx: RouteContext) => Promise<Outcome>): Handler => async (ctx) => {
    const w = who(ctx.principal);
    const rec = (ok_: boolean, error: AuditRecord['error']): void =>
      d.audit.append({
        at: new Date(d.now_ms()).toISOString(),
        user: w.user,
        role: w.role,
        from: w.from_node ? `node ${w.from_node} (${ctx.ip})` : `api ${ctx.ip}`,
        node: me,
        action,
        args: { ...ctx.params, ...redact(ctx.body) },
        ok: ok_,
        error,
      });
    try {
      const out = await f(ctx);
      const partial = out.kind === 'ok' ? (out.audit_error ?? null) : null;
      rec(partial === null, partial);
      return out;
    } catch (e) {
      rec(false, isHakitError(e) ? { code: e.code, message: e.message } : { code: 'HAKIT_E_INTERNAL', message: String(e) });
      throw e;
    }
  };

  /** This node's state; `raw`: its daemon's `state` answer when the caller already has it. */
  const localState = async (raw?: StateResult): Promise<NodeState> => {
    const st = nodeState(raw ?? ((await d.backend.call('state', {})) as StateResult));
    const monitors = new Map<string, MonitorStatus>();
    for (const m of st.modules) {
      try {
        monitors.set(m.module, (await d.backend.call('resources', { module: m.module })) as MonitorStatus);
      } catch {
        // No monitor for this module (HAKIT_E_MONITOR_NO_MODULE): no switches to show.
      }
    }
    return withMonitorSwitches(st, monitors);
  };

  const moduleExists = async (module: string): Promise<void> => {
    await d.backend.call('state', { module });
  };

  const logPage = (file: string, module: string | null, lines: number): LogPage => ({
    node: me,
    module,
    lines: logLineTail(file, lines)
      .map((l) => logLine(l, me))
      .filter((x): x is NonNullable<typeof x> => x !== null),
  });

  const sessionInfo = (user: string, role: Role, csrf: string): SessionInfo => ({ user, role, csrf_token: csrf, idle_timeout_s: SESSION_IDLE_TIMEOUT_MS / 1000 });

  const h: Record<string, Handler> = {
    openapi: async () => ok(d.openapi()),

    login: async (ctx) => {
      const user = ctx.body['user'] as string;
      const password = ctx.body['password'] as string;
      const keys = [`ip:${ctx.ip}`, `user:${user}`];
      const wait_ms = loginDelayMs(buckets, keys, d.now_ms());
      const record = (ok_: boolean, code: string | null): void =>
        d.audit.append({ at: new Date(d.now_ms()).toISOString(), user, role: '-', from: `api ${ctx.ip}`, node: me, action: 'login', args: {}, ok: ok_, error: code ? { code, message: code } : null });
      if (wait_ms > 0) {
        ctx.res.setHeader('Retry-After', String(Math.ceil(wait_ms / 1000)));
        record(false, 'HAKIT_E_AUTH_RATE_LIMITED');
        throw new HakitError('HAKIT_E_AUTH_RATE_LIMITED', `too many failed logins; retry in ${Math.ceil(wait_ms / 1000)} s`, 'login');
      }
      buckets = takeAttempt(buckets, keys, d.now_ms());
      const u = d.users().users.find((x) => x.name === user);
      const good = await verifyPassword(password, u?.hash);
      if (!good || !u) {
        record(false, 'HAKIT_E_AUTH_BAD_LOGIN');
        throw new HakitError('HAKIT_E_AUTH_BAD_LOGIN', 'wrong user name or password', 'login');
      }
      buckets = attemptSucceeded(buckets, `user:${user}`, `ip:${ctx.ip}`, d.now_ms());
      const s = d.sessions.create(u);
      ctx.res.setHeader('Set-Cookie', sessionCookie(s.token));
      record(true, null);
      return ok(sessionInfo(u.name, u.role, s.record.csrf));
    },

    session: async (ctx) => {
      const p = ctx.principal as Principal;
      if (p.kind === 'session' && ctx.auth.session) return ok(sessionInfo(p.user, p.role, ctx.auth.session.csrf));
      return ok(sessionInfo(p.user, (p.role ?? 'monitor') as Role, ''));
    },

    logout: async (ctx) => {
      if (ctx.auth.token) d.sessions.end(ctx.auth.token);
      ctx.res.setHeader('Set-Cookie', clearedCookie());
      return ok({});
    },

    'password-own': audited('password', async (ctx) => {
      const p = ctx.principal as Principal;
      if (p.kind !== 'session') throw new HakitError('HAKIT_E_AUTH_FORBIDDEN', 'only a logged-in user changes their own password', 'API');
      const u = d.users().users.find((x) => x.name === p.user);
      if (!u || !(await verifyPassword(ctx.body['old_password'] as string, u.hash))) throw new HakitError('HAKIT_E_AUTH_BAD_LOGIN', 'the old password is wrong', 'password');
      const doc = await userPasswd(d.conf_dir, p.user, ctx.body['new_password'] as string);
      // This session goes on with the new password; the user's other sessions end (auth.ts).
      const changed = doc.users.find((x) => x.name === p.user);
      if (changed && ctx.auth.token) d.sessions.rebind(ctx.auth.token, changed.hash);
      d.usersChanged();
      return ok({});
    }),

    cluster: async () => {
      const r: ClusterInfo = { api_version: API_VERSION, cluster: d.backend.cluster_name, answered_by: me, nodes: d.backend.nodes() };
      return ok(r);
    },

    state: async (ctx) => {
      const p = ctx.principal as Principal;
      // The heartbeats' view first: a peer they lost is waited for briefly from the first view.
      let raw: StateResult | undefined;
      try {
        raw = (await d.backend.call('state', {})) as StateResult;
        silent.heardLost(lostByHeartbeats(raw));
      } catch {
        // Shown as this node's error below (localState asks again).
      }
      const nodes = await Promise.all(
        d.backend.nodes().map(async (n): Promise<NodeState> => {
          try {
            if (n.name === me) return await localState(raw);
            if (!d.peers || p.kind === 'node') throw new HakitError('HAKIT_E_API_NODE_UNREACHABLE', 'not asked', `node ${n.name}`);
            const a = await silent.wait(n.name, d.peers.request(n.name, 'GET', `/api/v1/nodes/${n.name}/state`, undefined, p.user, p.role ?? 'monitor'));
            if (a.status !== 200) {
              const e = (a.body as { error?: { code?: string; message?: string } } | null)?.error;
              return unreachableNode(n.name, { code: e?.code ?? 'HAKIT_E_API_NODE_UNREACHABLE', message: e?.message ?? `status ${a.status}` });
            }
            return a.body as NodeState;
          } catch (e) {
            return unreachableNode(n.name, isHakitError(e) ? { code: e.code, message: e.message } : { code: 'HAKIT_E_API_NODE_UNREACHABLE', message: String(e) });
          }
        }),
      );
      const r: ClusterState = { api_version: API_VERSION, answered_by: me, at: new Date(d.now_ms()).toISOString(), nodes };
      return ok(r);
    },

    'node-state': onNode(async () => ok(await localState())),

    resources: onNode(async (ctx) => {
      const module = ctx.params['module'] as string;
      const s = (await d.backend.call('resources', { module })) as MonitorStatus;
      return ok(moduleResources(me, s, d.resourceHistory(module)));
    }),

    replication: onNode(async (ctx) => ok(replicationStatus((await d.backend.call('mirrorstatus', { module: ctx.params['module'] })) as MirrorStatusResult))),

    'module-logs': onNode(async (ctx) => {
      const module = ctx.params['module'] as string;
      await moduleExists(module);
      return ok(logPage(moduleLogPath(d.backend.log_dir, module), module, (ctx.query['lines'] as number | undefined) ?? DEFAULT_LOG_LINES));
    }),

    'node-logs': onNode(async (ctx) => ok(logPage(path.join(d.backend.log_dir, DAEMON_LOG_FILE), null, (ctx.query['lines'] as number | undefined) ?? DEFAULT_LOG_LINES))),

    'level-get': onNode(async () => ok({ node: me, ...((await d.backend.call('level', {})) as object) })),

    command: onNode(
      audited('command', async (ctx) => {
        const module = ctx.params['module'] as string;
        const kind = ctx.body['kind'] as ModuleCommandKind;
        const on = ctx.body['on'];
        if ((kind === 'failover' || kind === 'boot') && typeof on !== 'boolean') throw new HakitError('HAKIT_E_API_BAD_REQUEST', `"${kind}" needs "on": true or false`, 'API request');
        if (kind !== 'failover' && kind !== 'boot' && on !== undefined) throw new HakitError('HAKIT_E_API_BAD_REQUEST', `"${kind}" takes no "on"`, 'API request');
        await d.backend.call('command', { module, command: on === undefined ? { kind } : { kind, on } });
        const r: CommandOutcome = { node: me, module, command: kind, ok: true, error: null };
        return ok(r);
      }),
    ),

    'resource-set': onNode(audited('resource-set', async (ctx) => ok(await d.backend.call('resource-set', { module: ctx.params['module'], resource: ctx.params['resource'], value: ctx.body['value'] })))),

    'monitor-switch': onNode(audited('monitor-switch', async (ctx) => ok(await d.backend.call('monitor-switch', { module: ctx.params['module'], what: ctx.body['what'], on: ctx.body['on'] })))),

    verify: onNode(audited('rfsverify', async (ctx) => ok(await d.backend.call('rfsverify', { module: ctx.params['module'] })))),

    fullsync: onNode(audited('fullsync', async (ctx) => ok(await d.backend.call('fullsync', { module: ctx.params['module'] })))),

    'level-set': onNode(audited('level', async (ctx) => ok({ node: me, ...((await d.backend.call('level', { level: ctx.body['level'] })) as object) }))),

    audit: onNode(async (ctx) => ok({ node: me, records: d.audit.tail((ctx.query['lines'] as number | undefined) ?? DEFAULT_LOG_LINES) })),

    users: async () => ok(d.users().users.map((u) => ({ name: u.name, role: u.role }))),

    'user-add': audited('user-add', async (ctx) => {
      await userAdd(d.conf_dir, ctx.body['name'] as string, ctx.body['role'] as Role, ctx.body['password'] as string);
      d.usersChanged();
      return ok({ name: ctx.body['name'], role: ctx.body['role'] });
    }),

    'user-del': audited('user-del', async (ctx) => {
      await userDel(d.conf_dir, ctx.params['user'] as string);
      d.sessions.endUser(ctx.params['user'] as string);
      d.usersChanged();
      return ok({});
    }),

    'user-password': audited('user-password', async (ctx) => {
      await userPasswd(d.conf_dir, ctx.params['user'] as string, ctx.body['password'] as string);
      d.sessions.endUser(ctx.params['user'] as string);
      d.usersChanged();
      return ok({});
    }),

    apikeys: async () => ok(d.users().apikeys.map((k) => ({ name: k.name, role: k.role, created_at: k.created_at }))),

    'apikey-add': audited('apikey-add', async (ctx) => {
      const r = await apiKeyAdd(d.conf_dir, ctx.body['name'] as string, ctx.body['role'] as Role);
      d.usersChanged();
      return ok({ name: ctx.body['name'], role: ctx.body['role'], created_at: r.created_at, token: r.token });
    }),

    'apikey-del': audited('apikey-del', async (ctx) => {
      await apiKeyDel(d.conf_dir, ctx.params['name'] as string);
      d.usersChanged();
      return ok({});
    }),

    ...makeConfigHandlers({
      backend: d.backend,
      env: d.module_env ?? { ...process.env, HAKIT_CONF_DIR: d.conf_dir },
      product_version: d.product_version ?? '?',
      now_ms: d.now_ms,
      onNode,
      audited,
      push: d.push_module,
    }),

    ...makeInsightHandlers({
      backend: d.backend,
      peers: d.peers,
      silent,
      now_ms: d.now_ms,
      onNode,
      clusterState: async (ctx) => ((await (h['state'] as Handler)(ctx)) as { body: ClusterState }).body,
    }),

    'users-pull': async () => ok(d.users()),
    'users-changed': async (ctx) => {
      const p = ctx.principal as Principal;
      if (p.kind === 'node') d.usersChanged(p.node);
      return ok({});
    },
  };
  return h;
}

/** Long values (a module package, a userconfig.xml) are recorded by size and hash. */
const AUDIT_VALUE_MAX_CHARS = 256;

/** Passwords never reach the audit log, nor megabytes of a package. */
function redact(body: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (/password|token/i.test(k)) out[k] = '***';
    else if (typeof v === 'string' && v.length > AUDIT_VALUE_MAX_CHARS) out[k] = `<${v.length} characters, sha256 ${crypto.createHash('sha256').update(v).digest('hex').slice(0, 16)}>`;
    else out[k] = v;
  }
  return out;
}
