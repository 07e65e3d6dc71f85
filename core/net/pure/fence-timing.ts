// Fencing by expiry (docs/adr/0005-fencing-by-expiry.md): what a node holds in the kernel
// (farm buckets, VIPs) expires on its own unless the living daemon renews it. The peers take
// it over once they have not heard the node for their heartbeat timeout, so a lease must run
// out before that:
//
//   last renewal <= last heartbeat the peers heard + period  (a dead daemon sends and renews
//                                                             nothing; one period of slack)
//   held until    <= last renewal + lease + kernel delay + command latency
//   takeover      >= last heartbeat the peers heard + timeout
//
// so  period + lease + kernel delay + margin <= timeout  must hold. Farm buckets are nft set
// elements with a millisecond timeout (no kernel delay: an expired element no longer matches).
// A VIP is an address with valid_lft in whole seconds, removed by the kernel's address
// worker up to KERNEL_ADDR_DELAY_MS late (measured 1.02-1.16 s for 1 s on kernel 6.18); when
// the profile is too short for that (the `fast` profile), the survivor holds its VIP
// takeover back until the old holder's address has surely gone (vip_takeover_hold_ms).
// Pure: numbers in, numbers out.
import { HakitError } from '../../errors/catalogue';

/** Slack for nft/ip command latency and heartbeat delivery; at least this, or timeout/10. */
export const FENCE_MARGIN_MIN_MS = 100;
/** Renew this many times per lease: two renewals in a row may be slow without losing it. */
export const RENEWALS_PER_LEASE = 3;
/** Shortest bucket lease: renewing more often than every ~50 ms would load the node. */
export const BUCKET_LEASE_MIN_MS = 150;
/** IPv4 address lifetimes are whole seconds; the shortest is 1 s. */
export const VIP_LIFETIME_MIN_S = 1;
/** The kernel checks address lifetimes at most HZ/4 after they end (net/ipv4/devinet.c). */
export const KERNEL_ADDR_DELAY_MS = 250;

export interface HeartbeatTiming {
  readonly period_ms: number;
  readonly timeout_ms: number;
}

export interface FenceTiming {
  readonly period_ms: number;
  readonly timeout_ms: number;
  readonly margin_ms: number;
  /** Timeout of every farm bucket element in the nft owned set. */
  readonly bucket_lease_ms: number;
  /** How often the farm controller renews its buckets. */
  readonly bucket_renew_ms: number;
  /** valid_lft/preferred_lft of a VIP. */
  readonly vip_lifetime_s: number;
  /** Latest a dead holder's VIP is gone, counted from its last renewal. */
  readonly vip_gone_ms: number;
  /** How often the VIP keeper renews the VIPs. */
  readonly vip_renew_ms: number;
  /**
   * After the last heartbeat heard from an unreachable peer: the earliest a VIP it may have
   * held can be added here. Equals or is below timeout_ms when the profile leaves room.
   */
  readonly vip_takeover_hold_ms: number;
}

/** Derives the leases from the heartbeat profile and checks the fencing relation. */
export function fenceTiming(p: HeartbeatTiming, where = 'heartbeat profile'): FenceTiming {
  const { period_ms, timeout_ms } = p;
  if (!(period_ms > 0) || !(timeout_ms > period_ms)) {
    throw new HakitError('HAKIT_E_FENCE_TIMING', `heartbeat timeout ${timeout_ms} ms must exceed the period ${period_ms} ms`, where);
  }
  const margin_ms = Math.max(FENCE_MARGIN_MIN_MS, Math.round(timeout_ms / 10));
  const bucket_lease_ms = timeout_ms - period_ms - margin_ms;
  if (bucket_lease_ms < BUCKET_LEASE_MIN_MS) {
    throw new HakitError(
      'HAKIT_E_FENCE_TIMING',
      `heartbeat timeout ${timeout_ms} ms leaves a farm bucket lease of ${bucket_lease_ms} ms after the period ${period_ms} ms and margin ${margin_ms} ms; ` +
        `at least ${BUCKET_LEASE_MIN_MS} ms is needed: raise the timeout to ${period_ms + margin_ms + BUCKET_LEASE_MIN_MS} ms or more`,
      where,
    );
  }
  const vip_lifetime_s = Math.max(VIP_LIFETIME_MIN_S, Math.floor((timeout_ms - period_ms - margin_ms - KERNEL_ADDR_DELAY_MS) / 1000));
  const vip_gone_ms = vip_lifetime_s * 1000 + KERNEL_ADDR_DELAY_MS;
  const t: FenceTiming = {
    period_ms,
    timeout_ms,
    margin_ms,
    bucket_lease_ms,
    bucket_renew_ms: Math.floor(bucket_lease_ms / RENEWALS_PER_LEASE),
    vip_lifetime_s,
    vip_gone_ms,
    vip_renew_ms: Math.floor((vip_lifetime_s * 1000) / RENEWALS_PER_LEASE),
    vip_takeover_hold_ms: period_ms + vip_gone_ms + margin_ms,
  };
  assertFenceRelation(t, where);
  return t;
}

/**
 * The same check without throwing, for the config validator: null when the profile leaves
 * room for the leases, else what is wrong (and the timeout that would do).
 */
export function fenceTimingProblem(p: HeartbeatTiming): string | null {
  try {
    fenceTiming(p, '');
    return null;
  } catch (e) {
    return e instanceof HakitError ? e.message.replace(/^: /, '') : String(e);
  }
}

/** The relation the peers' takeover relies on; a violation is a bug in fenceTiming. */
export function assertFenceRelation(t: FenceTiming, where: string): void {
  const bucketHeld = t.period_ms + t.bucket_lease_ms + t.margin_ms;
  if (bucketHeld > t.timeout_ms) {
    throw new HakitError('HAKIT_E_FENCE_TIMING', `a farm bucket may be held ${bucketHeld} ms after the last heartbeat, past the timeout ${t.timeout_ms} ms`, where);
  }
  if (t.bucket_renew_ms * RENEWALS_PER_LEASE > t.bucket_lease_ms || t.vip_renew_ms * RENEWALS_PER_LEASE > t.vip_lifetime_s * 1000) {
    throw new HakitError('HAKIT_E_FENCE_TIMING', 'a lease is renewed less than three times per lifetime', where);
  }
}

/**
 * Earliest monotonic time a VIP may be added here without a second holder: each unreachable
 * peer may hold it until `last heard + vip_takeover_hold_ms` (a peer never heard since this
 * daemon started counts as heard at `started_ms`). Reachable peers release VIPs through the
 * module protocol and are not waited for.
 */
export function vipTakeoverAt(t: FenceTiming, started_ms: number, unreachableLastHeard_ms: readonly (number | undefined)[]): number {
  let at = 0;
  for (const heard of unreachableLastHeard_ms) at = Math.max(at, (heard ?? started_ms) + t.vip_takeover_hold_ms);
  return at;
}
