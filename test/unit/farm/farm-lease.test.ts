// Fencing by expiry in the farm controller (docs/adr/0005-fencing-by-expiry.md): owned buckets
// are renewed every renew_ms while the daemon lives; after a gap of a whole lease (event loop
// stalled) the lease counts as lost: buckets given up, taken again only after hold_ms; while
// the daemon has not listened for a heartbeat timeout yet, a silent peer may hold anything.
import { FarmController, type FarmLease } from '../../../core/farm/controller';
import { SILENT_LOG } from '../../../core/log/sink';
import type { LogSink } from '../../../core/log/sink';
import type { PeerModuleView } from '../../../core/membership/pure/types';
import { FakeVipManager } from '../../../core/net/fake-vip-manager';
import type { VipSpec } from '../../../core/net/types';
import { FakeFilterBackend } from '../../../filters/nft/fake-backend';
import { validateFarmFilter } from '../../../filters/pure/validate';
import { until } from '../../support/until';

const VIP: VipSpec = { address: '198.18.0.151', prefix_len: 24, ifname: 'eth0' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(lease: FarmLease, powers: Record<string, number> = { node1: 1 }) {
  const v = validateFarmFilter({ module: 'web', interface: 'eth0', lease_ms: lease.lease_ms, groups: [{ vips: [VIP.address], rules: [{ proto: 'tcp', ports: [80], balance: 'on_addr' }] }] });
  if (!v.ok) throw new Error('bad filter');
  const backend = new FakeFilterBackend();
  const t0 = Date.now();
  const clock = { skew_ms: 0 };
  const errors: string[] = [];
  const log: LogSink = { ...SILENT_LOG, error: (o: Record<string, unknown>) => void errors.push(String(o['code'])) } as LogSink;
  const c = new FarmController({ module: 'web', node: 'node1', filter: v.filter, powers, backend, vips: new FakeVipManager(), vip_specs: [VIP], log, onWire: () => undefined, now_ms: () => Date.now() - t0 + clock.skew_ms, lease });
  return { c, backend, clock, errors };
}

const renewals = (b: FakeFilterBackend): number => b.calls.filter((x) => x.op === 'setOwned' && (x.owned?.length ?? 0) > 0).length;

test('a living controller renews its buckets every renew_ms; dispose stops the renewals', async () => {
  const t = setup({ lease_ms: 300, renew_ms: 100, listen_ms: 0, hold_ms: 1000 });
  await t.c.vipPort().ensurePresent(VIP);
  t.c.localChanged('UP', 'Ready');
  await t.c.whenIdle();
  expect(t.backend.tables.get('web')).toHaveLength(256);
  const first = renewals(t.backend);
  await sleep(450);
  expect(renewals(t.backend) - first).toBeGreaterThanOrEqual(3);
  await t.c.dispose();
  const atDispose = renewals(t.backend);
  await sleep(250);
  expect(renewals(t.backend)).toBe(atDispose);
});

test('a stall of a whole lease: buckets given up (HAKIT_E_FENCE_LEASE_LOST), taken again after hold_ms', async () => {
  const t = setup({ lease_ms: 300, renew_ms: 100, listen_ms: 0, hold_ms: 600 });
  await t.c.vipPort().ensurePresent(VIP);
  t.c.localChanged('UP', 'Ready');
  await t.c.whenIdle();
  t.clock.skew_ms += 400; // the event loop "stood still" for 400 ms
  await sleep(120); // next renewal tick sees the gap
  await t.c.whenIdle();
  expect(t.errors).toContain('HAKIT_E_FENCE_LEASE_LOST');
  expect(t.backend.tables.get('web')).toEqual([]);
  expect(t.c.wire().applied).toBeNull();
  await sleep(700);
  await t.c.whenIdle();
  expect(t.backend.tables.get('web')).toHaveLength(256);
  expect(t.c.wire().applied).toEqual(['node1']);
  await t.c.dispose();
});

test('before it listened for a timeout, a silent peer may hold any bucket: nothing is taken until then', async () => {
  const t = setup({ lease_ms: 300, renew_ms: 100, listen_ms: 400, hold_ms: 600 }, { node1: 1, node2: 1 });
  const silent: PeerModuleView = { node: 'node2', reachable: false, lansUp: [], module: null };
  t.c.peersChanged([silent]);
  await t.c.vipPort().ensurePresent(VIP);
  t.c.localChanged('UP', 'Ready');
  await t.c.whenIdle();
  expect(t.backend.tables.get('web')).toEqual([]);
  expect(t.c.status().waiting_for).toEqual(['node2']);
  await sleep(500);
  await t.c.whenIdle();
  expect(t.backend.tables.get('web')).toHaveLength(256);
  await t.c.dispose();
});

const setOwnedCalls = (b: FakeFilterBackend): number => b.calls.filter((x) => x.op === 'setOwned').length;

test('a failing nft does not freeze the controller: it retries with a growing delay, announces nothing once its buckets surely expired, and owns its share again when nft works', async () => {
  // nft_timeout_ms: a failed call may have committed up to this long after it started.
  const t = setup({ lease_ms: 300, renew_ms: 50, listen_ms: 0, hold_ms: 200, nft_timeout_ms: 200 });
  await t.c.vipPort().ensurePresent(VIP);
  t.c.localChanged('UP', 'Ready');
  await t.c.whenIdle();
  expect(t.c.wire().applied).toEqual(['node1']);
  const before = setOwnedCalls(t.backend);
  t.backend.failAll('HAKIT_E_FILTER_NFT_FAILED');
  await until('the first renewal failed', () => t.c.status().error !== null, 1_000, undefined, 5);
  // The kernel may still hold the buckets (last call's start + nft timeout + lease): still announced.
  expect(t.c.wire().applied).toEqual(['node1']);
  expect(t.c.status().error?.code).toBe('HAKIT_E_FILTER_NFT_FAILED');
  // Past that bound the node surely holds nothing: announced as none, status owned=[].
  await until('applied withdrawn', () => t.c.wire().applied === null, 2_000, () => JSON.stringify(t.c.wire()), 10);
  expect(t.c.status().owned).toEqual([]);
  expect(t.c.status().share).toBe('0/256');
  // Retried (not frozen), but fewer times than the renewal ticks (backoff).
  const attempts = setOwnedCalls(t.backend) - before;
  await sleep(1_000); // longer than the 5th delay (800 ms)
  const later = setOwnedCalls(t.backend) - before;
  expect(later).toBeGreaterThan(attempts);
  expect(later).toBeLessThan(15); // one attempt per 50 ms tick would be about 35
  t.backend.failAll(null);
  await until('share owned again', () => t.backend.tables.get('web')?.length === 256 && t.c.wire().applied?.[0] === 'node1', 8_000, () => JSON.stringify(t.c.status()), 20);
  expect(t.c.status().error).toBeNull();
  expect(t.c.status().owned).toHaveLength(256);
  await t.c.dispose();
});

test('the tables vanish (nft flush ruleset): the filter is reloaded closed at once, then the share is owned again', async () => {
  const t = setup({ lease_ms: 300, renew_ms: 50, listen_ms: 0, hold_ms: 200 });
  await t.c.vipPort().ensurePresent(VIP);
  t.c.localChanged('UP', 'Ready');
  await t.c.whenIdle();
  const loads = (): number => t.backend.calls.filter((x) => x.op === 'load').length;
  expect(loads()).toBe(1);
  t.backend.tables.delete('web'); // `systemctl reload nftables` on Debian: flush ruleset
  await until('reloaded and owning again', () => t.backend.tables.get('web')?.length === 256, 1_000, () => JSON.stringify(t.backend.calls.slice(-4)), 5);
  await t.c.whenIdle();
  expect(loads()).toBe(2);
  // Reloaded closed first (owning nothing), then the share.
  const i = t.backend.calls.map((x) => x.op).lastIndexOf('load');
  expect(t.backend.calls[i]!.owned).toEqual([]);
  expect(t.c.status().error).toBeNull();
  expect(t.c.wire().applied).toEqual(['node1']);
  await t.c.dispose();
});
