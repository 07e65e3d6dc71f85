// The daemon's local control socket. Root only: the socket is created 0600 inside a 0700
// directory. A stale socket left by a crashed daemon is replaced; a live one means another
// daemon runs, which is refused. Bad requests get a coded error response, never a crash.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HakitError } from '../errors/catalogue';
import type { LogSink } from '../log/sink';
import {
  CONNECTION_IDLE_MS,
  MAX_CONNECTIONS,
  MAX_REQUEST_BYTES,
  errorBody,
  parseRequest,
  salvageId,
  type ControlRequest,
  type ControlResponse,
} from './protocol';

export type ControlHandler = (req: ControlRequest) => Promise<unknown>;

/** How long we try to connect to an existing socket to see whether a daemon answers. */
const LIVENESS_PROBE_MS = 500;

function socketAnswers(socket_path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socket_path);
    const t = setTimeout(() => {
      c.destroy();
      resolve(false);
    }, LIVENESS_PROBE_MS);
    c.once('connect', () => {
      clearTimeout(t);
      c.destroy();
      resolve(true);
    });
    c.once('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

export class ControlServer {
  private server: net.Server | undefined;
  private readonly connections = new Set<net.Socket>();

  constructor(
    readonly socket_path: string,
    private readonly handler: ControlHandler,
    private readonly log: LogSink,
  ) {}

  async start(): Promise<void> {
    const dir = path.dirname(this.socket_path);
    // A directory we create is private; an existing one (HAKIT_RUN_DIR=/run, say) is never
    // chmod-ed, only checked: the socket itself is 0600 either way.
    if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(dir);
    const uid = process.getuid?.() ?? 0;
    if (!st.isDirectory() || st.uid !== uid) {
      throw new HakitError('HAKIT_E_CONTROL_DIR', `not a directory owned by uid ${uid}: refusing to put the control socket there`, dir);
    }
    // Others able to write there could replace our socket with theirs (CLI users would then
    // talk to an impostor) or plant one before we start.
    if ((st.mode & 0o022) !== 0) {
      throw new HakitError('HAKIT_E_CONTROL_DIR', `mode ${(st.mode & 0o7777).toString(8)} lets others write: refusing to put the control socket there (chmod go-w, or set HAKIT_RUN_DIR)`, dir);
    }
    if (fs.existsSync(this.socket_path)) {
      if (await socketAnswers(this.socket_path)) {
        throw new HakitError('HAKIT_E_DAEMON_ALREADY_RUNNING', 'a daemon already answers on this socket', this.socket_path);
      }
      fs.unlinkSync(this.socket_path);
    }
    const server = net.createServer((c) => this.accept(c));
    server.maxConnections = MAX_CONNECTIONS;
    // umask-independent: nobody but root may even connect between listen() and chmod().
    const old_umask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.socket_path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(old_umask);
    }
    fs.chmodSync(this.socket_path, 0o600);
    server.on('error', (e) => this.log.error({ err: e }, 'control socket error'));
    this.server = server;
  }

  private accept(c: net.Socket): void {
    this.connections.add(c);
    c.setEncoding('utf8');
    c.setTimeout(CONNECTION_IDLE_MS, () => c.destroy());
    c.on('close', () => this.connections.delete(c));
    c.on('error', () => c.destroy());
    let buffered = '';
    let chain = Promise.resolve();
    c.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() === '') continue;
        chain = chain.then(() => this.serve(c, line));
      }
      if (Buffer.byteLength(buffered) > MAX_REQUEST_BYTES) {
        buffered = '';
        const err = new HakitError('HAKIT_E_CONTROL_REQUEST_TOO_BIG', `request exceeds ${MAX_REQUEST_BYTES} bytes`, 'control socket');
        chain = chain.then(() => this.reply(c, { id: null, ok: false, error: errorBody(err) })).then(() => void c.end());
      }
    });
  }

  private async serve(c: net.Socket, line: string): Promise<void> {
    if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) {
      const err = new HakitError('HAKIT_E_CONTROL_REQUEST_TOO_BIG', `request exceeds ${MAX_REQUEST_BYTES} bytes`, 'control socket');
      return this.reply(c, { id: salvageId(line), ok: false, error: errorBody(err) });
    }
    let req: ControlRequest;
    try {
      req = parseRequest(line);
    } catch (e) {
      return this.reply(c, { id: salvageId(line), ok: false, error: errorBody(e) });
    }
    try {
      const result = await this.handler(req);
      return this.reply(c, { id: req.id, ok: true, result: result ?? null });
    } catch (e) {
      if (!(e instanceof HakitError)) this.log.error({ err: e, cmd: req.cmd }, 'control handler failed');
      return this.reply(c, { id: req.id, ok: false, error: errorBody(e) });
    }
  }

  private reply(c: net.Socket, r: ControlResponse): void {
    if (!c.destroyed) c.write(JSON.stringify(r) + '\n');
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const c of this.connections) c.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    try {
      fs.unlinkSync(this.socket_path);
    } catch {
      // Already gone.
    }
  }
}
