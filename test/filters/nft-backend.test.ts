// NftFilterBackend against real nft on one lab node (lab `tfbn`, test/lab): node1's eth0.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isHakitError } from '../../core/errors/catalogue';
import { NftFilterBackend, spawnRunner, TCP_LOOSE_SYSCTL, type CommandRunner } from '../../filters/nft';
import { validateFarmFilter, type ValidFarmFilter } from '../../filters/pure';
import { Lab } from '../lab';

const LAB_NAME = 'tfbn';
const NODE = 'node1';
const SH_TIMEOUT_MS = 10_000;

let lab: Lab;
let run: CommandRunner;

async function sh(argv: string[]): Promise<string> {
  const r = await lab.exec(NODE, argv, { timeout_ms: SH_TIMEOUT_MS });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

function filter(iface = 'eth0', lease_ms?: number): ValidFarmFilter {
  const r = validateFarmFilter({
    module: 'hfb',
    interface: iface,
    ...(lease_ms !== undefined ? { lease_ms } : {}),
    groups: [{ vips: [lab.spareAddr(0, 0)], rules: [{ proto: 'tcp', ports: [80, { from: 8000, to: 8099 }], balance: 'on_port' }] }],
  });
  if (!r.ok) throw new Error('bad test config');
  return r.filter;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isHakitError(e) ? e.code : `not coded: ${String(e)}`;
  }
}

beforeAll(async () => {
  await Lab.destroy(LAB_NAME);
  lab = await Lab.up({ name: LAB_NAME, nodes: 1 });
  run = spawnRunner(lab.joinArgv(NODE));
}, 30_000);

// Each test starts from an empty ruleset and the kernel's default tcp_loose (1), as on a fresh node.
beforeEach(async () => {
  await await sh(['nft', 'flush', 'ruleset']);
  await await sh(['sh', '-c', `sysctl -qw ${TCP_LOOSE_SYSCTL}=1 2>/dev/null || true`]);
});

afterAll(async () => {
  await lab?.down();
}, 30_000);

test('load replaces a leftover table of a crashed daemon in the same transaction', async () => {
  await sh(['nft', 'add table ip hakit_hfb; add set ip hakit_hfb owned { typeof numgen inc mod 256; elements = { 200 }; }; add chain ip hakit_hfb junk']);
  const b = new NftFilterBackend({ run });
  const report = await b.load(filter(), [1, 2, 3]);
  expect(report.owned).toEqual([1, 2, 3]);
  const listing = await sh(['nft', 'list', 'table', 'ip', 'hakit_hfb']);
  expect(listing).not.toContain('junk');
  expect(await sh(['nft', 'list', 'tables'])).toMatch(/table netdev hakit_hfb[\s\S]*table arp hakit_hfb|table arp hakit_hfb[\s\S]*table netdev hakit_hfb/);
  await b.remove('hfb');
});

test('setOwned changes only the set, reads it back, and reports its time', async () => {
  const b = new NftFilterBackend({ run });
  await b.load(filter(), [0]);
  const handleBefore = await sh(['nft', '-a', 'list', 'chain', 'ip', 'hakit_hfb', 'prerouting']);
  const all = Array.from({ length: 256 }, (_, i) => i);
  const report = await b.setOwned(filter(), all.filter((x) => x % 2 === 1));
  expect(report.owned).toHaveLength(128);
  expect(report.transaction_ms).toBeGreaterThan(0);
  expect(await sh(['nft', '-a', 'list', 'chain', 'ip', 'hakit_hfb', 'prerouting'])).toBe(handleBefore);
  expect(await b.readOwned(filter())).toEqual(all.filter((x) => x % 2 === 1));
  expect((await b.setOwned(filter(), [])).owned).toEqual([]);
  await b.remove('hfb');
});

test('an nft failure leaves the previous ruleset intact and is a coded error', async () => {
  const good = new NftFilterBackend({ run });
  await good.load(filter(), [5, 6]);
  const before = await sh(['nft', 'list', 'ruleset']);
  // A runner that spoils the script after its first line: nft refuses the whole transaction.
  const spoiling: CommandRunner = (argv, stdin) => run(argv, stdin === undefined ? undefined : stdin + 'this is not nft\n');
  const bad = new NftFilterBackend({ run: spoiling });
  expect(await codeOf(bad.setOwned(filter(), [7]))).toBe('HAKIT_E_FILTER_NFT_FAILED');
  expect(await codeOf(bad.load(filter(), [7]))).toBe('HAKIT_E_FILTER_NFT_FAILED');
  expect(await sh(['nft', 'list', 'ruleset'])).toBe(before);
  await good.remove('hfb');
});

test('missing interface, update before load: coded errors, nothing loaded', async () => {
  const b = new NftFilterBackend({ run });
  expect(await codeOf(b.load(filter('eth7'), [1]))).toBe('HAKIT_E_FILTER_NO_INTERFACE');
  expect(await codeOf(b.setOwned(filter(), [1]))).toBe('HAKIT_E_FILTER_NOT_LOADED');
  expect((await sh(['nft', 'list', 'ruleset'])).trim()).toBe('');
});

test('tcp_loose is 0 while loaded and restored by remove; remove is idempotent', async () => {
  const b = new NftFilterBackend({ run });
  await b.load(filter(), [1]);
  expect((await sh(['sysctl', '-n', TCP_LOOSE_SYSCTL])).trim()).toBe('0');
  await b.remove('hfb');
  await b.remove('hfb');
  expect((await sh(['sysctl', '-n', TCP_LOOSE_SYSCTL])).trim()).toBe('1');
  expect((await sh(['nft', 'list', 'ruleset'])).trim()).toBe('');
});

test('tcp_loose: a daemon started after one that died with the filter loaded restores the value found before it', async () => {
  const saved = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-loose-')), 'tcp-loose');
  try {
    const dead = new NftFilterBackend({ run, tcp_loose_saved_file: saved });
    await dead.load(filter(), [1]);
    expect((await sh(['sysctl', '-n', TCP_LOOSE_SYSCTL])).trim()).toBe('0');
    // `dead` is never removed (SIGKILL): the next daemon finds 0 and its record.
    const next = new NftFilterBackend({ run, tcp_loose_saved_file: saved });
    await next.load(filter(), [2]);
    await next.remove('hfb');
    expect((await sh(['sysctl', '-n', TCP_LOOSE_SYSCTL])).trim()).toBe('1');
    expect(fs.existsSync(saved)).toBe(false);
  } finally {
    fs.rmSync(path.dirname(saved), { recursive: true, force: true });
  }
});

// Fencing by expiry (docs/adr/0005-fencing-by-expiry.md) on this kernel: set elements with a
// timeout stop matching on their own; setOwned (flush + add in one transaction) renews them.
test('with a lease, owned buckets expire unless setOwned renews them', async () => {
  const LEASE_MS = 600;
  const b = new NftFilterBackend({ run });
  const f = filter('eth0', LEASE_MS);
  await b.load(f, [1, 2, 3]);
  expect(await sh(['nft', 'list', 'set', 'ip', 'hakit_hfb', 'owned'])).toMatch(/flags timeout[\s\S]*1 timeout 600ms expires/);
  // Renewed every 200 ms for 1.2 s (two leases): always all there.
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 200));
    expect((await b.setOwned(f, [1, 2, 3])).owned).toEqual([1, 2, 3]);
  }
  // Not renewed any more: gone after the lease (plus slack for a loaded machine), not before half of it.
  const stopped = Date.now();
  await new Promise((r) => setTimeout(r, LEASE_MS / 2));
  expect(await b.readOwned(f)).toEqual([1, 2, 3]);
  let gone_ms = -1;
  for (let i = 0; i < 100 && gone_ms < 0; i++) {
    if ((await b.readOwned(f))?.length === 0) gone_ms = Date.now() - stopped;
    else await new Promise((r) => setTimeout(r, 20));
  }
  expect(gone_ms).toBeGreaterThanOrEqual(LEASE_MS - 50);
  expect(gone_ms).toBeLessThan(LEASE_MS + 400);
  await b.remove('hfb');
});
