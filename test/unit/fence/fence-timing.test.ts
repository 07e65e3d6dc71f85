// The fencing relation (core/net/pure/fence-timing.ts, docs/adr/0005-fencing-by-expiry.md):
// leases derived from the heartbeat profile always run out before the peers take over.
import fc from 'fast-check';
import { isHakitError } from '../../../core/errors/catalogue';
import { BUCKET_LEASE_MIN_MS, KERNEL_ADDR_DELAY_MS, fenceTiming, vipTakeoverAt } from '../../../core/net/pure/fence-timing';
import { HEART_PROFILES } from '../../../core/config/pure/types';

test('default profile: bucket lease 1750 ms renewed every 583 ms, VIP 1 s, no takeover hold beyond the timeout', () => {
  const t = fenceTiming(HEART_PROFILES.default);
  expect(t).toMatchObject({ margin_ms: 250, bucket_lease_ms: 1750, bucket_renew_ms: 583, vip_lifetime_s: 1, vip_gone_ms: 1000 + KERNEL_ADDR_DELAY_MS });
  expect(t.vip_takeover_hold_ms).toBeLessThanOrEqual(t.timeout_ms);
});

test('fast profile: bucket lease 550 ms; a VIP cannot expire that fast, so its takeover waits 1.5 s after the last heartbeat', () => {
  const t = fenceTiming(HEART_PROFILES.fast);
  expect(t).toMatchObject({ bucket_lease_ms: 550, bucket_renew_ms: 183, vip_lifetime_s: 1 });
  expect(t.vip_takeover_hold_ms).toBe(150 + 1250 + 100);
  // Unreachable peer last heard at 10 000: the VIP may be added from 11 500 on.
  expect(vipTakeoverAt(t, 0, [10_000])).toBe(11_500);
  // Never heard since this daemon started at 5 000: counted from the start.
  expect(vipTakeoverAt(t, 5_000, [undefined])).toBe(6_500);
  expect(vipTakeoverAt(t, 0, [])).toBe(0);
});

test('a timeout too short for a lease is a coded config error naming the timeout to use', () => {
  let code = '';
  try {
    fenceTiming({ period_ms: 150, timeout_ms: 350 });
  } catch (e) {
    code = isHakitError(e) ? `${e.code} ${e.message}` : String(e);
  }
  expect(code).toMatch(/^HAKIT_E_FENCE_TIMING .*raise the timeout to 400 ms/);
  expect(() => fenceTiming({ period_ms: 500, timeout_ms: 500 })).toThrow(/must exceed the period/);
});

test('for every accepted profile: period + lease + margin <= timeout, three renewals per lease, VIP gone before the hold ends', () => {
  fc.assert(
    fc.property(fc.integer({ min: 20, max: 60_000 }), fc.integer({ min: 3, max: 50 }), (period_ms, pulses) => {
      const timeout_ms = Math.min(600_000, period_ms * pulses);
      let t;
      try {
        t = fenceTiming({ period_ms, timeout_ms });
      } catch (e) {
        return isHakitError(e) && e.code === 'HAKIT_E_FENCE_TIMING';
      }
      return (
        t.period_ms + t.bucket_lease_ms + t.margin_ms <= t.timeout_ms &&
        t.bucket_lease_ms >= BUCKET_LEASE_MIN_MS &&
        t.bucket_renew_ms * 3 <= t.bucket_lease_ms &&
        t.vip_renew_ms * 3 <= t.vip_lifetime_s * 1000 &&
        t.vip_takeover_hold_ms >= t.period_ms + t.vip_gone_ms
      );
    }),
  );
});
