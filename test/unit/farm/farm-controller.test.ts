// The farm controller performs the machine's SetVip (W3b item 3): the filter is loaded closed
// before the VIP is added, the VIP is added once (by the machine's effect, never by the
// controller on its own), removed by SetVip(false), and the tables go once the module settled.
import { FarmController } from '../../../core/farm/controller';
import { SILENT_LOG } from '../../../core/log/sink';
import type { ModuleStateName, SubStatus } from '../../../core/module/pure/types';
import { FakeVipManager } from '../../../core/net/fake-vip-manager';
import type { VipSpec } from '../../../core/net/types';
import { FakeFilterBackend } from '../../../filters/nft/fake-backend';
import { validateFarmFilter } from '../../../filters/pure/validate';

const VIP: VipSpec = { address: '198.18.0.151', prefix_len: 24, ifname: 'eth0' };

function setup() {
  const v = validateFarmFilter({ module: 'web', interface: 'eth0', groups: [{ vips: [VIP.address], rules: [{ proto: 'tcp', ports: [80], balance: 'on_addr' }] }] });
  if (!v.ok) throw new Error('bad filter');
  const backend = new FakeFilterBackend();
  const order: string[] = [];
  const vips = new (class extends FakeVipManager {
    override async ensurePresent(vip: VipSpec) {
      order.push(`vip+ ${vip.address}`);
      return super.ensurePresent(vip);
    }
  })();
  const loggedBackend = new Proxy(backend, {
    get(target, prop, recv) {
      const f = Reflect.get(target, prop, recv) as unknown;
      if (typeof f !== 'function') return f;
      return (...args: unknown[]) => {
        order.push(`nft ${String(prop)}`);
        return (f as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const c = new FarmController({ module: 'web', node: 'node1', filter: v.filter, powers: { node1: 1, node2: 1 }, backend: loggedBackend, vips, vip_specs: [VIP], log: SILENT_LOG, onWire: () => undefined, now_ms: () => 0 });
  const port = c.vipPort();
  const at = async (state: ModuleStateName, status: SubStatus): Promise<void> => {
    c.localChanged(state, status);
    await c.whenIdle();
  };
  return { c, port, vips, backend, order, at };
}

test('start: filter loaded closed, then the VIP (once); the buckets open when the application is up', async () => {
  const t = setup();
  expect(await t.port.ensurePresent(VIP)).toBe('added');
  expect(t.order).toEqual(['nft load', `vip+ ${VIP.address}`]);
  expect(t.backend.tables.get('web')).toEqual([]);
  await t.at('UP', 'Transient'); // start_both running
  await t.at('UP', 'Ready');
  expect(t.backend.tables.get('web')).toHaveLength(256); // alone: every bucket
  expect(t.vips.log.filter((l) => l.startsWith('add'))).toHaveLength(1);
  expect(t.c.status().filter).toBe('loaded');
});

test('stop: SetVip(false) removes the VIP; the tables go once the module settled in STOP', async () => {
  const t = setup();
  await t.port.ensurePresent(VIP);
  await t.at('UP', 'Ready');
  await t.at('STOP', 'Transient'); // stop_both running
  expect(t.backend.tables.get('web')).toEqual([]);
  expect(await t.port.ensureAbsent(VIP)).toBe('removed');
  await t.c.whenIdle();
  expect(t.backend.tables.has('web')).toBe(true); // poststop still to run
  await t.at('STOP', 'NotReady');
  expect(t.backend.tables.has('web')).toBe(false);
  expect(t.vips.present.size).toBe(0);
});

test('a filter that cannot load: the VIP is not added and the coded error shows', async () => {
  const t = setup();
  t.backend.failNext();
  await expect(t.port.ensurePresent(VIP)).rejects.toMatchObject({ code: 'HAKIT_E_FARM_NOT_OPEN' });
  expect(t.vips.present.size).toBe(0);
  expect(t.c.status().error?.code).toBe('HAKIT_E_FILTER_NFT_FAILED');
});
