// A small farm network for the filter tests (to be replaced by test/lab): a switch namespace
// with one bridge, N node namespaces and one client namespace, each with eth0 on the bridge,
// addresses in 198.18.70.0/24, the VIP on every node, and a tiny server per node that
// answers its node name. Every name carries the `hf` prefix of this test area.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export const SUBNET = '198.18.70';
export const VIP = `${SUBNET}.100`;
export const CLIENT_ADDR = `${SUBNET}.50`;
/** Extra client addresses for per-client-IP tests. */
export const CLIENT_EXTRA_ADDRS = Array.from({ length: 8 }, (_, i) => `${SUBNET}.${60 + i}`);
export const PORT_ON_PORT = 8080;
export const PORT_ON_ADDR = 8081;
/** A port no rule names: served by the owner of bucket 0 only. */
export const PORT_UNLISTED = 9090;
export const PORT_UDP = 5353;
/** Setup commands are quick; a hung `ip` must not hang the suite. */
const SETUP_TIMEOUT_MS = 10_000;
/** A client request gets this long before the test fails. */
const CLIENT_REQUEST_TIMEOUT_MS = 60_000;

function sh(argv: readonly string[], okFail = false): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { timeout: SETUP_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (e) {
    if (okFail) return '';
    throw e;
  }
}

// Each node: one TCP server per port answering its name on connect and on every chunk, and a
// UDP server answering its name. Runs inside the node's namespace.
const SERVER_JS = `
const net = require('net'), dgram = require('dgram'); const name = process.argv[1];
for (const port of [${PORT_ON_PORT}, ${PORT_ON_ADDR}, ${PORT_UNLISTED}]) {
  net.createServer((s) => { s.setNoDelay(true); s.on('error', () => {}); s.on('data', () => s.write(name + '\\n')); s.write(name + '\\n'); })
    .listen({ port, host: '0.0.0.0', backlog: 4096 });
}
const u = dgram.createSocket('udp4'); u.on('message', (m, r) => u.send(name, r.port, r.address)); u.bind(${PORT_UDP});
process.stdout.write('ready\\n');
`;

// The client driver: JSON commands in, one JSON answer line out per command.
const CLIENT_JS = `
const net = require('net'), dgram = require('dgram'), rl = require('readline').createInterface({ input: process.stdin });
const VIP = '${VIP}'; const held = [];
const bump = (o, k) => { o[k] = (o[k] || 0) + 1; };
function connectOnce(port, localAddress, timeoutMs) {
  return new Promise((resolve) => {
    const s = net.connect({ host: VIP, port, localAddress });
    const t = setTimeout(() => { s.destroy(); resolve({ err: 'timeout' }); }, timeoutMs);
    s.once('data', (d) => { clearTimeout(t); resolve({ name: d.toString().trim(), s }); });
    s.on('error', (e) => { clearTimeout(t); resolve({ err: e.code || 'error' }); });
  });
}
async function burst({ port, count, concurrency, localAddress }) {
  const counts = {}, errors = {}; let next = 0;
  async function worker() { while (next < count) { next++; const r = await connectOnce(port, localAddress, 3000);
    if (r.s) { bump(counts, r.name); r.s.end(); r.s.destroy(); } else bump(errors, r.err); } }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { counts, errors };
}
async function open({ port, count }) {
  const counts = {}, errors = {};
  for (let i = 0; i < count; i++) { const r = await connectOnce(port, undefined, 3000);
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
function closeAll() { for (const c of held) c.s.destroy(); held.length = 0; return {}; }
const ops = { burst, open, probe, udp, closeAll };
rl.on('line', async (line) => { const cmd = JSON.parse(line); const res = await ops[cmd.op](cmd);
  process.stdout.write(JSON.stringify(res) + '\\n'); });
process.stdout.write('ready\\n');
`;

export interface ClientDriver {
  request<T>(cmd: Record<string, unknown>): Promise<T>;
}

export interface FarmNet {
  readonly nodes: readonly string[];
  readonly client: string;
  nodeAddr(index: number): string;
  /** argv prefix that runs a command inside namespace `ns`. */
  inNs(ns: string): string[];
  sh(ns: string, argv: readonly string[]): string;
  startServers(): Promise<void>;
  startClient(): Promise<ClientDriver>;
  down(): void;
}

function waitLine(child: ChildProcess, want: string, timeout_ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const t = setTimeout(() => reject(new Error(`no "${want}" from child in ${timeout_ms} ms`)), timeout_ms);
    rl.on('line', (l) => {
      if (l === want) {
        clearTimeout(t);
        rl.close();
        resolve();
      }
    });
  });
}

export function farmNetUp(prefix: string, nodeCount: number): FarmNet {
  const sw = `${prefix}-sw`;
  const nodes = Array.from({ length: nodeCount }, (_, i) => `${prefix}-n${i + 1}`);
  const client = `${prefix}-c`;
  const all = [sw, ...nodes, client];
  const children: ChildProcess[] = [];
  const inNs = (ns: string): string[] => ['ip', 'netns', 'exec', ns];
  const nodeAddr = (i: number): string => `${SUBNET}.${11 + i}`;

  const down = (): void => {
    for (const c of children) if (c.exitCode === null && c.pid) c.kill('SIGKILL');
    for (const ns of all) sh(['ip', 'netns', 'del', ns], true);
  };
  down(); // our own leftovers from a crashed run, by name
  try {
    sh(['ip', 'netns', 'add', sw]);
    sh(['ip', '-n', sw, 'link', 'add', `${prefix}-br0`, 'type', 'bridge']);
    sh(['ip', '-n', sw, 'link', 'set', `${prefix}-br0`, 'up']);
    [...nodes, client].forEach((ns, i) => {
      sh(['ip', 'netns', 'add', ns]);
      sh(['ip', '-n', sw, 'link', 'add', `${prefix}-p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh(['ip', '-n', sw, 'link', 'set', `${prefix}-p${i}`, 'master', `${prefix}-br0`, 'up']);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    });
    nodes.forEach((ns, i) => {
      sh(['ip', '-n', ns, 'addr', 'add', `${nodeAddr(i)}/24`, 'dev', 'eth0']);
      sh(['ip', '-n', ns, 'addr', 'add', `${VIP}/32`, 'dev', 'eth0']);
    });
    sh(['ip', '-n', client, 'addr', 'add', `${CLIENT_ADDR}/24`, 'dev', 'eth0']);
    for (const a of CLIENT_EXTRA_ADDRS) sh(['ip', '-n', client, 'addr', 'add', `${a}/24`, 'dev', 'eth0']);
    sh(['ip', 'netns', 'exec', client, 'sysctl', '-qw', 'net.ipv4.ip_local_port_range=20000 60999']);
  } catch (e) {
    down();
    throw e;
  }

  return {
    nodes,
    client,
    nodeAddr,
    inNs,
    sh: (ns, argv) => sh([...inNs(ns), ...argv]),
    async startServers() {
      await Promise.all(
        nodes.map((ns, i) => {
          const child = spawn('ip', [...inNs(ns).slice(1), 'node', '-e', SERVER_JS, `node${i + 1}`], { stdio: ['ignore', 'pipe', 'inherit'] });
          children.push(child);
          return waitLine(child, 'ready', SETUP_TIMEOUT_MS);
        }),
      );
    },
    async startClient() {
      const child = spawn('ip', [...inNs(client).slice(1), 'node', '-e', CLIENT_JS], { stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(child);
      await waitLine(child, 'ready', SETUP_TIMEOUT_MS);
      const lines = createInterface({ input: child.stdout! });
      const waiting: ((line: string) => void)[] = [];
      lines.on('line', (l) => waiting.shift()?.(l));
      return {
        request<T>(cmd: Record<string, unknown>): Promise<T> {
          return new Promise<T>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`client did not answer ${JSON.stringify(cmd)} in time`)), CLIENT_REQUEST_TIMEOUT_MS);
            waiting.push((l) => {
              clearTimeout(t);
              resolve(JSON.parse(l) as T);
            });
            child.stdin!.write(JSON.stringify(cmd) + '\n');
          });
        },
      };
    },
    down,
  };
}
