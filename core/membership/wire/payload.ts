// Shape check of a heartbeat's JSON payload (membership's HeartbeatPayload). The MAC proves
// who sent it, not that the sender runs a compatible version: a payload we cannot read is
// dropped as `bad_payload`, never half-used.
import type { HeartbeatPayload } from '../pure/types';
import { MIRROR_STATES, FARM_STATES, SUB_STATUSES, type ModuleAnnouncement } from '../pure/announcement';

/** Modules one heartbeat may carry. */
export const MAX_MODULES_PER_HEARTBEAT = 64;

const STATES = new Set<string>([...MIRROR_STATES, ...FARM_STATES]);
const MODES = new Set(['mirror', 'farm', 'light']);
const STATUSES = new Set<string>(SUB_STATUSES);
const ROLES = new Set(['none', 'ALONE', 'PRIM', 'SECOND']);
const BOOLEAN_FIELDS = ['serving', 'copyComplete', 'tookOver', 'handover', 'wantsPrim', 'started'] as const;
/** Added later: older peers do not send them. */
const OPTIONAL_BOOLEAN_FIELDS = ['replicating', 'peerUnreplicatedSeen'] as const;
const OPTIONAL_COUNT_FIELDS = ['sessions', 'peerUnreplicatedSession'] as const;

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

function parseAnnouncement(a: unknown): ModuleAnnouncement | undefined {
  if (!isObj(a)) return undefined;
  if (typeof a['module'] !== 'string' || a['module'].length === 0 || a['module'].length > 64) return undefined;
  if (typeof a['mode'] !== 'string' || !MODES.has(a['mode'])) return undefined;
  if (typeof a['state'] !== 'string' || !STATES.has(a['state'])) return undefined;
  if (typeof a['status'] !== 'string' || !STATUSES.has(a['status'])) return undefined;
  if (typeof a['lastRole'] !== 'string' || !ROLES.has(a['lastRole'])) return undefined;
  if (!isCount(a['epoch'])) return undefined;
  for (const f of BOOLEAN_FIELDS) if (typeof a[f] !== 'boolean') return undefined;
  for (const f of OPTIONAL_BOOLEAN_FIELDS) if (a[f] !== undefined && typeof a[f] !== 'boolean') return undefined;
  for (const f of OPTIONAL_COUNT_FIELDS) if (a[f] !== undefined && !isCount(a[f])) return undefined;
  // Unknown extra fields of a newer peer are kept: additive changes stay compatible.
  return a as unknown as ModuleAnnouncement;
}

/** The longest silence a sender may ask to be waited for (the wan profile's is 5 s). */
export const MAX_LOST_AFTER_MS = 60_000;

export function parseHeartbeatPayload(json: unknown): HeartbeatPayload | undefined {
  if (!isObj(json) || !isCount(json['version']) || !Array.isArray(json['modules'])) return undefined;
  const lost_after_ms = json['lost_after_ms'];
  if (lost_after_ms !== undefined && !(isCount(lost_after_ms) && lost_after_ms > 0 && lost_after_ms <= MAX_LOST_AFTER_MS)) return undefined;
  const raw = json['modules'] as unknown[];
  if (raw.length > MAX_MODULES_PER_HEARTBEAT) return undefined;
  const modules: ModuleAnnouncement[] = [];
  for (const a of raw) {
    const m = parseAnnouncement(a);
    if (m === undefined) return undefined;
    modules.push(m);
  }
  return { version: json['version'], modules, ...(lost_after_ms !== undefined ? { lost_after_ms } : {}) };
}
