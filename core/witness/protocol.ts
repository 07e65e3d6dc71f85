// Witness messages travel in the heartbeat wire format (HMAC with the cluster key, replay
// window per sender) on a reserved channel number, so a witness packet can never be taken
// for a heartbeat (the heartbeat decoder checks the channel against its LAN index).
// A request that does not echo the witness's current challenge (the witness restarted, or the
// node did) gets a `challenge` reply instead of a decision: it carries the witness's challenge,
// and the node sends the same request again echoing it (docs/adr/0006-replay-protection.md).
import type { WitnessInput, WitnessReply } from './pure/witness';

/** The wire `lan` byte of witness traffic; heartbeat LAN indexes stay below it. */
export const WITNESS_CHANNEL = 255;
/** The witness's sender id on the wire; a node may not use this name. */
export const WITNESS_NODE_ID = 'hakit-witness';
export const DEFAULT_WITNESS_PORT = 9010;

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStr = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= 64;
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

export function parseWitnessInput(j: unknown): WitnessInput | undefined {
  if (!isObj(j) || !isStr(j['module']) || !isStr(j['node'])) return undefined;
  if (j['type'] === 'Release') {
    // up_to_request_id is optional: a release without it frees the lease whatever granted it.
    if (j['up_to_request_id'] !== undefined && !isCount(j['up_to_request_id'])) return undefined;
    const rel = { type: 'Release', module: j['module'], node: j['node'] } as const;
    return j['up_to_request_id'] === undefined ? rel : { ...rel, up_to_request_id: j['up_to_request_id'] };
  }
  if (j['type'] !== 'Request' || !isCount(j['request_id']) || !isCount(j['epoch'])) return undefined;
  if (typeof j['force'] !== 'boolean' || typeof j['bump'] !== 'boolean') return undefined;
  // lease_ms is optional: a request without it gets the witness's longest lease.
  if (j['lease_ms'] !== undefined && !isCount(j['lease_ms'])) return undefined;
  const base = { type: 'Request', module: j['module'], node: j['node'], request_id: j['request_id'], epoch: j['epoch'], force: j['force'], bump: j['bump'] } as const;
  return j['lease_ms'] === undefined ? base : { ...base, lease_ms: j['lease_ms'] };
}

const REASONS = new Set(['granted', 'held-by-other', 'stale-epoch', 'challenge']);

/** Challenge rounds one witness request may take before it is counted as unanswered. */
export const MAX_WITNESS_CHALLENGE_ROUNDS = 2;

export function parseWitnessReply(j: unknown): WitnessReply | undefined {
  if (!isObj(j) || !isStr(j['module']) || !isStr(j['node']) || !isCount(j['request_id'])) return undefined;
  if (typeof j['granted'] !== 'boolean' || !isCount(j['lease_ms']) || !isCount(j['epoch'])) return undefined;
  if (typeof j['reason'] !== 'string' || !REASONS.has(j['reason'])) return undefined;
  return j as unknown as WitnessReply;
}
