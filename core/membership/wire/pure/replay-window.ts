// Anti-replay window per (sender, LAN), like IPsec's: a packet is fresh when its incarnation
// is newer, or when its sequence number is above the highest seen, or inside the last
// REPLAY_WINDOW numbers and not seen yet. Pure: the codec keeps the entries.

/** How many sequence numbers below the highest one are still accepted (reordering slack). */
export const REPLAY_WINDOW = 64;

export interface ReplayEntry {
  readonly incarnation: number;
  readonly highest_seq: number;
  /** Bit i set = sequence number (highest_seq - i) was seen. */
  readonly seen_bits: bigint;
}

export type ReplayVerdict = 'fresh' | 'replay' | 'too_old' | 'stale_incarnation';

export interface ReplayCheck {
  readonly verdict: ReplayVerdict;
  /** The entry to keep; unchanged unless the verdict is 'fresh'. */
  readonly entry: ReplayEntry | undefined;
}

const WINDOW_MASK = (1n << BigInt(REPLAY_WINDOW)) - 1n;

export function checkReplay(entry: ReplayEntry | undefined, incarnation: number, seq: number): ReplayCheck {
  if (entry === undefined || incarnation > entry.incarnation) {
    return { verdict: 'fresh', entry: { incarnation, highest_seq: seq, seen_bits: 1n } };
  }
  if (incarnation < entry.incarnation) return { verdict: 'stale_incarnation', entry };
  if (seq > entry.highest_seq) {
    const shift = seq - entry.highest_seq;
    const bits = shift >= REPLAY_WINDOW ? 1n : ((entry.seen_bits << BigInt(shift)) | 1n) & WINDOW_MASK;
    return { verdict: 'fresh', entry: { incarnation, highest_seq: seq, seen_bits: bits } };
  }
  const age = entry.highest_seq - seq;
  if (age >= REPLAY_WINDOW) return { verdict: 'too_old', entry };
  const bit = 1n << BigInt(age);
  if ((entry.seen_bits & bit) !== 0n) return { verdict: 'replay', entry };
  return { verdict: 'fresh', entry: { ...entry, seen_bits: entry.seen_bits | bit } };
}
