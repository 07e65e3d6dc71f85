// Syslog: one datagram per line to a /dev/log-like socket (a Python listener stands in for
// journald/rsyslog), nothing when the socket is absent.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Syslog } from '../../core/checkers/syslog';

test('a line reaches the socket with tag and facility; no socket, nothing sent', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hc-syslog-'));
  const sock = path.join(dir, 'log');
  const py = spawn('python3', ['-c', `import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(${JSON.stringify(sock)})\nprint('ready',flush=True)\ns.settimeout(5)\nprint(s.recv(4096).decode(),flush=True)`]);
  try {
    let out = '';
    py.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const end = Date.now() + 5_000;
    while (!out.includes('ready') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const s = new Syslog('hakit', sock);
    expect(s.present()).toBe(true);
    s.send('hakit app: resource ping.gw up -> down (checker)', 'daemon.warning');
    await new Promise<void>((resolve) => py.once('exit', () => resolve()));
    // <28> = facility daemon (3) * 8 + warning (4)
    expect(out).toMatch(/<28>.*hakit.*resource ping\.gw up -> down \(checker\)/);
    expect(new Syslog('hakit', path.join(dir, 'none')).present()).toBe(false);
  } finally {
    py.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
