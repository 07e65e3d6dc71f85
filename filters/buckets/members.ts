// Input checks for the bucket library. The library is a leaf (it imports nothing of hakit),
// so it reports bad input with its own error class; callers map it to a coded error.

/** Number of buckets a farm module's client space is cut into (the filter hashes mod 256). */
export const BUCKET_COUNT = 256;
/** Largest accepted `power`: keeps 256 * power / total exact in a double. */
export const MAX_POWER = 1_000_000_000;

/** One UP member of a farm module and its weight. */
export interface BucketMember {
  /** Node name, identical on every node (it is hashed). */
  readonly id: string;
  /**
   * Relative weight, an integer (SafeKit calls it power). 0 marks a spare: it owns buckets
   * only while no member with a positive power is UP, and then they share equally.
   */
  readonly power: number;
}

export class BucketInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BucketInputError';
  }
}

/** Members sorted by id after checking ids and powers, so results never depend on input order. */
export function canonicalMembers(members: readonly BucketMember[]): BucketMember[] {
  if (members.length === 0) throw new BucketInputError('no members: at least one UP member is needed to own the buckets');
  const seen = new Set<string>();
  for (const m of members) {
    if (m.id.length === 0) throw new BucketInputError('a member has an empty id');
    if (seen.has(m.id)) throw new BucketInputError(`member "${m.id}" appears twice`);
    seen.add(m.id);
    if (!Number.isInteger(m.power) || m.power < 0 || m.power > MAX_POWER) {
      throw new BucketInputError(`member "${m.id}": power ${m.power} is not an integer in 0..${MAX_POWER}`);
    }
  }
  return [...members].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

/** The members that take load: those with a positive power, or every spare at power 1 when only spares are UP. */
export function loadMembers(sorted: readonly BucketMember[]): BucketMember[] {
  const weighted = sorted.filter((m) => m.power > 0);
  return weighted.length > 0 ? weighted : sorted.map((m) => ({ id: m.id, power: 1 }));
}
