// The insight routes (contract/insight-routes.ts): what-if predictions from this daemon's
// snapshot (core/whatif), the farm bucket map from every node's own report of its filter,
// and the cluster-wide timeline of state changes read from each node's module logs.
import { HakitError, isHakitError } from '../../errors/catalogue';
import { moduleLogPath } from '../../log/logs';
import { predictOffLoop } from '../../whatif/run';
import { makeScenario } from '../../whatif/pure/scenario';
import { moduleChoices } from '../../whatif/pure/choices';
import type { WhatIfCluster } from '../../whatif/pure/types';
import type { ClusterState, NodeState } from '../contract/pure/types';
import type { TransitionEvent, TransitionPage, WhatIfChoices } from '../contract/pure/insight-types';
import { API_VERSION } from '../contract/version';
import { bucketMap, mergeTransitions, transitionOf, whatifAnswer } from '../pure/insight-map';
import { logLine } from '../pure/map';
import { logLineTail } from '../log-tail';
import type { Principal } from '../pure/authz';
import type { ApiBackend, PeerClient } from './backend';
import type { SilentPeers } from './silent-peers';
import type { Handler, Outcome, RouteContext } from './handlers';

/** Module log lines read per module for the timeline, unless the caller says `lines`. */
export const TRANSITION_SCAN_LINES = 5_000;
/** Events a timeline answer holds at most (the newest). */
export const TRANSITION_MAX_EVENTS = 1_000;

export interface InsightHandlerDeps {
  readonly backend: ApiBackend;
  readonly peers: PeerClient | null;
  /** The waits for peers, shared with the cluster state: a peer silent there is silent here. */
  readonly silent: SilentPeers;
  readonly now_ms: () => number;
  readonly onNode: (local: (ctx: RouteContext) => Promise<Outcome>) => Handler;
  /** The `state` route's own aggregation (every node). */
  readonly clusterState: (ctx: RouteContext) => Promise<ClusterState>;
}

const ok = (body: unknown): Outcome => ({ kind: 'ok', body });

function list(v: unknown): string[] {
  return typeof v === 'string' && v !== '' ? v.split(',') : [];
}

/** Peers' effective failover settings fill what this daemon's snapshot cannot know. */
function withPeerFailover(c: WhatIfCluster, s: ClusterState): WhatIfCluster {
  const failoverOf = (node: string, module: string): boolean | null => s.nodes.find((n) => n.node === node)?.modules.find((m) => m.module === module)?.failover ?? null;
  return {
    ...c,
    modules: c.modules.map((m) => ({ ...m, nodes: m.nodes.map((x) => (x.failover !== null ? x : { ...x, failover: failoverOf(x.node, m.policy.module) })) })),
  };
}

export function makeInsightHandlers(d: InsightHandlerDeps): Record<string, Handler> {
  const me = d.backend.node;

  const snapshot = (): WhatIfCluster => {
    const s = d.backend.whatif?.() ?? null;
    if (s === null) throw new HakitError('HAKIT_E_WHATIF_UNAVAILABLE', `node ${me} has no cluster configuration loaded yet`, 'what-if');
    return s;
  };

  const localTransitions = async (lines: number): Promise<TransitionEvent[]> => {
    const st = (await d.backend.call('state', {})) as { modules: readonly { module: string }[] };
    const per = st.modules.map((m) =>
      logLineTail(moduleLogPath(d.backend.log_dir, m.module), lines)
        .map((l) => logLine(l, me))
        .filter((x): x is NonNullable<typeof x> => x !== null)
        .map((l) => transitionOf({ ...l, node: me }))
        .filter((x): x is TransitionEvent => x !== null),
    );
    return mergeTransitions(per, TRANSITION_MAX_EVENTS);
  };

  const peerTransitions = async (node: string, p: Principal, lines: number): Promise<TransitionPage> => {
    if (!d.peers || p.kind === 'node') throw new HakitError('HAKIT_E_API_NODE_UNREACHABLE', 'not asked', `node ${node}`);
    const a = await d.silent.wait(node, d.peers.request(node, 'GET', `/api/v1/nodes/${node}/transitions?lines=${lines}`, undefined, p.user, p.role ?? 'monitor'));
    if (a.status !== 200) {
      const e = (a.body as { error?: { code?: string; message?: string } } | null)?.error;
      throw new HakitError('HAKIT_E_API_NODE_UNREACHABLE', e?.message ?? `status ${a.status}`, `node ${node}`);
    }
    return a.body as TransitionPage;
  };

  return {
    'whatif-choices': async () => {
      const c = d.backend.whatif?.() ?? null;
      if (c === null) {
        const r: WhatIfChoices = { available: false, reason: `node ${me} has no cluster running yet`, nodes: d.backend.nodes().map((n) => n.name), lans: [], witness: false };
        return ok(r);
      }
      const r: WhatIfChoices = { available: true, reason: null, nodes: c.nodes.map((n) => n.node), lans: c.lans.filter((l) => c.nodes.some((n) => n.lans.includes(l.index))).map((l) => ({ ...l })), witness: c.modules.some((m) => m.policy.hasWitness), modules: moduleChoices(c) };
      return ok(r);
    },

    whatif: async (ctx) => {
      const base = snapshot();
      const q = ctx.query;
      // The question is checked before anything is asked of the peers.
      const scenario = makeScenario(base, {
        fail: list(q['fail']),
        cut: list(q['cut']),
        witness_cut: list(q['witness_cut']),
        app_fail: list(q['app_fail']),
        checker_fail: list(q['checker_fail']),
        heal: q['heal'] as string | undefined,
        script_ms: q['script_ms'] as number | undefined,
        sync_ms: q['sync_ms'] as number | undefined,
        horizon_ms: q['horizon_ms'] as number | undefined,
      });
      const c = withPeerFailover(base, await d.clusterState(ctx));
      const t0 = Date.now();
      const p = await predictOffLoop(c, scenario);
      return ok(whatifAnswer(p, c, API_VERSION, new Date(d.now_ms()).toISOString(), Date.now() - t0));
    },

    'bucket-map': async (ctx) => {
      const module = ctx.params['module'] as string;
      const s = await d.clusterState(ctx);
      const hosts = s.nodes.filter((n) => n.modules.some((m) => m.module === module));
      if (hosts.length === 0) throw new HakitError('HAKIT_E_UNKNOWN_MODULE', `no node reports a module "${module}"`, 'API');
      if (!hosts.some((n) => n.modules.some((m) => m.module === module && m.mode === 'farm'))) throw new HakitError('HAKIT_E_API_NOT_FOUND', `module "${module}" is not a farm module: it has no buckets`, 'API');
      const nodes: NodeState[] = s.nodes.filter((n) => !n.reachable || n.modules.some((m) => m.module === module));
      return ok(bucketMap(module, me, s.at, nodes));
    },

    'node-transitions': d.onNode(async (ctx) => {
      const lines = (ctx.query['lines'] as number | undefined) ?? TRANSITION_SCAN_LINES;
      const r: TransitionPage = { answered_by: me, events: await localTransitions(lines), missing: [] };
      return ok(r);
    }),

    transitions: async (ctx) => {
      const p = ctx.principal as Principal;
      const lines = (ctx.query['lines'] as number | undefined) ?? TRANSITION_SCAN_LINES;
      const missing: TransitionPage['missing'][number][] = [];
      const lists = await Promise.all(
        d.backend.nodes().map(async (n): Promise<readonly TransitionEvent[]> => {
          try {
            return n.name === me ? await localTransitions(lines) : (await peerTransitions(n.name, p, lines)).events;
          } catch (e) {
            missing.push({ node: n.name, code: isHakitError(e) ? e.code : 'HAKIT_E_API_NODE_UNREACHABLE', message: e instanceof Error ? e.message : String(e) });
            return [];
          }
        }),
      );
      const r: TransitionPage = { answered_by: me, events: mergeTransitions(lists, TRANSITION_MAX_EVENTS), missing: missing.sort((a, b) => a.node.localeCompare(b.node)) };
      return ok(r);
    },
  };
}
