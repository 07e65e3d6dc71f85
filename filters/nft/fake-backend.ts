// In-memory FilterBackend for unit tests of the module runner. Same contract as the real one:
// all-or-nothing calls, coded errors, idempotent remove. `failNext` injects an nft failure.
import { HakitError, type ErrorCode } from '../../core/errors/catalogue';
import { checkOwnedBuckets } from '../pure/render';
import type { ValidFarmFilter } from '../pure/types';
import type { FilterApplyReport, FilterBackend } from './backend';

export interface FakeCall {
  readonly op: 'load' | 'setOwned' | 'readOwned' | 'remove';
  readonly module: string;
  readonly owned?: readonly number[];
}

export class FakeFilterBackend implements FilterBackend {
  readonly calls: FakeCall[] = [];
  /** Owned set per loaded module: what the kernel would hold. */
  readonly tables = new Map<string, number[]>();
  /** Interfaces that exist on this fake node. */
  readonly interfaces: Set<string>;
  private pendingFailure: ErrorCode | undefined;
  private persistentFailure: ErrorCode | undefined;

  constructor(interfaces: readonly string[] = ['eth0']) {
    this.interfaces = new Set(interfaces);
  }

  failNext(code: ErrorCode = 'HAKIT_E_FILTER_NFT_FAILED'): void {
    this.pendingFailure = code;
  }

  /** Every call fails with `code` (a broken nft) until failAll(null). */
  failAll(code: ErrorCode | null): void {
    this.persistentFailure = code ?? undefined;
  }

  async load(filter: ValidFarmFilter, owned: readonly number[]): Promise<FilterApplyReport> {
    this.calls.push({ op: 'load', module: filter.module, owned: [...owned] });
    const buckets = checkOwnedBuckets(owned, `module ${filter.module}`);
    if (!this.interfaces.has(filter.interface)) {
      throw new HakitError('HAKIT_E_FILTER_NO_INTERFACE', `interface ${filter.interface} does not exist on this node`, `module ${filter.module}`);
    }
    this.maybeFail(filter.module);
    this.tables.set(filter.module, buckets);
    return { owned: buckets, transaction_ms: 0, elapsed_ms: 0 };
  }

  async setOwned(filter: ValidFarmFilter, owned: readonly number[]): Promise<FilterApplyReport> {
    this.calls.push({ op: 'setOwned', module: filter.module, owned: [...owned] });
    const buckets = checkOwnedBuckets(owned, `module ${filter.module}`);
    if (!this.tables.has(filter.module)) {
      throw new HakitError('HAKIT_E_FILTER_NOT_LOADED', `no table ip ${filter.table}: load the filter first`, `module ${filter.module}`);
    }
    this.maybeFail(filter.module);
    this.tables.set(filter.module, buckets);
    return { owned: buckets, transaction_ms: 0, elapsed_ms: 0 };
  }

  async readOwned(filter: ValidFarmFilter): Promise<number[] | undefined> {
    this.calls.push({ op: 'readOwned', module: filter.module });
    const owned = this.tables.get(filter.module);
    return owned ? [...owned] : undefined;
  }

  async remove(module: string): Promise<void> {
    this.calls.push({ op: 'remove', module });
    this.maybeFail(module);
    this.tables.delete(module);
  }

  private maybeFail(module: string): void {
    const code = this.pendingFailure ?? this.persistentFailure;
    if (code === undefined) return;
    this.pendingFailure = undefined;
    throw new HakitError(code, 'injected failure, previous ruleset kept', `module ${module}`);
  }
}
