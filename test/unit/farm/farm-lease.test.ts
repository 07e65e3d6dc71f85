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
