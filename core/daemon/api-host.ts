// hakitd's side of the API (core/api, docs/api.md): starts the HTTPS server once cluster.xml
// is there, on the control socket's own dispatch, and records the control socket's changing
// commands in the audit log. Without TLS material the API is not served (one clear log line,
// HAKIT_E_API_NO_TLS); the daemon runs on. It never falls back to HTTP.
import type { DeepReadonlyClusterConfig } from '../config/pure/types-frozen';
import type { ControlRequest } from '../control/protocol';
import type { LogSink } from '../log/sink';
import { isHakitError } from '../errors/catalogue';
import { AuditLog, auditPath, isMutatingControl } from '../api/audit';
import { DEFAULT_API_PORT } from '../api/contract/version';
import { ApiServer } from '../api/server/api-server';
import type { PeerEndpoint } from '../api/server/backend';
import { loadTlsMaterial } from '../api/tls/load';
import { readPackageVersion } from '../cli/package-version';
import type { WhatIfCluster } from '../whatif/pure/types';

type Dispatch = (req: ControlRequest) => Promise<unknown>;

/** The API's port and bind address: the same on every node (peers reach each other on it). */
export function apiPort(env: NodeJS.ProcessEnv = process.env): number {
  const p = Number(env['HAKIT_API_PORT'] ?? DEFAULT_API_PORT);
  return Number.isInteger(p) && p > 0 && p < 65536 ? p : DEFAULT_API_PORT;
}
export function apiBind(env: NodeJS.ProcessEnv = process.env): string {
  return env['HAKIT_API_BIND'] || '0.0.0.0';
}

export interface ApiHostDeps {
  readonly node: string;
  readonly conf_dir: string;
  /** The module store the Configuration routes install into (hakitd's --state-dir). */
  readonly state_dir?: string;
  readonly log_dir: string;
  readonly cluster: () => DeepReadonlyClusterConfig;
  readonly key: Buffer;
  readonly dispatch: Dispatch;
  readonly heartbeat_drops: () => Readonly<Record<string, number>> | null;
  readonly log: LogSink;
  /** The what-if engine's starting point (core/whatif/snapshot.ts); null before the cluster runs. */
  readonly whatif?: () => WhatIfCluster | null;
}

/** Peers' API endpoints: their addresses on command LANs first, then the others. */
export function peerEndpoints(cluster: DeepReadonlyClusterConfig, me: string, port: number): PeerEndpoint[] {
  const lans = [...cluster.lans].sort((a, b) => Number(b.command) - Number(a.command));
  return cluster.nodes
    .filter((n) => n.name !== me)
    .map((n) => ({ node: n.name, port, addresses: lans.map((l) => n.addrs[l.name]?.addr).filter((a): a is string => a !== undefined) }));
}

/** Starts the API, or logs why not and returns null. */
export async function startApiHost(d: ApiHostDeps): Promise<ApiServer | null> {
  let tls;
  try {
    tls = loadTlsMaterial(d.conf_dir);
  } catch (e) {
    const code = isHakitError(e) ? e.code : 'HAKIT_E_API_TLS';
    d.log.error({ code, err: e instanceof Error ? e.message : String(e) }, 'API not served: no usable TLS certificate (see docs/api.md); the daemon runs on');
    return null;
  }
  const port = apiPort();
  const server = new ApiServer({
    backend: {
      node: d.node,
      get cluster_name() {
        return d.cluster().name;
      },
      nodes: () => d.cluster().nodes.map((n) => ({ name: n.name, addresses: Object.entries(n.addrs).map(([lan, a]) => ({ lan, addr: a.addr })) })),
      call: (cmd, args) => d.dispatch({ id: 0, cmd, args }),
      log_dir: d.log_dir,
      whatif: () => d.whatif?.() ?? null,
    },
    conf_dir: d.conf_dir,
    tls,
    host: apiBind(),
    port,
    cluster_key: d.key,
    peers: () => peerEndpoints(d.cluster(), d.node, port),
    audit: new AuditLog(auditPath(d.log_dir)),
    log: d.log,
    product_version: readPackageVersion(),
    heartbeat_drops: d.heartbeat_drops,
    module_env: { ...process.env, HAKIT_CONF_DIR: d.conf_dir, ...(d.state_dir !== undefined ? { HAKIT_STATE_DIR: d.state_dir } : {}) },
  });
  try {
    await server.start();
  } catch (e) {
    d.log.error({ code: 'HAKIT_E_API_LISTEN', port, err: e instanceof Error ? e.message : String(e) }, 'API not served: cannot listen; the daemon runs on');
    await server.close().catch(() => undefined);
    return null;
  }
  d.log.info({ port, bind: apiBind(), tls_dir: tls.dir }, 'API served over HTTPS');
  return server;
}

/** The control socket's dispatch, recording every command that changes something (the socket is root's only). */
export function auditControl(dispatch: Dispatch, node: string, log_dir: string): Dispatch {
  const audit = new AuditLog(auditPath(log_dir));
  return async (req) => {
    if (!isMutatingControl(req.cmd, req.args)) return dispatch(req);
    const base = { at: new Date().toISOString(), user: 'root', role: 'admin', from: 'control socket', node, action: req.cmd, args: { ...req.args } };
    try {
      const r = await dispatch(req);
      audit.append({ ...base, ok: true, error: null });
      return r;
    } catch (e) {
      audit.append({ ...base, ok: false, error: isHakitError(e) ? { code: e.code, message: e.message } : { code: 'HAKIT_E_INTERNAL', message: String(e) } });
      throw e;
    }
  };
}
