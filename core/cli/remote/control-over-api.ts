// The control socket's requests, answered by a node's API instead (`hakit -H NODE`): each
// command maps to its route, and the answer is turned back into the control socket's shape,
// so every CLI command prints exactly what it prints locally.
import { HakitError } from '../../errors/catalogue';
import type { ModuleStatus, StateResult } from '../../control/api';
import type { ModuleOnNode, ModuleResources, NodeState, ReplicationStatus } from '../../api/contract/pure/types';
import { API_BASE } from '../../api/contract/version';
import type { ApiClient, RemoteTarget } from './api-client';

function moduleStatus(m: ModuleOnNode): ModuleStatus {
  const base: ModuleStatus = {
    module: m.module,
    mode: m.mode,
    state: m.state,
    status: m.status,
    epoch: m.epoch,
    copyComplete: m.copy_complete,
    failover: m.failover,
    boot: m.boot,
    peers: m.peers.map((p) => ({ node: p.node, reachable: p.reachable, lansUp: p.lans_up, state: p.state, status: p.status })),
    last_error: m.last_error,
  };
  return (m.farm ? { ...base, farm: m.farm } : base) as ModuleStatus;
}

export function stateResult(n: NodeState, module: string | undefined): StateResult {
  const mods = n.modules.filter((m) => module === undefined || m.module === module);
  if (module !== undefined && mods.length === 0) throw new HakitError('HAKIT_E_UNKNOWN_MODULE', `no module "${module}" on node ${n.node}`, `node ${n.node}`);
  return { node: n.node, modules: mods.map(moduleStatus), not_loaded: module === undefined ? n.not_loaded : [] };
}

const enc = encodeURIComponent;

export function controlOverApi(client: ApiClient, t: RemoteTarget): (cmd: string, args: Record<string, unknown>, timeout_ms: number) => Promise<unknown> {
  const node = `${API_BASE}/nodes/${enc(t.node)}`;
  const mod = (args: Record<string, unknown>): string => `${node}/modules/${enc(String(args['module'] ?? ''))}`;
  return async (cmd, args, timeout_ms) => {
    switch (cmd) {
      case 'ping':
        return { node: ((await client.request(t, 'GET', `${node}/state`, undefined, timeout_ms)) as NodeState).node };
      case 'state':
        return stateResult((await client.request(t, 'GET', `${node}/state`, undefined, timeout_ms)) as NodeState, args['module'] as string | undefined);
      case 'command': {
        const c = args['command'] as { kind: string; on?: boolean };
        await client.request(t, 'POST', `${mod(args)}/commands`, c, timeout_ms);
        return { module: args['module'], command: c.kind, accepted: true };
      }
      case 'level':
        return args['level'] === undefined ? client.request(t, 'GET', `${node}/level`, undefined, timeout_ms) : client.request(t, 'PUT', `${node}/level`, { level: args['level'] }, timeout_ms);
      case 'resources': {
        const { node: _n, history: _h, ...rest } = (await client.request(t, 'GET', `${mod(args)}/resources`, undefined, timeout_ms)) as ModuleResources;
        return rest;
      }
      case 'resource-get': {
        const r = (await client.request(t, 'GET', `${mod(args)}/resources`, undefined, timeout_ms)) as ModuleResources;
        const one = r.resources.find((x) => x.name === args['resource']);
        if (!one) throw new HakitError('HAKIT_E_API_NOT_FOUND', `no resource "${String(args['resource'])}" in module ${String(args['module'])}`, `node ${t.node}`);
        return one;
      }
      case 'resource-set':
        return client.request(t, 'PUT', `${mod(args)}/resources/${enc(String(args['resource'] ?? ''))}`, { value: args['value'] }, timeout_ms);
      case 'monitor-switch':
        return client.request(t, 'PUT', `${mod(args)}/monitor`, { what: args['what'], on: args['on'] }, timeout_ms);
      case 'rfsverify':
      case 'rfsdiff':
        return client.request(t, 'POST', `${mod(args)}/replication/verify`, {}, timeout_ms);
      case 'fullsync':
        return client.request(t, 'POST', `${mod(args)}/replication/fullsync`, {}, timeout_ms);
      case 'mirrorstatus': {
        const r = (await client.request(t, 'GET', `${mod(args)}/replication`, undefined, timeout_ms)) as ReplicationStatus;
        return { module: r.module, node: r.node, engine: r.engine, last: r.last, copy_complete: r.engine === 'second' ? r.in_sync : null, bytes_applied: r.bytes_applied, ops_applied: r.ops_applied, ...(r.last_verify !== undefined ? { last_verify: r.last_verify } : {}) };
      }
      default:
        throw new HakitError('HAKIT_E_USAGE', `"${cmd}" is not available with -H (run it on the node itself)`, 'hakit -H');
    }
  };
}
