// A small farm on the project's lab (test/lab): N nodes and a client on one LAN, the VIP (a
// spare address of the LAN) on every node's eth0, extra client addresses on the client's eth0,
// and a tiny server per node (spawned with lab.spawn) that answers its node name. Used by the
// filter tests and by the farm benchmark (test/bench/farm.ts). Lab names start with `tfb`.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { spawnRunner, type CommandRunner } from '../../filters/nft';
import { Lab } from '../lab';

/** The lab's LAN used by the farm. */
export const LAN = 0;
export const PORT_ON_PORT = 8080;
export const PORT_ON_ADDR = 8081;
/** HTTP/1.1 keep-alive server answering its node name (for the benchmark). */
export const PORT_HTTP = 8082;
/** The server writes its name and closes first (short connections leave no client TIME_WAIT). */
export const PORT_SHORT = 8083;
/** A port no rule names: served by the owner of bucket 0 only. */
export const PORT_UNLISTED = 9090;
export const PORT_UDP = 5353;
/**
 * A UDP server bound to the VIP itself, so it answers from the VIP like a real service bound to
 * its address. (The PORT_UDP server is bound to 0.0.0.0 and answers from the node's own address:
 * conntrack then never sees a reply to the client's flow to the VIP, which stays "new".)
 */
export const PORT_UDP_VIP = 5354;
/** Spare-address slots (lab.spareAddr(LAN, n)): the VIP, then groups of client addresses. */
const VIP_SLOT = 0;
const PER_IP_SLOT = 10;
const PER_IP_COUNT = 8;
const SPREAD_SLOT = 20;
const SPREAD_COUNT = 8;
const CONNTRACK_SLOT = 30;
/** A child that does not print "ready" in this time is broken. */
const READY_TIMEOUT_MS = 10_000;
/** A client command gets this long before the caller fails. */
const CLIENT_REQUEST_TIMEOUT_MS = 120_000;
/** Setup commands are quick; a hung `ip` must not hang the suite. */
const EXEC_TIMEOUT_MS = 10_000;
/** How long a killed child gets to go away in down(). */
const CHILD_EXIT_WAIT_MS = 2_000;

// Each node: TCP servers answering their name on connect and on every chunk, one that answers
// and closes, an HTTP keep-alive server and two UDP servers. argv[1] is the node name, argv[2] the VIP.
const SERVER_JS = `
const net = require('net'), dgram = require('dgram'), http = require('http'); const name = process.argv[1], vip = process.argv[2];
for (const port of [${PORT_ON_PORT}, ${PORT_ON_ADDR}, ${PORT_UNLISTED}]) {
  net.createServer((s) => { s.setNoDelay(true); s.on('error', () => {}); s.on('data', () => s.write(name + '\\n')); s.write(name + '\\n'); })
    .listen({ port, host: '0.0.0.0', backlog: 4096 });
}
net.createServer((s) => { s.on('error', () => {}); s.end(name + '\\n'); }).listen({ port: ${PORT_SHORT}, host: '0.0.0.0', backlog: 4096 });
const body = Buffer.from(name + '\\n');
const h = http.createServer((q, r) => { r.writeHead(200, { 'content-length': body.length }); r.end(body); });
h.keepAliveTimeout = 60000; h.listen({ port: ${PORT_HTTP}, host: '0.0.0.0', backlog: 4096 });
const u = dgram.createSocket('udp4'); u.on('message', (m, r) => u.send(name, r.port, r.address)); u.bind(${PORT_UDP});
const uv = dgram.createSocket('udp4'); uv.on('error', () => {}); uv.on('message', (m, r) => uv.send(name, r.port, r.address)); uv.bind(${PORT_UDP_VIP}, vip);
setTimeout(() => process.stdout.write('ready\\n'), 50);
`;

// The client driver: JSON commands in ({ id, op, ... }), one JSON answer line out per command
// ({ id, result }), so long commands (watch) and short ones can overlap.
const CLIENT_JS = `
const net = require('net'), dgram = require('dgram'), http = require('http');
const rl = require('readline').createInterface({ input: process.stdin });
const VIP = process.argv[1]; const held = [];
// CLOCK_MONOTONIC in ms: the same clock in every process of the machine (the benchmark compares).
const now = () => Number(process.hrtime.bigint()) / 1e6;
const bump = (o, k) => { o[k] = (o[k] || 0) + 1; };
function connectOnce(host, port, localAddress, timeoutMs, localPort) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, localAddress, localPort });
    const t = setTimeout(() => { s.destroy(); resolve({ err: 'timeout' }); }, timeoutMs);
    s.once('data', (d) => { clearTimeout(t); resolve({ name: d.toString().trim(), s }); });
    s.on('error', (e) => { clearTimeout(t); resolve({ err: e.code || 'error' }); });
  });
}
async function burst({ port, count, concurrency, localAddress, host }) {
  const counts = {}, errors = {}; let next = 0;
  async function worker() { while (next < count) { next++; const r = await connectOnce(host || VIP, port, localAddress, 3000);
    if (r.s) { bump(counts, r.name); r.s.end(); r.s.destroy(); } else bump(errors, r.err); } }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { counts, errors };
}
async function open({ port, count }) {
  const counts = {}, errors = {};
  for (let i = 0; i < count; i++) { const r = await connectOnce(VIP, port, undefined, 3000);
    if (!r.s) { bump(errors, r.err); continue; }
    const c = { s: r.s, name: r.name, closed: false }; r.s.on('close', () => { c.closed = true; }); held.push(c); bump(counts, r.name); }
  return { counts, errors };
}
function ask(c) { return new Promise((resolve) => { if (c.closed) return resolve('closed');
  const t = setTimeout(() => resolve('timeout'), 2000); c.s.once('data', (d) => { clearTimeout(t); resolve(d.toString().trim()); }); c.s.write('x'); }); }
async function probe() { const res = await Promise.all(held.map(async (c) => { const a = await ask(c); return a === c.name ? 'same' : a; }));
  const out = {}; res.forEach((r) => bump(out, r)); out.by_node = {}; held.forEach((c) => bump(out.by_node, c.name)); return out; }
function udpOnce(port, timeoutMs) { return new Promise((resolve) => { const s = dgram.createSocket('udp4'); const got = [];
  s.on('message', (m) => got.push(m.toString())); s.bind(0, () => s.send('q', port, VIP));
  setTimeout(() => { s.close(); resolve(got); }, timeoutMs); }); }
async function udp({ port, count, concurrency }) { const counts = {}; let none = 0, dup = 0, next = 0;
  async function worker() { while (next < count) { next++; const got = await udpOnce(port, 300);
    if (got.length === 0) none++; else { if (got.length > 1) dup++; bump(counts, got[0]); } } }
  await Promise.all(Array.from({ length: concurrency }, worker)); return { counts, none, dup }; }
// A long-lived UDP socket: its source port (hence its bucket and its conntrack entry on the
// nodes) stays the same for every request, unlike udp() above, which opens a fresh socket each.
const flows = new Map(); let nextFlow = 1;
function udpFlowOpen() { return new Promise((resolve) => { const s = dgram.createSocket('udp4'); const flow = { s, got: [] };
  s.on('message', (m) => flow.got.push(m.toString())); s.bind(0, () => { const id = nextFlow++; flows.set(id, flow); resolve({ flow: id, port: s.address().port }); }); }); }
// Sends one request on the flow and returns every answer that came back within wait_ms.
function udpFlowAsk({ flow, port, wait_ms }) { const f = flows.get(flow); f.got = []; f.s.send('q', port, VIP);
  return new Promise((resolve) => setTimeout(() => resolve({ answers: [...f.got].sort() }), wait_ms)); }
function udpFlowClose({ flow }) { const f = flows.get(flow); if (f) { f.s.close(); flows.delete(flow); } return {}; }
function closeAll() { for (const c of held) c.s.destroy(); held.length = 0; for (const f of flows.values()) f.s.close(); flows.clear(); return {}; }
// Keep-alive HTTP requests/s: 'connections' sockets, each sending requests back to back.
async function httpLoad({ host, port, connections, duration_ms }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const end = now() + duration_ms; let ok = 0, errors = 0;
  function one() { return new Promise((resolve) => {
    const q = http.get({ host, port, agent, path: '/' }, (r) => { r.resume(); r.on('end', () => { ok++; resolve(); }); });
    q.setTimeout(3000, () => q.destroy(new Error('timeout'))); q.on('error', () => { errors++; resolve(); }); }); }
  const started = now();
  await Promise.all(Array.from({ length: connections }, async () => { while (now() < end) await one(); }));
  const elapsed_ms = now() - started; agent.destroy();
  return { ok, errors, elapsed_ms };
}
// New TCP connections/s: 'concurrency' loops, each connect -> read the name -> closed by the server.
async function connLoad({ host, port, concurrency, duration_ms }) {
  const end = now() + duration_ms; let ok = 0, errors = 0; const started = now();
  await Promise.all(Array.from({ length: concurrency }, async () => { while (now() < end) {
    const r = await connectOnce(host, port, undefined, 3000); if (r.s) { ok++; r.s.destroy(); } else errors++; } }));
  return { ok, errors, elapsed_ms: now() - started };
}
// Which node answers each client source port in from..from+count-1 (on_port hashes only the
// client address and port, so this holds for every on_port rule of the module). The client
// closes first: no TIME_WAIT on the servers blocks a later connection from the same port.
async function mapPorts({ port, from, count, concurrency }) {
  const byNode = {}, errors = {}; let next = 0;
  async function worker() { while (next < count) { const localPort = from + next++; const r = await connectOnce(VIP, port, undefined, 3000, localPort);
    if (r.s) { (byNode[r.name] = byNode[r.name] || []).push(localPort); r.s.end(); r.s.destroy(); } else bump(errors, r.err); } }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { byNode, errors };
}
// One new connection every interval_ms for duration_ms (at most one per given source port);
// each records its start time (now()), whether it got the server's answer within ok_ms, and
// how long that took.
async function watch({ port, interval_ms, duration_ms, ok_ms, ports }) {
  const attempts = []; const started = now(); const pending = [];
  for (let i = 0; i < ports.length && now() - started < duration_ms; i++) {
    const t = now();
    pending.push(connectOnce(VIP, port, undefined, ok_ms, ports[i]).then((r) => { if (r.s) r.s.destroy(); attempts.push([t, r.s ? 1 : 0, now() - t]); }));
    await new Promise((res) => setTimeout(res, interval_ms));
  }
  await Promise.all(pending);
  return { attempts: attempts.sort((a, b) => a[0] - b[0]) };
}
const ops = { burst, open, probe, udp, udpFlowOpen, udpFlowAsk, udpFlowClose, closeAll, httpLoad, connLoad, mapPorts, watch };
rl.on('line', async (line) => { const cmd = JSON.parse(line); let result;
  try { result = await ops[cmd.op](cmd); } catch (e) { result = { thrown: String(e) }; }
  process.stdout.write(JSON.stringify({ id: cmd.id, result }) + '\\n'); });
process.stdout.write('ready\\n');
`;

export interface ClientDriver {
  request<T>(cmd: Record<string, unknown>, timeout_ms?: number): Promise<T>;
}

export interface FarmLab {
  readonly lab: Lab;
  readonly nodes: readonly string[];
  readonly client: 'client';
  readonly vip: string;
  readonly clientAddr: string;
  /** Client addresses for the per-client-IP (on_addr) test. */
  readonly perIpAddrs: readonly string[];
  /** Client addresses the spread test sends from (many source IPs average out hash bias). */
  readonly spreadAddrs: readonly string[];
  /** A client address used by nothing but the conntrack test. */
  readonly conntrackAddr: string;
  nodeAddr(node: string): string;
  /** Runs a command on a host; rejects with its stderr on a non-zero exit. */
  sh(host: string, argv: readonly string[]): Promise<string>;
  /** Runs commands (nft, sysctl) in a host's view, for NftFilterBackend. */
  runner(host: string): CommandRunner;
  /** Starts (or restarts) the server of one node. */
  startServer(node: string): Promise<void>;
  startServers(): Promise<void>;
  startClient(): Promise<ClientDriver>;
  /** Starts a process on a host that prints "ready" when it is; it is stopped by down(). */
  spawnReady(host: string, argv: readonly string[], stdin?: boolean): Promise<ChildProcess>;
  down(): Promise<void>;
}

function waitLine(child: ChildProcess, want: string, timeout_ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const t = setTimeout(() => {
      rl.close();
      reject(new Error(`no "${want}" from child in ${timeout_ms} ms`));
    }, timeout_ms);
    const onExit = (code: number | null): void => {
      clearTimeout(t);
      rl.close();
      reject(new Error(`child exited (${code}) before "${want}"`));
    };
    child.once('exit', onExit);
    rl.on('line', (l) => {
      if (l === want) {
        clearTimeout(t);
        child.off('exit', onExit);
        rl.close();
        resolve();
      }
    });
  });
}

function exited(child: ChildProcess, wait_ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, wait_ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Talks to a child that answers JSON lines `{ id, op, … }` with `{ id, result }` (or `{ thrown }`). */
export function jsonLineDriver(child: ChildProcess): ClientDriver {
  const lines = createInterface({ input: child.stdout! });
  const waiting = new Map<number, (result: unknown) => void>();
  let nextId = 1;
  lines.on('line', (l) => {
    const answer = JSON.parse(l) as { id: number; result: unknown };
    waiting.get(answer.id)?.(answer.result);
    waiting.delete(answer.id);
  });
  return {
    request<T>(cmd: Record<string, unknown>, timeout_ms = CLIENT_REQUEST_TIMEOUT_MS): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const t = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`child did not answer ${JSON.stringify(cmd)} in ${timeout_ms} ms`));
        }, timeout_ms);
        waiting.set(id, (result) => {
          clearTimeout(t);
          const thrown = (result as { thrown?: string } | null)?.thrown;
          if (thrown !== undefined) reject(new Error(`${String(cmd.op)}: ${thrown}`));
          else resolve(result as T);
        });
        child.stdin!.write(JSON.stringify({ ...cmd, id }) + '\n');
      });
    },
  };
}

/**
 * Brings up lab `name` (destroying a crashed run's lab of that name first) with `nodeCount`
 * nodes and a client, the VIP on every node and the client's extra addresses.
 */
export async function farmLabUp(name: string, nodeCount: number): Promise<FarmLab> {
  await Lab.destroy(name);
  const lab = await Lab.up({ name, nodes: nodeCount, client: true });
  const children = new Set<ChildProcess>();
  const servers = new Map<string, ChildProcess>();
  const spare = (n: number): string => lab.spareAddr(LAN, n);
  const range = (from: number, count: number): string[] => Array.from({ length: count }, (_, i) => spare(from + i));
  const vip = spare(VIP_SLOT);
  const perIpAddrs = range(PER_IP_SLOT, PER_IP_COUNT);
  const spreadAddrs = range(SPREAD_SLOT, SPREAD_COUNT);
  const conntrackAddr = spare(CONNTRACK_SLOT);
  const nodes = Array.from({ length: nodeCount }, (_, i) => `node${i + 1}`);
  const dev = lab.ifname(LAN);

  const sh = async (host: string, argv: readonly string[]): Promise<string> => {
    const r = await lab.exec(host, argv, { timeout_ms: EXEC_TIMEOUT_MS });
    if (r.code !== 0) throw new Error(`${host}: ${argv.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  };

  const spawnReady = async (host: string, argv: readonly string[], stdin = false): Promise<ChildProcess> => {
    const child = lab.spawn(host, argv, { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'inherit'] });
    children.add(child);
    child.once('exit', () => children.delete(child));
    await waitLine(child, 'ready', READY_TIMEOUT_MS);
    return child;
  };

  const down = async (): Promise<void> => {
    const all = [...children];
    for (const c of all) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(all.map((c) => exited(c, CHILD_EXIT_WAIT_MS)));
    await lab.down();
  };

  try {
    for (const n of nodes) await sh(n, ['ip', 'addr', 'add', `${vip}/32`, 'dev', dev]);
    for (const a of [...perIpAddrs, ...spreadAddrs, conntrackAddr]) await sh('client', ['ip', 'addr', 'add', `${a}/${lab.prefixLen}`, 'dev', dev]);
    await sh('client', ['sysctl', '-qw', 'net.ipv4.ip_local_port_range=20000 60999']);
  } catch (e) {
    await down();
    throw e;
  }

  const startServer = async (node: string): Promise<void> => {
    const old = servers.get(node);
    if (old && old.exitCode === null && old.signalCode === null) {
      old.kill('SIGKILL');
      await exited(old, CHILD_EXIT_WAIT_MS);
    }
    servers.set(node, await spawnReady(node, [process.execPath, '-e', SERVER_JS, node, vip]));
  };

  return {
    lab,
    nodes,
    client: 'client',
    vip,
    clientAddr: lab.addr('client', LAN),
    perIpAddrs,
    spreadAddrs,
    conntrackAddr,
    nodeAddr: (node) => lab.addr(node, LAN),
    sh,
    runner: (host) => spawnRunner(lab.joinArgv(host)),
    startServer,
    async startServers() {
      await Promise.all(nodes.map(startServer));
    },
    async startClient() {
      return jsonLineDriver(await spawnReady('client', [process.execPath, '-e', CLIENT_JS, vip], true));
    },
    spawnReady,
    down,
  };
}
