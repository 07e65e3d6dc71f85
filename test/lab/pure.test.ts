// Unit tests of the lab's pure parts: layout, argument parsing, fault rendering, mountinfo.
import { parseArgs } from './pure/args';
import { cutsFor, renderFaults, setLoss } from './pure/faults';
import { mountsSince, parseMountinfo, fuseConnection, isFuse } from './pure/mountinfo';
import { checkSpec, hostAddr, hostMac, IFNAME_MAX_CHARS, lanNetwork, makePlan, MAX_LAB_INDEX, MAX_LANS, spareAddr, delayPorts, switchPort } from './pure/plan';
import { hostScript, switchScript } from './pure/scripts';

const spec = { name: 'tlp', nodes: 3, client: true, witness: true, lans: 2 };

describe('lab plan', () => {
  it('names namespaces after the lab, and plainly for the default lab', () => {
    expect(makePlan(spec, 1).hosts.map((h) => h.netns)).toEqual(['tlp-node1', 'tlp-node2', 'tlp-node3', 'tlp-client', 'tlp-witness']);
    const def = makePlan({ ...spec, name: '' }, 0);
    expect(def.hosts.map((h) => h.netns)).toEqual(['node1', 'node2', 'node3', 'client', 'witness']);
    expect(def.switchNetns).toBe('sw');
    expect(def.key).toBe('default');
  });

  it('gives every lab and LAN its own /24 inside 198.18.0.0/15', () => {
    const seen = new Set<string>();
    for (let lab = 0; lab <= MAX_LAB_INDEX; lab++) {
      for (let lan = 0; lan < MAX_LANS; lan++) {
        const net = lanNetwork(lab, lan);
        expect(net).toMatch(/^198\.(18|19)\.\d{1,3}\.0$/);
        seen.add(net);
      }
    }
    expect(seen.size).toBe((MAX_LAB_INDEX + 1) * MAX_LANS);
    expect(lanNetwork(0, 1)).toBe('198.18.1.0');
    expect(lanNetwork(MAX_LAB_INDEX, MAX_LANS - 1)).toBe('198.19.255.0');
  });

  it('addresses hosts apart from the spare (VIP) range', () => {
    const plan = makePlan(spec, 2);
    const addrs = plan.hosts.map((h) => hostAddr(plan, h, 1));
    expect(addrs).toEqual(['198.18.33.1', '198.18.33.2', '198.18.33.3', '198.18.33.201', '198.18.33.202']);
    expect(spareAddr(plan, 0, 0)).toBe('198.18.32.100');
    expect(() => spareAddr(plan, 0, 100)).toThrow(RangeError);
    expect(hostMac(plan, plan.hosts[4]!, 1)).toBe('02:4c:02:01:00:ca');
  });

  it('keeps every interface name within 15 characters at the limits', () => {
    for (const host of ['node99', 'witness', 'client']) {
      for (const name of [switchPort(host, 15), delayPorts(host, 15).line, delayPorts(host, 15).bridgePort]) {
        expect(name.length).toBeLessThanOrEqual(IFNAME_MAX_CHARS);
      }
    }
  });

  it('refuses bad sizes and names with a message naming the field', () => {
    expect(checkSpec({ ...spec, nodes: 0 })).toEqual({ ok: false, message: expect.stringContaining('--nodes') });
    expect(checkSpec({ ...spec, lans: 17 })).toEqual({ ok: false, message: expect.stringContaining('--lans') });
    expect(checkSpec({ ...spec, name: 'Bad-Name' })).toEqual({ ok: false, message: expect.stringContaining('lab name') });
    expect(checkSpec(spec).ok).toBe(true);
  });

  it('builds the switch with one bridge per LAN and one veth per host and LAN', () => {
    const script = switchScript(makePlan(spec, 1));
    expect(script.match(/type bridge/g)).toHaveLength(2);
    expect(script.match(/type veth/g)).toHaveLength(10);
    expect(script).toContain('link add witness-1 type veth peer name eth1 address 02:4c:01:01:00:ca netns tlp-witness');
  });
});

describe('host script', () => {
  const plan = makePlan(spec, 1);
  const node1 = plan.hosts.find((h) => h.name === 'node1')!;
  const client = plan.hosts.find((h) => h.name === 'client')!;

  it('binds nothing of the package in a plain lab', () => {
    expect(hostScript(plan, node1, '/d/node1')).not.toContain('/usr/lib/hakit');
  });

  it('binds the staged /usr/lib/hakit read-only, the witness dirs and a per-host /etc/default in a packaged lab', () => {
    const script = hostScript(plan, node1, '/d/node1', '/var/lib/hakit-lab/package/abc');
    expect(script).toContain("mount --bind '/var/lib/hakit-lab/package/abc/usr/lib/hakit' /usr/lib/hakit");
    expect(script).toContain('mount -o remount,bind,ro /usr/lib/hakit');
    expect(script).toContain("mount --bind '/d/node1/witness-lib' '/var/lib/hakit-witness'");
    expect(script).toContain("cp -a /etc/default/. '/d/node1/default'/");
    expect(script).toContain('HAKITD_OPTS="--node node1"');
    expect(script.indexOf('cp -a /etc/default')).toBeLessThan(script.indexOf("mount --bind '/d/node1/default' /etc/default"));
    expect(hostScript(plan, client, '/d/client', '/p')).not.toContain('HAKITD_OPTS');
  });
});

describe('lab arguments', () => {
  it('parses every command', () => {
    expect(parseArgs(['up', '--nodes', '3', '--client', '--lans', '2'])).toEqual({ ok: true, labName: undefined, command: { kind: 'up', nodes: 3, lans: 2, client: true, witness: false, packaged: false } });
    expect(parseArgs(['up', '--nodes', '2', '--packaged'])).toMatchObject({ ok: true, command: { kind: 'up', packaged: true } });
    expect(parseArgs(['start', 'node1', 'hakitd'])).toEqual({ ok: true, labName: undefined, command: { kind: 'start', host: 'node1', unit: 'hakitd' } });
    expect(parseArgs(['start', 'witness', 'hakit-witness'])).toMatchObject({ ok: true, command: { kind: 'start', unit: 'hakit-witness' } });
    expect(parseArgs(['--name', 'tl1', 'exec', 'node1', '--', 'ls', '--all'])).toEqual({ ok: true, labName: 'tl1', command: { kind: 'exec', host: 'node1', argv: ['ls', '--all'] } });
    expect(parseArgs(['cut', 'node1', 'node2', '--oneway', '--lan', '1'])).toMatchObject({ ok: true, command: { kind: 'cut', a: 'node1', b: 'node2', lan: 1, oneway: true } });
    expect(parseArgs(['delay', 'node1', '100'])).toMatchObject({ ok: true, command: { kind: 'delay', host: 'node1', delay_ms: 100, lan: undefined } });
    expect(parseArgs(['loss', 'node2', '30', '--name', 'x'])).toMatchObject({ ok: true, labName: 'x', command: { kind: 'loss', pct: 30 } });
    expect(parseArgs([])).toMatchObject({ ok: true, command: { kind: 'help' } });
    expect(parseArgs(['poweron', 'node1'])).toMatchObject({ ok: true, command: { kind: 'poweron', host: 'node1' } });
  });

  it.each([
    [['frob']],
    [['up']],
    [['up', '--nodes', '1e3']],
    [['up', '--nodes', '2', '--bogus']],
    [['exec', 'node1']],
    [['exec', 'node1', '--']],
    [['kill']],
    [['poweron']],
    [['poweron', 'node1', 'node2']],
    [['cut', 'node1']],
    [['cut', 'node1', 'node1']],
    [['loss', 'node1', '101']],
    [['delay', 'node1', '-5']],
    [['status', 'extra']],
    [['--name']],
    [['start', 'node1']],
    [['start', 'node1', 'sshd']],
    [['start', 'node1', 'hakitd', 'extra']],
  ])('refuses %j', (argv) => {
    expect(parseArgs(argv).ok).toBe(false);
  });
});

describe('lab faults', () => {
  const plan = makePlan(spec, 1);

  it('renders cuts on both possible bridge ports of each host, one-way or both ways', () => {
    const text = renderFaults(plan, cutsFor('node1', 'node2', 0, false), []);
    expect(text).toContain('iifname { "node1-0", "node1-0y" } oifname { "node2-0", "node2-0y" } drop');
    expect(text).toContain('iifname { "node2-0", "node2-0y" } oifname { "node1-0", "node1-0y" } drop');
    expect(renderFaults(plan, cutsFor('node1', 'node2', undefined, true), []).match(/drop/g)).toHaveLength(2);
  });

  it('renders loss with numgen and removes the table when nothing is left', () => {
    const losses = setLoss([], 'node3', [0, 1], 25);
    expect(renderFaults(plan, [], losses)).toContain('iifname { "node3-1", "node3-1y" } numgen random mod 100 < 25 drop');
    expect(setLoss(losses, 'node3', [0], 0)).toEqual([{ host: 'node3', lan: 1, pct: 25 }]);
    expect(renderFaults(plan, [], [])).toBe('table bridge hakit_lab\ndelete table bridge hakit_lab\n');
  });
});

describe('mountinfo', () => {
  const text = [
    '22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
    '40 22 0:21 / /sys rw,relatime - sysfs sysfs rw',
    '77 22 0:53 / /srv/my\\040data rw,nosuid - fuse /dev/fuse rw,user_id=0',
    '78 77 0:60 / /srv/my\\040data/x rw - tmpfs tmpfs rw',
  ].join('\n');

  it('parses FUSE connections and unescapes paths', () => {
    const entries = parseMountinfo(text);
    const fuse = entries.filter(isFuse);
    expect(fuse).toHaveLength(1);
    expect(fuse[0]!.mountpoint).toBe('/srv/my data');
    expect(fuseConnection(fuse[0]!)).toBe('53');
  });

  it('lists mounts made after the baseline, children first', () => {
    expect(mountsSince(parseMountinfo(text), [22, 40]).map((e) => e.id)).toEqual([78, 77]);
  });
});
