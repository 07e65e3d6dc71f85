// The console's insight routes (monitor may read them all): what-if predictions, a farm
// module's bucket map with real owners, and the cluster-wide timeline of state changes.
// Spread into ROUTES (routes.ts); docs/api.md and docs/whatif.md describe them.
import type { RouteSpec } from './routes';
import { MODULE_NAME_PATTERN, NAME_PATTERN, RESOURCE_PATTERN, S, obj, type JsonSchema } from './pure/schema';

const NAME = NAME_PATTERN.slice(1, -1);
/** A fault may come later than the first one: `+MS` after the start (docs/whatif.md). */
const DELAY = '(\\+[0-9]{1,7})?';
const list = (item: string, description: string): JsonSchema => ({ type: 'string', pattern: `^(${item}(,${item}){0,63})?$`, maxLength: 4096, description });
const NAMES = list(`${NAME}${DELAY}`, 'names, comma-separated, each with an optional +MS delay');
const MODULE = MODULE_NAME_PATTERN.slice(1, -1);
const RESOURCE = RESOURCE_PATTERN.slice(1, -1);
const APP_FAULTS = list(`${MODULE}@${NAME}${DELAY}`, 'MODULE@NODE[+MS], comma-separated: the module\'s application fails on that node');
const CHECKER_FAULTS = list(`${MODULE}/${RESOURCE}@${NAME}${DELAY}`, 'MODULE/CHECKER@NODE[+MS], comma-separated: that checker (class.ident or ident) fails on that node');
const MS: JsonSchema = { type: 'integer', minimum: 0, maximum: 600_000 };

function i(id: string, path: string, summary: string, response: string, more: Partial<Pick<RouteSpec, 'params' | 'query'>> = {}): RouteSpec {
  return { id, method: 'GET', path, access: 'monitor', summary, response, params: more.params ?? {}, query: more.query ?? obj({}), audited: false };
}

export const INSIGHT_ROUTES: readonly RouteSpec[] = [
  i('whatif-choices', '/whatif/choices', 'What a what-if question may name: the nodes, heartbeat LANs, modules and their checkers', 'WhatIfChoices'),
  i('whatif', '/whatif', 'Predict what the cluster does if nodes fail, LANs are cut, an application or a checker fails (in sequence with +MS), by running the daemon\'s own state machines, checkers and failover rules from the current state (nothing changes)', 'WhatIfAnswer', {
    query: obj({ fail: NAMES, cut: NAMES, witness_cut: NAMES, app_fail: APP_FAULTS, checker_fail: CHECKER_FAULTS, heal: { type: 'string', enum: ['never', 'restart'], maxLength: 8 }, script_ms: MS, sync_ms: MS, horizon_ms: MS }, []),
  }),
  i('bucket-map', '/modules/:module/buckets', 'A farm module\'s 256 buckets and the node whose filter owns each now', 'BucketMap', { params: { module: S.module } }),
  i('transitions', '/transitions', 'State changes of every module on every node, from each node\'s module logs, merged by time', 'TransitionPage', { query: obj({ lines: S.lines }, []) }),
  i('node-transitions', '/nodes/:node/transitions', 'State changes of every module on one node, from its module logs', 'TransitionPage', { params: { node: S.node }, query: obj({ lines: S.lines }, []) }),
];
