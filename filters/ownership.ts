// Bridge from the bucket leaf library to hakit: the buckets one node must own for a member
// view, with bad member lists turned into coded errors. Pure in content; it lives outside
// pure/ only because the layering rule does not yet let pure code import leaf libraries
// (see docs/farm-filter.md, "Integration").
import { HakitError } from '../core/errors/catalogue';
import { BucketInputError, bucketOwners, bucketsOf, type BalanceMode, type BucketMember } from './buckets';

export interface NodeShare {
  /** Buckets this node owns, ascending: the FilterBackend's `owned`. */
  readonly owned: number[];
  /** Owner of bucket 0: the node that also serves VIP traffic no rule matches. */
  readonly default_owner: string;
  /** "owned/256", as `hakit state -v` shows it. */
  readonly share_text: string;
}

export function nodeShare(members: readonly BucketMember[], self: string, module: string, balance: BalanceMode = 'exact'): NodeShare {
  try {
    const table = bucketOwners(members, balance);
    const owned = bucketsOf(table, self);
    return { owned, default_owner: table[0] ?? '', share_text: `${owned.length}/${table.length}` };
  } catch (e) {
    if (e instanceof BucketInputError) throw new HakitError('HAKIT_E_FILTER_MEMBERS', e.message, `module ${module}`);
    throw e;
  }
}
