// Coded refusals of ticket (lease) requests at the arbitrator (docs/geo.md, "Bad input"): a
// request whose MAC does not verify, or that comes from an older life of its node than one
// already seen, changes nothing and gets no answer; the arbitrator says so with a code, at
// most once per reason and sender per interval, so that a flood does not flood its log.
import type { ErrorCode } from '../../errors/catalogue';
import type { DropReason } from '../../membership/wire/codec';

/** At most one refusal line per (reason, sender) within this interval. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** Distinct (reason, sender) keys remembered; beyond it the oldest are forgotten. */
export const REFUSAL_LOG_MAX_KEYS = 256;

const CODES: Partial<Record<DropReason, ErrorCode>> = {
  bad_mac: 'HAKIT_E_TICKET_BAD_SIGNATURE',
  stale_incarnation: 'HAKIT_E_TICKET_OLD_INCARNATION',
};

export function refusalCode(reason: DropReason): ErrorCode | null {
  return CODES[reason] ?? null;
}

export interface RefusalLogState {
  /** Last line time per `${reason} ${from}`, insertion-ordered (oldest first). */
  readonly last_ms: ReadonlyMap<string, number>;
}

export const EMPTY_REFUSALS: RefusalLogState = { last_ms: new Map() };

/** Decides whether this refusal is written now; returns the line to write (or null) and the next state. */
export function noteRefusal(s: RefusalLogState, reason: DropReason, from: string, now_ms: number): { state: RefusalLogState; line: { code: ErrorCode; reason: DropReason; from: string } | null } {
  const code = refusalCode(reason);
  if (code === null) return { state: s, line: null };
  const key = `${reason} ${from}`;
  const last = s.last_ms.get(key);
  if (last !== undefined && now_ms - last < REFUSAL_LOG_INTERVAL_MS) return { state: s, line: null };
  const next = new Map(s.last_ms);
  next.delete(key);
  next.set(key, now_ms);
  while (next.size > REFUSAL_LOG_MAX_KEYS) next.delete(next.keys().next().value as string);
  return { state: { last_ms: next }, line: { code, reason, from } };
}
