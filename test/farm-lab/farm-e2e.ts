// End-to-end farm failover with real hakitd (issue 7 item 6, W3b item 1): power cut of a node
// -> every new connection succeeds again, detection included. Used by `npm run bench -- farm`.
// One lab per heartbeat profile (3 nodes, farm_http, on_addr HTTP): for each run the client
// opens one new connection every WATCH_INTERVAL_MS, only from the client addresses the victim
// serves, so every attempt between the cut and the survivors' takeover fails; the figure is the
// start of the first attempt after which every attempt succeeded, minus the cut time. The
// victim then powers on, its hakitd cleans what it left, and it rejoins before the next run.
import type { Figure } from '../bench/figures';
import { median } from '../bench/figures';
import { FarmCluster } from './farm-cluster';

/** Lab names (prefix tg), one per profile. */
const LAB_BY_PROFILE = { default: 'tgd', fast: 'tgf' } as const;
export type FarmProfile = keyof typeof LAB_BY_PROFILE;
/** Heartbeat timeout of each profile (core/config/pure/types.ts HEART_PROFILES): sizes the watch. */
const TIMEOUT_MS: Record<FarmProfile, number> = { default: 2_500, fast: 800 };
const CLIENT_ADDRS = 24;
const WATCH_INTERVAL_MS = 5;
/** An attempt slower than this is a failure (a SYN dropped by everyone waits 1 s to retry). */
const WATCH_OK_MS = 300;
const WATCH_BEFORE_MS = 300;
/** Watch past the heartbeat timeout: one period, the update and a margin. */
const WATCH_AFTER_TIMEOUT_MS = 2_000;
const SETTLE_MS = 30_000;
const DAEMON_UP_MS = 20_000;
const CLIENT_TIMEOUT_MS = 30_000;

type Attempt = [number, number, string, number];
interface RunResult {
  cut_to_ok_ms: number | null;
  failed: number;
  clean_before: boolean;
}

/** Start of the first attempt after which every attempt succeeded (null if the last failed). */
export function recoveredAt(attempts: readonly Attempt[]): number | null {
  let lastFail = -1;
  attempts.forEach((a, i) => {
    if (a[1] === 0) lastFail = i;
  });
  if (lastFail === attempts.length - 1) return null;
  return attempts[lastFail + 1]![0];
}

async function oneRun(c: FarmCluster, victim: string, addrs: readonly string[], profile: FarmProfile): Promise<RunResult> {
  const client = c.client!;
  const duration_ms = WATCH_BEFORE_MS + TIMEOUT_MS[profile] + WATCH_AFTER_TIMEOUT_MS;
  const watching = client.request<{ attempts: Attempt[] }>({ op: 'watch', addrs, interval_ms: WATCH_INTERVAL_MS, duration_ms, ok_ms: WATCH_OK_MS }, duration_ms + CLIENT_TIMEOUT_MS);
  await new Promise((r) => setTimeout(r, WATCH_BEFORE_MS));
  const { now } = await client.request<{ now: number }>({ op: 'clock' });
  await c.powerCut(victim);
  const { attempts } = await watching;
  const before = attempts.filter((a) => a[0] < now);
  const after = attempts.filter((a) => a[0] >= now);
  const at = recoveredAt(after);
  const result: RunResult = { cut_to_ok_ms: at === null ? null : at - now, failed: after.filter((a) => a[1] === 0).length, clean_before: before.every((a) => a[1] === 1) };

  // Power on: hakitd cleans the tables and VIP left in the kernel before the links come up.
  c.startDaemon(victim);
  await c.until(`hakitd on ${victim} cleaned its leftover filter`, async () => (await c.state(victim)) !== null && !/hakit_farm_http/.test(await c.sh(victim, ['nft', 'list', 'tables'])), DAEMON_UP_MS);
  await c.powerOn(victim);
  await c.start(victim);
  await c.settled(c.nodes, SETTLE_MS);
  return result;
}

/** Power-cut runs with real hakitd on one profile; one figure set per profile. */
export async function farmE2eFigures(profile: FarmProfile, runs: number, log: (line: string) => void = () => undefined): Promise<Figure[]> {
  const c = await FarmCluster.up(LAB_BY_PROFILE[profile], 3, CLIENT_ADDRS, profile === 'default' ? {} : { profile });
  const results: RunResult[] = [];
  try {
    for (const n of c.nodes) await c.until(`hakitd on ${n}`, async () => (await c.state(n)) !== null, DAEMON_UP_MS);
    for (const n of c.nodes) await c.start(n);
    await c.settled(c.nodes, SETTLE_MS);
    // on_addr: each client address is served by one node; the victim's addresses fail until takeover.
    const owners = await c.client!.request<{ by_addr: Record<string, Record<string, number>> }>({ op: 'conns', addrs: c.clientAddrs, per_addr: 1 });
    const addrsOf = (node: string): string[] => c.clientAddrs.filter((a) => (owners.by_addr[a]?.[node] ?? 0) > 0);
    for (let i = 0; i < runs; i++) {
      const victim = c.nodes[i % c.nodes.length]!;
      const r = await oneRun(c, victim, addrsOf(victim), profile);
      log(`farm e2e ${profile} run ${i + 1}/${runs}: cut ${victim} -> all new OK after ${r.cut_to_ok_ms === null ? "never" : Math.round(r.cut_to_ok_ms)} ms, ${r.failed} failed attempts${r.clean_before ? '' : ' (a failure BEFORE the cut)'}`);
      results.push(r);
    }
  } finally {
    await c.down();
  }
  const ok = results.map((r) => r.cut_to_ok_ms).filter((v): v is number => v !== null);
  const p = `e2e_${profile}`;
  return [
    { figure: `powercut_${p}_to_all_new_ok_ms`, value: ok.length ? median(ok) : NaN, unit: 'ms', note: `median of ${ok.length} cuts with real hakitd (${profile} profile, heartbeat timeout ${TIMEOUT_MS[profile]} ms), resolution ${WATCH_INTERVAL_MS} ms` },
    { figure: `powercut_${p}_to_all_new_ok_max_ms`, value: ok.length ? Math.max(...ok) : NaN, unit: 'ms' },
    { figure: `powercut_${p}_to_all_new_ok_min_ms`, value: ok.length ? Math.min(...ok) : NaN, unit: 'ms' },
    { figure: `powercut_${p}_unrecovered`, value: results.length - ok.length, unit: 'cuts', note: 'still failing at the end of the watch' },
    { figure: `powercut_${p}_unclean_before`, value: results.filter((r) => !r.clean_before).length, unit: 'cuts', note: 'a failed attempt before the cut' },
  ];
}
