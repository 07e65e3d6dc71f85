// Real VIPs in H6's own namespaces: idempotent add/del read back from the kernel, and a
// gratuitous ARP burst that teaches the neighbour the VIP's MAC.
import { RealCommandRunner } from '../../../core/net/command-runner';
import { IpVipManager } from '../../../core/net/vip-manager';
import { makePair, sh, type NsPair } from '../helpers/netns';

let pair: NsPair | undefined;
beforeAll(() => {
  pair = makePair('vp', 202);
});
afterAll(() => pair?.destroy());

it('adds and removes a VIP idempotently, reading the kernel back', async () => {
  const p = pair!;
  const vips = new IpVipManager(new RealCommandRunner(['ip', 'netns', 'exec', p.a]));
  const vip = { address: '198.18.202.100', prefix_len: 24, ifname: p.ifA };
  expect(await vips.isPresent(vip)).toBe(false);
  expect(await vips.ensurePresent(vip)).toBe('added');
  expect(await vips.ensurePresent(vip)).toBe('unchanged');
  expect(sh(['ip', '-n', p.a, '-4', 'addr', 'show', 'dev', p.ifA]).stdout).toContain('198.18.202.100/24');
  expect(await vips.ensureAbsent(vip)).toBe('removed');
  expect(await vips.ensureAbsent(vip)).toBe('unchanged');
  expect(await vips.isPresent(vip)).toBe(false);
});

it('refuses bad addresses and reports a missing interface with a coded error', async () => {
  const p = pair!;
  const vips = new IpVipManager(new RealCommandRunner(['ip', 'netns', 'exec', p.a]));
  await expect(vips.ensurePresent({ address: '198.18.1.300', prefix_len: 24, ifname: p.ifA })).rejects.toMatchObject({ code: 'HAKIT_E_VIP_BAD_ADDRESS' });
  await expect(vips.ensurePresent({ address: '198.18.1.3', prefix_len: 24, ifname: 'eth0; rm -rf /' })).rejects.toMatchObject({ code: 'HAKIT_E_VIP_BAD_ADDRESS' });
  await expect(vips.ensurePresent({ address: '198.18.202.101', prefix_len: 24, ifname: 'hdnosuch' })).rejects.toMatchObject({ code: 'HAKIT_E_VIP_COMMAND' });
});

it('sends a gratuitous ARP burst that the neighbour learns the VIP from', async () => {
  const p = pair!;
  sh(['ip', 'netns', 'exec', p.b, 'sysctl', '-q', '-w', `net.ipv4.conf.${p.ifB}.arp_accept=1`]);
  const vips = new IpVipManager(new RealCommandRunner(['ip', 'netns', 'exec', p.a]));
  const vip = { address: '198.18.202.110', prefix_len: 24, ifname: p.ifA };
  await vips.ensurePresent(vip);
  const t0 = Date.now();
  await vips.announce(vip, 2);
  expect(Date.now() - t0).toBeLessThan(4000);
  const macA = (JSON.parse(sh(['ip', '-n', p.a, '-j', 'link', 'show', p.ifA]).stdout) as Array<{ address: string }>)[0]!.address;
  const neigh = sh(['ip', '-n', p.b, 'neigh', 'show', '198.18.202.110']).stdout;
  expect(neigh).toContain(macA);
  await vips.ensureAbsent(vip);
}, 20_000);
