// Hostile peer in the lab, issue 15 items 3 and 4: node1's heartbeats and witness lease
// requests are recorded on the wire (at node2's and the witness's interfaces), then replayed
// from the client's address after the receivers restarted (node2's hakitd; the witness),
// while node1's hakitd is dead. Asserted:
//   - garbage on the heartbeat and witness ports changes nothing (counted drops);
//   - node2 never takes the dead node1 for reachable: it becomes ALONE within its bound
//     (the replayed lease requests do not keep node1's lease alive at the witness);
//   - the witness answers none of the replayed requests, before and after its own restart,
//     and node2 keeps serving across the witness restart;
//   - node2's drop counters show the replays (wrong source address).
import { HostileLab, MODULE, NODE, until } from './lab/cluster';

const LAB = 'thr';
const PORT = 9010;
const CAPTURE_S = 8;
/** node1 silent -> node2 ALONE: heartbeat timeout + witness lease expiry + scripts (fast profile). */
const TAKEOVER_BOUND_MS = 15_000;

let h: HostileLab | undefined;

jest.setTimeout(120_000);

beforeAll(async () => {
  h = await HostileLab.up(LAB, true);
  h.startWitness();
  for (const n of ['node1', 'node2']) h.startDaemon(n);
  await until('daemons answer', async () => (await h!.view('node1')) !== null && (await h!.view('node2')) !== null, 30_000);
}, 90_000);

afterAll(async () => {
  await h?.down();
}, 60_000);

const fail = (): Promise<string> => (async () => `node1:\n${await h!.logTail('node1')}\nnode2:\n${await h!.logTail('node2')}`)();

/** Records the UDP payloads `src` sends to `port` as they arrive at `host`'s LAN 0 interface (AF_PACKET). */
async function capture(host: string, src: string, seconds: number): Promise<string[]> {
  const py = `
import socket,sys,base64,json,time,struct
s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.ntohs(0x0800)); s.bind(('eth0',0)); s.settimeout(0.2)
end=time.time()+${seconds}; out=[]
while time.time()<end:
  try: f,a=s.recvfrom(65535)
  except socket.timeout: continue
  if a[2]==socket.PACKET_OUTGOING: continue
  ip=f[14:]
  if ip[9]!=17 or socket.inet_ntoa(ip[12:16])!='${src}': continue
  u=ip[(ip[0]&15)*4:]; sp,dp,ln=struct.unpack('!HHH',u[:6])
  if dp==${PORT}: out.append(base64.b64encode(u[8:ln]).decode())
print(json.dumps(out))`;
  const r = await h!.lab.exec(host, ['python3', '-c', py], { timeout_ms: (seconds + 10) * 1000 });
  if (r.code !== 0) throw new Error(`capture on ${host}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as string[];
}

/** Sends the datagrams from the client's LAN 0 address, paced, and counts the replies it gets. */
async function replay(sends: { to: string; b64: string[] }[], pace_ms: number): Promise<number> {
  const js = `
const s=require('dgram').createSocket('udp4');let replies=0;s.on('message',()=>replies++);
const job=JSON.parse(require('fs').readFileSync(0,'utf8'));
s.bind(0,'${h!.lab.addr('client', 0)}',async()=>{
  const n=Math.max(...job.map((j)=>j.b64.length));
  for(let i=0;i<n;i++){for(const j of job){if(i<j.b64.length)s.send(Buffer.from(j.b64[i],'base64'),${PORT},j.to)}await new Promise((r)=>setTimeout(r,${pace_ms}))}
  setTimeout(()=>{console.log(replies);process.exit(0)},500)});`;
  const r = await h!.lab.exec('client', [NODE, '-e', js], { input: JSON.stringify(sends), timeout_ms: 120_000 });
  return Number(r.stdout.trim());
}

async function drops(host: string): Promise<Record<string, number>> {
  const info = await h!.control(host, 'ping');
  return (info['drops'] ?? {}) as Record<string, number>;
}

it('refuses recorded heartbeats and lease requests after hakitd and the witness restart; node2 takes over in its bound', async () => {
  const m = h!;
  const [n1, n2, w] = [m.lab.addr('node1', 0), m.lab.addr('node2', 0), m.lab.addr('witness', 0)];
  for (const n of ['node1', 'node2']) await m.hakit(n, ['start', '-m', MODULE]);
  await m.hakit('node1', ['prim', '-m', MODULE]);
  await until('node1 serving', async () => ['ALONE', 'PRIM'].includes((await m.view('node1'))?.state ?? ''), 40_000, fail);
  await m.hakit('node2', ['second', '-m', MODULE]);
  const steady = async (): Promise<boolean> => (await m.view('node1'))?.state === 'PRIM' && (await m.view('node2'))?.state === 'SECOND' && (await m.view('node2'))?.status === 'Ready';
  await until('PRIM/SECOND', steady, 60_000, fail);

  // Garbage on both ports changes nothing.
  const garbage = Array.from({ length: 200 }, (_, i) => Buffer.from(`HKHB garbage ${i} ${'x'.repeat(i)}`).toString('base64'));
  expect(await replay([{ to: n2, b64: garbage }, { to: w, b64: garbage }], 1)).toBe(0);
  expect(await steady()).toBe(true);

  // Record node1's heartbeats (at node2) and its lease requests (at the witness) at the same time.
  const [hbs, reqs] = await Promise.all([capture('node2', n1, CAPTURE_S), capture('witness', n1, CAPTURE_S)]);
  expect(hbs.length).toBeGreaterThan(30);
  expect(reqs.length).toBeGreaterThan(3);

  // node2's hakitd restarts (its replay window is empty again) and rejoins as SECOND.
  await m.killDaemon('node2');
  const restart_at = Date.now();
  m.startDaemon('node2');
  const rejoin_ms = await until('node2 SECOND again', async () => (await m.view('node2'))?.state === 'SECOND' && (await m.view('node2'))?.status === 'Ready', 60_000, fail);

  // node1's hakitd dies; the attacker replays node1's recordings to node2 and to the witness.
  await m.killDaemon('node1');
  const killed_at = Date.now();
  let seen_reachable = false;
  let went_second_after_alone = false;
  let alone_ms: number | null = null;
  const replaying = replay([{ to: n2, b64: hbs }, { to: w, b64: reqs }], 150);
  const watch = (async () => {
    while (Date.now() - killed_at < TAKEOVER_BOUND_MS + 2000) {
      const v = await m.view('node2');
      if (v && Date.now() - killed_at > 1500 && v.peers.some((p) => p.node === 'node1' && p.reachable)) seen_reachable = true;
      if (v?.state === 'ALONE' && alone_ms === null) alone_ms = Date.now() - killed_at;
      if (alone_ms !== null && v?.state === 'SECOND') went_second_after_alone = true;
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  const witness_replies = await replaying;
  await watch;
  const d2 = await drops('node2');

  // The witness restarts; the same recorded requests get no answer; node2 keeps serving.
  await m.killWitness();
  m.startWitness();
  await new Promise((r) => setTimeout(r, 1000));
  const witness_replies_after_restart = await replay([{ to: w, b64: reqs }], 100);
  await new Promise((r) => setTimeout(r, 2000));
  const after = await m.view('node2');

  process.stdout.write(
    `recorded ${hbs.length} heartbeats and ${reqs.length} lease requests of node1; node2 rejoined ${rejoin_ms} ms after its restart (${Date.now() - restart_at} ms ago); ` +
      `node1 killed and replayed: node2 saw node1 reachable: ${seen_reachable}, ALONE after ${alone_ms ?? 'never'} ms (bound ${TAKEOVER_BOUND_MS}), back to SECOND: ${went_second_after_alone}; ` +
      `witness replies to the attacker: ${witness_replies} before and ${witness_replies_after_restart} after the witness restart; node2 drops ${JSON.stringify(d2)}; node2 after the witness restart: ${after?.state}/${after?.status}\n`,
  );
  expect(seen_reachable).toBe(false);
  expect(alone_ms).not.toBeNull();
  expect(alone_ms!).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
  expect(went_second_after_alone).toBe(false);
  expect(witness_replies).toBe(0);
  expect(witness_replies_after_restart).toBe(0);
  expect(d2['wrong_source'] ?? 0).toBeGreaterThanOrEqual(hbs.length);
  expect(after?.state).toBe('ALONE');
});
