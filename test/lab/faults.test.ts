// Partitions, loss and delay in a real lab, measured with real traffic.
import { Lab } from './index';
import { closed, pingMedian_ms, pings, reachable, udpDelivered, waitFor } from './testkit';

const NAME = 'tlf';
/** Datagrams per one-way probe: enough to tell "all" from "none". */
const UDP_COUNT = 20;
const DELAY_MS = 100;
/** A userspace delay line on 2 busy cores adds scheduling noise on top of the set delay. */
const DELAY_SLACK_MS = 30;
let lab: Lab;

beforeAll(async () => {
  await Lab.destroy(NAME);
  lab = await Lab.up({ name: NAME, nodes: 2, client: true, lans: 2 });
});

afterAll(async () => {
  await Lab.destroy(NAME);
});

describe('lab cut and heal', () => {
  it('cuts both ways, only between the two hosts, and heal restores', async () => {
    await lab.cut('node1', 'node2');
    expect(await pings(lab, 'node1', 'node2', 0, 2)).toBe(0);
    expect(await pings(lab, 'node2', 'node1', 1, 2)).toBe(0);
    expect(await pings(lab, 'node1', 'client', 0, 2)).toBe(2);
    expect(await pings(lab, 'node2', 'client', 1, 2)).toBe(2);
    expect(lab.status().cuts).toHaveLength(2);
    await lab.heal();
    expect(await reachable(lab, 'node1', 'node2', 0)).toBe(true);
    expect(await reachable(lab, 'node2', 'node1', 1)).toBe(true);
    expect(lab.status().cuts).toEqual([]);
  });

  it('cuts one way: A->B datagrams are lost, B->A still arrive', async () => {
    // Resolved ARP first: a one-way cut also drops ARP replies, as on a real broken link.
    expect(await reachable(lab, 'node2', 'node1', 0)).toBe(true);
    await lab.cut('node1', 'node2', { oneway: true });
    expect(await udpDelivered(lab, 'node1', 'node2', 0, UDP_COUNT)).toBe(0);
    expect(await udpDelivered(lab, 'node2', 'node1', 0, UDP_COUNT)).toBe(UDP_COUNT);
    await lab.heal();
    expect(await reachable(lab, 'node1', 'node2', 0)).toBe(true);
    expect(await udpDelivered(lab, 'node1', 'node2', 0, UDP_COUNT)).toBe(UDP_COUNT);
  });

  it('cuts one LAN only', async () => {
    await lab.cut('node1', 'client', { lan: 1 });
    expect(await pings(lab, 'node1', 'client', 1, 2)).toBe(0);
    expect(await pings(lab, 'node1', 'client', 0, 2)).toBe(2);
    await lab.heal();
    expect(await reachable(lab, 'node1', 'client', 1)).toBe(true);
  });
});

describe('lab delay and loss', () => {
  it(`delays the host's egress by ${DELAY_MS} ms (ping median), keeps cuts working, and 0 removes it`, async () => {
    const before = await pingMedian_ms(lab, 'node1', 'node2', 0, 10);
    expect(before).toBeLessThan(5);
    await lab.delay('node1', DELAY_MS);
    const from = await pingMedian_ms(lab, 'node1', 'node2', 0, 10);
    const to = await pingMedian_ms(lab, 'client', 'node1', 1, 10);
    console.log(`ping median node1->node2: ${before} ms before, ${from} ms with delay ${DELAY_MS}; client->node1 ${to} ms`);
    for (const rtt of [from, to]) {
      expect(rtt).toBeGreaterThanOrEqual(DELAY_MS);
      expect(rtt).toBeLessThan(DELAY_MS + DELAY_SLACK_MS);
    }
    // TCP crosses the delay line intact (checksum offload and GSO are kept).
    const tcp = await lab.exec('node1', ['sh', '-c', `head -c 2000000 /dev/zero | timeout 20 ${process.execPath} -e "const s=require('net').connect(7,'${lab.addr('node2', 0)}');s.on('error',e=>{console.log(e.code);process.exit(1)});process.stdin.pipe(s)"`]);
    expect(tcp.stdout).toMatch(/ECONNREFUSED/); // a RST came back through the line: the SYN was accepted as valid
    await lab.cut('node1', 'node2', { lan: 0 });
    expect(await pings(lab, 'node1', 'node2', 0, 1)).toBe(0);
    await lab.heal();
    await lab.delay('node1', 0);
    expect(await reachable(lab, 'node1', 'node2', 0)).toBe(true);
    expect(await pingMedian_ms(lab, 'node1', 'node2', 0, 5)).toBeLessThan(5);
    expect(lab.status().delays).toEqual([]);
  });

  it('carries a TCP stream through the delay line byte for byte', async () => {
    await lab.delay('node2', 20, { lan: 0 });
    const size_bytes = 3_000_000;
    const server = lab.spawn('node2', [process.execPath, '-e', `require('net').createServer(s => { let n = 0; s.on('data', d => n += d.length); s.on('end', () => { console.log('got ' + n); process.exit(0); }); }).listen(7001, () => console.log('ready'));`]);
    let out = '';
    server.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    expect(await waitFor(() => out.includes('ready'), 5000)).toBe(true);
    const sent = await lab.exec('node1', [process.execPath, '-e', `const s = require('net').connect(7001, '${lab.addr('node2', 0)}', () => s.end(Buffer.alloc(${size_bytes}, 7)));`], { timeout_ms: 20_000 });
    expect(sent.code).toBe(0);
    await closed(server, 10_000);
    server.kill('SIGKILL');
    expect(out).toContain(`got ${size_bytes}`);
    await lab.delay('node2', 0);
  });

  it('loses about PCT % of the host egress, and 0 removes it', async () => {
    await lab.loss('node1', 50, { lan: 0 });
    const got = await pings(lab, 'node1', 'client', 0, 40);
    // Binomial(40, 0.5): outside 8..32 has probability below 1e-4.
    expect(got).toBeGreaterThanOrEqual(8);
    expect(got).toBeLessThanOrEqual(32);
    expect(await pings(lab, 'node1', 'client', 1, 10)).toBe(10);
    await lab.loss('node1', 0);
    expect(await pings(lab, 'node1', 'client', 0, 10)).toBe(10);
    expect(lab.status().losses).toEqual([]);
  });
});
