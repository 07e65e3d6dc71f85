// Login rate limiting (pure): a token bucket per client address and one per user name. Every
// login attempt takes a token from both *before* its password is hashed, so attempts sent at
// once count as many (taken after the hash, a burst of parallel guesses all passed the check
// while the first ones were still hashing); a success gives the address's token back and
// clears the user's bucket. When either is empty the login is refused (429) before the
// password is hashed, so guessing costs the attacker time and the node no CPU.
export const LOGIN_BURST = 5;
/** One more attempt allowed every this many ms. */
export const LOGIN_REFILL_MS = 12_000;
/** Buckets kept; beyond it the fullest (least interesting) ones are forgotten. */
export const MAX_LIMITER_KEYS = 10_000;

export interface Bucket {
  readonly tokens: number;
  readonly at_ms: number;
}
export type Buckets = ReadonlyMap<string, Bucket>;

function level(b: Bucket | undefined, now_ms: number): number {
  if (!b) return LOGIN_BURST;
  return Math.min(LOGIN_BURST, b.tokens + Math.max(0, now_ms - b.at_ms) / LOGIN_REFILL_MS);
}

/** ms to wait before the next attempt for these keys (0: go ahead). */
export function loginDelayMs(buckets: Buckets, keys: readonly string[], now_ms: number): number {
  let wait = 0;
  for (const k of keys) {
    const t = level(buckets.get(k), now_ms);
    if (t < 1) wait = Math.max(wait, Math.ceil((1 - t) * LOGIN_REFILL_MS));
  }
  return wait;
}

/** An attempt starts: one token from each key's bucket. */
export function takeAttempt(buckets: Buckets, keys: readonly string[], now_ms: number): Map<string, Bucket> {
  const next = new Map(buckets);
  for (const k of keys) next.set(k, { tokens: Math.max(0, level(buckets.get(k), now_ms) - 1), at_ms: now_ms });
  if (next.size > MAX_LIMITER_KEYS) {
    // Forget the buckets that have refilled: they hold no information.
    for (const [k, b] of next) if (level(b, now_ms) >= LOGIN_BURST) next.delete(k);
    while (next.size > MAX_LIMITER_KEYS) next.delete(next.keys().next().value as string);
  }
  return next;
}

/** The attempt succeeded: the user's bucket is cleared, the address gets its token back. */
export function attemptSucceeded(buckets: Buckets, user_key: string, ip_key: string, now_ms: number): Map<string, Bucket> {
  const next = new Map(buckets);
  next.delete(user_key);
  const ip = buckets.get(ip_key);
  if (ip) next.set(ip_key, { tokens: Math.min(LOGIN_BURST, level(ip, now_ms) + 1), at_ms: now_ms });
  return next;
}
