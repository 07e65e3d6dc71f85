// What the farm controller applies to the kernel, decided from numbers (docs/architecture.md,
// rule 1): bucket ownership is an idempotent effect. The decision names the desired owned set
// ("owned = {…}", never "add bucket 17"); the controller hands it to FilterBackend.setOwned,
// which replaces the set in one transaction, so applying the same set twice changes nothing
// but the elements' expiry (the renewal of fencing by expiry, docs/adr/0005-fencing-by-expiry.md).
import type { FarmShare } from './share';

export interface OwnershipLease {
  /** The filter's element timeout. */
  readonly lease_ms: number;
  /** Renewal interval, at most lease_ms / 3. */
  readonly renew_ms: number;
}

export interface OwnershipInput {
  readonly self: string;
  readonly now_ms: number;
  readonly share: FarmShare;
  /** The owned set the kernel holds now (as last applied and read back). */
  readonly owned: readonly number[];
  /** Monotonic ms when the last transaction that (re)set the elements started. */
  readonly leaseStart_ms: number;
  /** After a lost lease: own nothing until then. */
  readonly holdUntil_ms: number;
  readonly lease: OwnershipLease | null;
}

export interface OwnershipPlan {
  /** The desired owned set. */
  readonly want: readonly number[];
  /** Perform setOwned(want): the set differs, or its elements are due for renewal. */
  readonly apply: boolean;
  /** The member list to announce once applied (it bounds what this node holds); null: none. */
  readonly applied: readonly string[] | null;
}

const sameList = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export function ownershipPlan(i: OwnershipInput): OwnershipPlan {
  const holding = i.now_ms < i.holdUntil_ms;
  const want = holding ? [] : i.share.owned;
  // Half a renewal interval: the timer's jitter never makes a tick skip its renewal.
  const renewDue = i.lease !== null && want.length > 0 && i.now_ms - i.leaseStart_ms >= i.lease.renew_ms / 2;
  return {
    want,
    apply: !sameList(want, i.owned) || renewDue,
    applied: !holding && i.share.members.includes(i.self) ? i.share.members : null,
  };
}

/**
 * Why the lease counts as lost, or null: a whole lease without a renewal tick (event loop
 * stalled) or without a renewal of a non-empty owned set (nft slow). Either way the peers
 * may have declared this node dead and taken its buckets.
 */
export function leaseLost(i: { readonly now_ms: number; readonly lastRenewTick_ms: number; readonly leaseStart_ms: number; readonly owned: number; readonly lease_ms: number }): string | null {
  const gap_ms = i.now_ms - i.lastRenewTick_ms;
  if (gap_ms >= i.lease_ms) return `no renewal tick for ${Math.round(gap_ms)} ms (event loop stalled)`;
  if (i.owned > 0 && i.now_ms - i.leaseStart_ms >= i.lease_ms) return `the last renewal started ${Math.round(i.now_ms - i.leaseStart_ms)} ms ago`;
  return null;
}

/** The longest wait between two attempts while the filter keeps failing (with a lease). */
export const FILTER_RETRY_MAX_MS = 5_000;

/**
 * Wait before the next attempt after `failures` failed calls in a row (>= 1): one renewal
 * interval, doubled per failure, at most FILTER_RETRY_MAX_MS (never below renew_ms). Bounded,
 * so a node whose nft recovers owns its share again within seconds; growing, so a broken nft
 * is not hammered every renewal tick.
 */
export function filterRetryDelay(failures: number, renew_ms: number): number {
  return Math.min(renew_ms * 2 ** Math.max(0, failures - 1), Math.max(renew_ms, FILTER_RETRY_MAX_MS));
}

/**
 * Until when the kernel may still hold buckets, given when the last setOwned call started
 * (successful or not). A failed call normally leaves the kernel as it was, but a call killed at
 * its timeout, or one whose read-back failed, may have committed its elements up to
 * nft_timeout_ms after it started; each element then lives lease_ms. Past this instant the
 * node surely holds nothing, whatever the failed calls did.
 */
export function mayHoldUntil(lastSetStart_ms: number, lease_ms: number, nft_timeout_ms: number): number {
  return lastSetStart_ms + nft_timeout_ms + lease_ms;
}
