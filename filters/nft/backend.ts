// The FilterBackend port (docs/architecture.md, rule 5): how the farm module runner changes a node's packet
// filter. Contract, met by NftFilterBackend and by FakeFilterBackend:
//  - load() installs the module's tables with an initial owned set, replacing a leftover of a
//    crashed daemon in the same transaction; setOwned() changes only the owned set, in one
//    transaction; both read the set back and compare before resolving.
//  - Every call either fully succeeds or rejects with a HakitError (HAKIT_E_FILTER_*) and
//    leaves the kernel as it was before the call.
//  - remove() is idempotent: it succeeds when nothing is loaded.
import type { ValidFarmFilter } from '../pure/types';

export interface FilterApplyReport {
  /** Owned buckets as read back from the kernel, ascending. */
  readonly owned: readonly number[];
  /** Time of the nft transaction alone. */
  readonly transaction_ms: number;
  /** Transaction plus read-back and comparison. */
  readonly elapsed_ms: number;
}

export interface FilterBackend {
  load(filter: ValidFarmFilter, owned: readonly number[]): Promise<FilterApplyReport>;
  setOwned(filter: ValidFarmFilter, owned: readonly number[]): Promise<FilterApplyReport>;
  /** The owned set in the kernel, or undefined when the module's filter is not loaded. */
  readOwned(filter: ValidFarmFilter): Promise<number[] | undefined>;
  remove(module: string): Promise<void>;
}
