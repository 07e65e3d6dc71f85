// The console's insight routes (monitor may read them all): what-if predictions, a farm
// module's bucket map with real owners, and the cluster-wide timeline of state changes.
// Spread into ROUTES (routes.ts); docs/api.md and docs/whatif.md describe them.
import type { RouteSpec } from './routes';
import { NAME_PATTERN, S, obj, type JsonSchema } from './pure/schema';

const NAME = NAME_PATTERN.slice(1, -1);
const NAMES: JsonSchema = { type: 'string', pattern: `^(${NAME}(,${NAME}){0,63})?$`, maxLength: 4096, description: 'names, comma-separated' };
const MS: JsonSchema = { type: 'integer', minimum: 0, maximum: 600_000 };

function i(id: string, path: string, summary: string, response: string, more: Partial<Pick<RouteSpec, 'params' | 'query'>> = {}): RouteSpec {
  return { id, method: 'GET', path, access: 'monitor', summary, response, params: more.params ?? {}, query: more.query ?? obj({}), audited: false };
}

export const INSIGHT_ROUTES: readonly RouteSpec[] = [
  i('whatif-choices', '/whatif/choices', 'What a what-if question may name: the nodes and heartbeat LANs', 'WhatIfChoices'),
  i('whatif', '/whatif', 'Predict what the cluster does if nodes fail and/or LANs are cut, by running the daemon\'s own state machines from the current state (nothing changes)', 'WhatIfAnswer', {
    query: obj({ fail: NAMES, cut: NAMES, witness_cut: NAMES, script_ms: MS, sync_ms: MS, horizon_ms: MS }, []),
  }),
  i('bucket-map', '/modules/:module/buckets', 'A farm module\'s 256 buckets and the node whose filter owns each now', 'BucketMap', { params: { module: S.module } }),
  i('transitions', '/transitions', 'State changes of every module on every node, from each node\'s module logs, merged by time', 'TransitionPage', { query: obj({ lines: S.lines }, []) }),
  i('node-transitions', '/nodes/:node/transitions', 'State changes of every module on one node, from its module logs', 'TransitionPage', { params: { node: S.node }, query: obj({ lines: S.lines }, []) }),
];
