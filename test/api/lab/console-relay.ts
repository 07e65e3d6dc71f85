// Makes a lab node's API reachable from the host's root namespace, which has no route into
// the lab (docs/lab.md): two small byte pipes meeting at a unix socket in /run (shared by the
// host and the lab hosts):
//   in the node:  node console-relay.js inside SOCKET ADDR PORT    (unix socket -> node's API)
//   on the host:  node console-relay.js outside SOCKET BIND PORT   (127.0.0.1:PORT -> socket)
// `lab down` stops the outside pipe by the pid the demo recorded in the lab's state (it lives in
// the machine's namespaces, which a power cut of the hosts does not reach); it also exits by
// itself once the inside one is gone, so nothing is left behind.
import fs from 'node:fs';
import net from 'node:net';

/** Connections relayed at once; more are refused. */
const MAX_PIPES = 256;
const PROBE_MS = 5_000;
const LISTEN_RETRY_MS = 500;
const LISTEN_TRIES = 40;

function pipe(a: net.Socket, b: net.Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end);
  b.on('error', end);
  a.on('close', end);
  b.on('close', end);
}

function inside(sock: string, addr: string, port: number): void {
  try {
    fs.unlinkSync(sock);
  } catch {
    // No stale socket.
  }
  const server = net.createServer((c) => pipe(c, net.connect(port, addr)));
  server.maxConnections = MAX_PIPES;
  server.listen(sock, () => fs.chmodSync(sock, 0o600));
  const bye = (): void => {
    server.close();
    try {
      fs.unlinkSync(sock);
    } catch {
      // Gone already.
    }
    process.exit(0);
  };
  process.on('SIGTERM', bye);
  process.on('SIGINT', bye);
}

function removeSocket(sock: string): void {
  try {
    fs.unlinkSync(sock);
  } catch {
    // Gone already.
  }
}

function outside(sock: string, bind: string, port: number): void {
  const server = net.createServer((c) => pipe(c, net.connect(sock)));
  // Stopped by `lab down` before the hosts die: the inside pipe, killed, cannot remove its socket.
  const bye = (): void => {
    removeSocket(sock);
    process.exit(0);
  };
  process.on('SIGTERM', bye);
  process.on('SIGINT', bye);
  server.maxConnections = MAX_PIPES;
  let tries = 0;
  const listen = (): void => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      // An earlier demo's pipe still holds the port until it notices its lab is gone.
      if (e.code === 'EADDRINUSE' && ++tries < LISTEN_TRIES) setTimeout(listen, LISTEN_RETRY_MS);
      else process.exit(1);
    });
    server.listen(port, bind);
  };
  listen();
  setInterval(() => {
    const probe = net.connect(sock);
    probe.once('connect', () => probe.destroy());
    probe.once('error', () => {
      // The inside pipe died with its lab (killed, it could not remove its socket): we do.
      removeSocket(sock);
      process.exit(0);
    });
  }, PROBE_MS);
}

const [mode, sock, host, portText] = process.argv.slice(2);
const port = Number(portText);
if (!sock || !host || !Number.isInteger(port)) {
  process.stderr.write('usage: console-relay inside|outside SOCKET ADDR PORT\n');
  process.exit(2);
}
if (mode === 'inside') inside(sock, host, port);
else if (mode === 'outside') outside(sock, host, port);
else process.exit(2);
