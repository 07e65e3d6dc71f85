// VIPs that expire on their own (core/net, docs/adr/0005-fencing-by-expiry.md), on this
// kernel, in the test's own namespaces: an address added with valid_lft is removed by the
// kernel about a second later unless renewed; renew() never brings an absent VIP back; the
// VipKeeper renews while it lives and stops when disposed (as when hakitd dies).
import { RealCommandRunner } from '../../core/net/command-runner';
import { IpVipManager } from '../../core/net/vip-manager';
import { VipKeeper } from '../../core/net/vip-keeper';
import { fenceTiming, KERNEL_ADDR_DELAY_MS } from '../../core/net/pure/fence-timing';
import { SILENT_LOG } from '../../core/log/sink';
import { makePair, type NsPair } from '../daemon/helpers/netns';

let pair: NsPair | undefined;
beforeAll(() => {
  pair = makePair('vl', 214);
});
afterAll(() => pair?.destroy());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** ms until the VIP is gone (polled every 10 ms, bounded). */
async function goneAfter(vips: IpVipManager, vip: { address: string; prefix_len: number; ifname: string }, max_ms: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < max_ms) {
    if (!(await vips.isPresent(vip))) return Date.now() - t0;
    await sleep(10);
  }
  return -1;
}

it('a VIP with a 1 s lifetime is removed by the kernel within 1 s + its check delay; renew() extends it and never re-adds it', async () => {
  const p = pair!;
  const vips = new IpVipManager(new RealCommandRunner(['ip', 'netns', 'exec', p.a]), { lifetime_s: 1 });
  const vip = { address: '198.18.214.100', prefix_len: 24, ifname: p.ifA };
  expect(await vips.ensurePresent(vip)).toBe('added');
  for (let i = 0; i < 6; i++) {
    await sleep(300);
    expect(await vips.renew(vip)).toBe(true);
  }
  const gone_ms = await goneAfter(vips, vip, 3000);
  console.log(`VIP with valid_lft 1 s gone ${gone_ms} ms after its last renewal`);
  expect(gone_ms).toBeGreaterThan(800);
  expect(gone_ms).toBeLessThanOrEqual(1000 + KERNEL_ADDR_DELAY_MS + 100);
  expect(await vips.renew(vip)).toBe(false);
  expect(await vips.isPresent(vip)).toBe(false);
});

it('the VipKeeper renews its VIPs while it lives; once disposed (daemon dead) the kernel removes them', async () => {
  const p = pair!;
  const timing = fenceTiming({ period_ms: 500, timeout_ms: 2500 });
  const ip = new IpVipManager(new RealCommandRunner(['ip', 'netns', 'exec', p.a]), { lifetime_s: timing.vip_lifetime_s });
  const t0 = Date.now();
  const keeper = new VipKeeper({ vips: ip, timing, now_ms: () => Date.now() - t0, takeoverAt_ms: () => 0, log: SILENT_LOG });
  const vip = { address: '198.18.214.101', prefix_len: 24, ifname: p.ifA };
  try {
    expect(await keeper.ensurePresent(vip)).toBe('added');
    await sleep(2500);
    expect(await ip.isPresent(vip)).toBe(true);
    keeper.dispose();
    const gone_ms = await goneAfter(ip, vip, 3000);
    expect(gone_ms).toBeGreaterThan(0);
    expect(gone_ms).toBeLessThanOrEqual(timing.vip_gone_ms + 100);
  } finally {
    keeper.dispose();
    await ip.ensureAbsent(vip);
  }
});

it('the VipKeeper holds a takeover back until a silent peer\'s copy has surely expired', async () => {
  const p = pair!;
  const timing = fenceTiming({ period_ms: 150, timeout_ms: 800 });
  const ip = new IpVipManager(new RealCommandRunner(['ip', 'netns', 'exec', p.a]), { lifetime_s: timing.vip_lifetime_s });
  const t0 = Date.now();
  const now = () => Date.now() - t0;
  // The peer was last heard at 0; the daemon notices it at its timeout (800 ms).
  const keeper = new VipKeeper({ vips: ip, timing, now_ms: now, takeoverAt_ms: () => timing.vip_takeover_hold_ms, log: SILENT_LOG });
  const vip = { address: '198.18.214.102', prefix_len: 24, ifname: p.ifA };
  try {
    await sleep(800);
    await keeper.ensurePresent(vip);
    expect(now()).toBeGreaterThanOrEqual(timing.vip_takeover_hold_ms);
  } finally {
    keeper.dispose();
    await ip.ensureAbsent(vip);
  }
});
