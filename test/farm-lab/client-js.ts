// The client program run in the lab's client namespace: JSON commands in, one JSON answer line
// out each (driven by jsonLineDriver of test/filters/netns-fixture.ts). It talks to the
// example module farm_http (HTTP answering the node name; UDP answering the node name).
export const FARM_CLIENT_JS = `
const net = require('net'), dgram = require('dgram');
const rl = require('readline').createInterface({ input: process.stdin });
const VIP = process.argv[1], HTTP = Number(process.argv[2]), UDP = Number(process.argv[3]);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const bump = (o, k) => { o[k] = (o[k] || 0) + 1; };
const REQ = 'GET / HTTP/1.1\\r\\nHost: vip\\r\\n\\r\\n';
// One HTTP exchange on socket s; resolves with the node name in the answer.
function exchange(s, timeoutMs) { return new Promise((resolve) => { let buf = '';
  const done = (v) => { clearTimeout(t); s.off('data', onData); s.off('close', onClose); resolve(v); };
  const onData = (d) => { buf += d; if (buf.includes('\\r\\n0\\r\\n\\r\\n') || /\\r\\n\\r\\n[^\\r]*node\\d+\\n$/.test(buf)) { const m = /(node\\d+)\\n/.exec(buf.split('\\r\\n\\r\\n').slice(1).join('')); done(m ? m[1] : 'garbled'); } };
  const onClose = () => done('closed'); const t = setTimeout(() => done('timeout'), timeoutMs);
  s.on('data', onData); s.on('close', onClose); s.write(REQ); }); }
function connect(localAddress, timeoutMs) { return new Promise((resolve) => {
  const s = net.connect({ host: VIP, port: HTTP, localAddress }); s.setNoDelay(true);
  const t = setTimeout(() => { s.destroy(); resolve({ err: 'timeout' }); }, timeoutMs);
  s.once('connect', () => { clearTimeout(t); resolve({ s }); }); s.on('error', (e) => { clearTimeout(t); resolve({ err: e.code || 'error' }); }); }); }
// One new connection, one request: the serving node or an error word.
async function once(addr, timeoutMs) { const c = await connect(addr, timeoutMs); if (!c.s) return c.err;
  const name = await exchange(c.s, timeoutMs); c.s.destroy(); return name; }
async function conns({ addrs, per_addr, timeout_ms }) { const by_addr = {}, counts = {}, errors = {};
  await Promise.all(addrs.map(async (a) => { by_addr[a] = {}; for (let i = 0; i < per_addr; i++) { const r = await once(a, timeout_ms || 3000);
    if (/^node\\d+$/.test(r)) { bump(counts, r); bump(by_addr[a], r); } else bump(errors, r); } }));
  return { by_addr, counts, errors }; }
function udpOnce(timeoutMs) { return new Promise((resolve) => { const s = dgram.createSocket('udp4'); const got = [];
  s.on('message', (m) => got.push(m.toString().trim())); s.bind(0, () => s.send('q', UDP, VIP));
  setTimeout(() => { s.close(); resolve(got); }, timeoutMs); }); }
async function udp({ count, concurrency }) { const counts = {}; let none = 0, dup = 0, next = 0;
  async function worker() { while (next < count) { next++; const got = await udpOnce(400);
    if (got.length === 0) none++; else { if (got.length > 1) dup++; bump(counts, got[0]); } } }
  await Promise.all(Array.from({ length: concurrency }, worker)); return { counts, none, dup }; }
// Long-lived keep-alive connections, each asked every ping_ms; broken = closed, silent, or
// answered by another node than its first.
const held = []; let pinger = null;
async function hold({ addrs, per_addr, ping_ms }) { const counts = {}, errors = {};
  for (const a of addrs) for (let i = 0; i < per_addr; i++) { const c = await connect(a, 3000); if (!c.s) { bump(errors, c.err); continue; }
    const name = await exchange(c.s, 3000); if (!/^node\\d+$/.test(name)) { bump(errors, name); c.s.destroy(); continue; }
    const h = { s: c.s, name, addr: a, broken: null, busy: false }; c.s.on('error', () => {}); held.push(h); bump(counts, name); }
  if (!pinger) pinger = setInterval(() => { for (const h of held) { if (h.broken || h.busy) continue; h.busy = true;
    exchange(h.s, 2500).then((r) => { h.busy = false; if (r !== h.name && !h.broken) h.broken = r + "@" + Math.round(now()); }); } }, ping_ms || 1000);
  return { counts, errors }; }
function heldReport() { const by_node = {}, broken_by_node = {}, reasons = {};
  for (const h of held) { bump(by_node, h.name); if (h.broken) { bump(broken_by_node, h.name); bump(reasons, h.broken.split('@')[0]); } }
  return { total: held.length, by_node, broken_by_node, reasons }; }
function release() { if (pinger) clearInterval(pinger); pinger = null; for (const h of held) h.s.destroy(); held.length = 0; return {}; }
// One new connection every interval_ms (cycling over addrs) for duration_ms: [start, ok, node].
async function watch({ addrs, interval_ms, duration_ms, ok_ms }) { const out = []; const t0 = now(); const pending = []; let i = 0;
  while (now() - t0 < duration_ms) { const t = now(); const a = addrs[i++ % addrs.length];
    pending.push(once(a, ok_ms).then((r) => out.push([t, /^node\\d+$/.test(r) ? 1 : 0, r, now() - t])));
    await new Promise((res) => setTimeout(res, interval_ms)); }
  await Promise.all(pending); return { attempts: out.sort((a, b) => a[0] - b[0]), now: now() }; }
const clock = () => ({ now: now() });
const ops = { conns, udp, hold, heldReport, release, watch, clock };
rl.on('line', async (line) => { const cmd = JSON.parse(line); let result;
  try { result = await ops[cmd.op](cmd); } catch (e) { result = { thrown: String(e) }; }
  process.stdout.write(JSON.stringify({ id: cmd.id, result }) + '\\n'); });
process.stdout.write('ready\\n');
`;
