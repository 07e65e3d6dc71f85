// The real control socket on a temp path: mode 0600, ordered replies, coded errors for
// malformed and oversized requests, stale-socket replacement, refusal of a second daemon.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HakitError } from '../../../core/errors/catalogue';
import { controlRequest } from '../../../core/control/client';
import { MAX_REQUEST_BYTES } from '../../../core/control/protocol';
import { ControlServer } from '../../../core/control/server';
import { SILENT_LOG } from '../../../core/log/sink';

let dir = '';
let sock = '';
let server: ControlServer | undefined;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hd-ctl-'));
  sock = path.join(dir, 'run', 'hakitd.sock');
  server = new ControlServer(
    sock,
    async (req) => {
      if (req.cmd === 'echo') return req.args;
      if (req.cmd === 'slow') return new Promise((r) => setTimeout(() => r('slow'), 100));
      if (req.cmd === 'boom') throw new Error('unexpected');
      throw new HakitError('HAKIT_E_CONTROL_UNKNOWN_COMMAND', `unknown command "${req.cmd}"`, 'control socket');
    },
    SILENT_LOG,
  );
  await server.start();
});
afterEach(async () => {
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function rawExchange(lines: string, expectLines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock);
    let buf = '';
    const t = setTimeout(() => {
      c.destroy();
      reject(new Error(`timeout, got: ${buf}`));
    }, 5000);
    c.setEncoding('utf8');
    c.on('connect', () => c.write(lines));
    c.on('data', (d: string) => {
      buf += d;
      const got = buf.split('\n').filter(Boolean);
      if (got.length >= expectLines) {
        clearTimeout(t);
        c.destroy();
        resolve(got);
      }
    });
    c.on('error', reject);
  });
}

it('is a root-only socket (0600 in a 0700 directory)', () => {
  expect(fs.statSync(sock).mode & 0o777).toBe(0o600);
  expect(fs.statSync(path.dirname(sock)).mode & 0o777).toBe(0o700);
});

it('answers requests in order and passes coded errors through to the client', async () => {
  expect(await controlRequest(sock, 'echo', { a: 1 })).toEqual({ a: 1 });
  await expect(controlRequest(sock, 'nope')).rejects.toMatchObject({ code: 'HAKIT_E_CONTROL_UNKNOWN_COMMAND' });
  await expect(controlRequest(sock, 'boom')).rejects.toMatchObject({ code: 'HAKIT_E_INTERNAL' });
  const got = await rawExchange('{"id":1,"cmd":"slow"}\n{"id":2,"cmd":"echo","args":{"b":2}}\n', 2);
  expect(got.map((l) => (JSON.parse(l) as { id: number }).id)).toEqual([1, 2]);
});

it('refuses malformed and oversized requests with coded errors and keeps serving', async () => {
  const got = await rawExchange('not json\n{"id":5,"cmd":7}\n[1]\n', 3);
  const errs = got.map((l) => JSON.parse(l) as { id: number | null; ok: boolean; error: { code: string } });
  expect(errs.map((e) => e.error.code)).toEqual(['HAKIT_E_CONTROL_BAD_REQUEST', 'HAKIT_E_CONTROL_BAD_REQUEST', 'HAKIT_E_CONTROL_BAD_REQUEST']);
  expect(errs[1]!.id).toBe(5);
  const big = await rawExchange('x'.repeat(MAX_REQUEST_BYTES + 10), 1);
  expect((JSON.parse(big[0]!) as { error: { code: string } }).error.code).toBe('HAKIT_E_CONTROL_REQUEST_TOO_BIG');
  expect(await controlRequest(sock, 'echo', { still: 'up' })).toEqual({ still: 'up' });
});

it('says clearly when no daemon answers', async () => {
  await expect(controlRequest(path.join(dir, 'none.sock'), 'echo')).rejects.toMatchObject({ code: 'HAKIT_E_DAEMON_UNREACHABLE' });
});

it('refuses a second daemon on a live socket and replaces a stale one', async () => {
  const second = new ControlServer(sock, async () => 'x', SILENT_LOG);
  await expect(second.start()).rejects.toMatchObject({ code: 'HAKIT_E_DAEMON_ALREADY_RUNNING' });
  // A crashed daemon leaves its socket file behind: simulate by a file nobody listens on.
  const stalePath = path.join(dir, 'run', 'stale.sock');
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(stalePath, () => r()));
  await new Promise<void>((r) => {
    // close() unlinks the path; re-create a dead socket file by hard-linking before closing.
    fs.linkSync(stalePath, stalePath + '.keep');
    s.close(() => r());
  });
  fs.renameSync(stalePath + '.keep', stalePath);
  const third = new ControlServer(stalePath, async () => 'fresh', SILENT_LOG);
  await third.start();
  expect(await controlRequest(stalePath, 'any')).toBe('fresh');
  await third.close();
});
