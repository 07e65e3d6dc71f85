// `npm run demo`: brings up the default lab (2 nodes + client + witness, 2 LANs) and proves
// every host reaches every other on every LAN. Later issues grow this into a running cluster:
// keep one small function per step.
import { Lab } from './index';
import { requireRoot } from './make';

const DEMO = { nodes: 2, client: true, witness: true, lans: 2 } as const;
/** Each ping waits at most this long for its reply: the whole check stays bounded. */
const PING_WAIT_S = 1;
const PING_TRIES = 3;

/** Reuses a default lab that has at least the demo's hosts and LANs; else says how to remove it. */
async function bringUpLab(): Promise<Lab | undefined> {
  const existing = Lab.open();
  if (existing !== undefined) {
    const names = existing.hosts.map((h) => h.name);
    const fits = ['node1', 'node2', 'client', 'witness'].every((n) => names.includes(n)) && existing.lanCount >= DEMO.lans;
    if (!fits) {
      console.log('A default lab exists but lacks the demo hosts or LANs. Remove it with: npm run lab -- down');
      return undefined;
    }
    console.log('A default lab is already up: reusing it.');
    return existing;
  }
  const t0 = Date.now();
  const lab = await Lab.up(DEMO);
  console.log(`Lab up in ${Date.now() - t0} ms: ${lab.hosts.map((h) => h.name).join(', ')} on ${lab.lanCount} LANs.`);
  return lab;
}

interface Reach {
  from: string;
  to: string;
  lan: number;
  rtt_ms: number | undefined;
}

/** One shell per source host pings every other host on every LAN (retrying a few times). */
async function pingFrom(lab: Lab, from: string): Promise<Reach[]> {
  const targets = lab.hosts.filter((h) => h.name !== from).flatMap((h) => Array.from({ length: lab.lanCount }, (_, lan) => ({ to: h.name, lan, addr: lab.addr(h.name, lan) })));
  const script = targets
    .map((t) => `r=$(ping -n -c ${PING_TRIES} -i 0.2 -W ${PING_WAIT_S} ${t.addr} | sed -n 's/.*time=\\([0-9.]*\\).*/\\1/p' | head -1); echo "${t.addr} \${r:-none}"`)
    .join('\n');
  const out = await lab.exec(from, ['sh', '-c', script], { timeout_ms: targets.length * PING_TRIES * PING_WAIT_S * 1000 + 5000 });
  const rtt = new Map(out.stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]));
  return targets.map((t) => {
    const r = rtt.get(t.addr);
    return { from, to: t.to, lan: t.lan, rtt_ms: r === undefined || r === 'none' ? undefined : Number(r) };
  });
}

function printTable(lab: Lab, reach: readonly Reach[]): void {
  const names = lab.hosts.map((h) => h.name);
  const cols = names.flatMap((n) => Array.from({ length: lab.lanCount }, (_, lan) => ({ n, lan })));
  const cell = (s: string): string => s.padStart(14);
  console.log(`\n${'from \\ to'.padEnd(9)}${cols.map((c) => cell(`${c.n}/lan${c.lan}`)).join('')}`);
  for (const from of names) {
    const row = cols.map((c) => {
      if (c.n === from) return cell('-');
      const r = reach.find((x) => x.from === from && x.to === c.n && x.lan === c.lan);
      return cell(r?.rtt_ms === undefined ? 'UNREACHABLE' : `${r.rtt_ms.toFixed(3)} ms`);
    });
    console.log(`${from.padEnd(9)}${row.join('')}`);
  }
}

function printAddresses(lab: Lab): void {
  console.log('\nAddresses:');
  for (const h of lab.hosts) console.log(`  ${h.name.padEnd(8)} ${Array.from({ length: lab.lanCount }, (_, lan) => `${lab.ifname(lan)} ${lab.addr(h.name, lan)}`).join('   ')}`);
}

function printNextSteps(): void {
  console.log(`
Try:   npm run lab -- status
       npm run lab -- exec node1 -- ping -c 3 198.18.0.2
       npm run lab -- cut node1 node2 ; npm run lab -- heal
Tear down with:  npm run lab -- down`);
}

export async function demo(): Promise<number> {
  requireRoot();
  const lab = await bringUpLab();
  if (lab === undefined) return 1;
  printAddresses(lab);
  const reach = (await Promise.all(lab.hosts.map((h) => pingFrom(lab, h.name)))).flat();
  printTable(lab, reach);
  const failed = reach.filter((r) => r.rtt_ms === undefined);
  console.log(failed.length === 0 ? `\nOK: all ${reach.length} host pairs reach each other on every LAN.` : `\nFAILED: ${failed.length} of ${reach.length} pairs unreachable.`);
  printNextSteps();
  return failed.length === 0 ? 0 : 1;
}

if (require.main === module) {
  demo().then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`demo: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
