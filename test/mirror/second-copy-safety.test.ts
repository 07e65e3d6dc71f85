// What SECOND's copy holds that PRIM never made (a FIFO, a socket, a device node, left from
// before the mirror), and what SECOND makes durable before it records its copy complete or
// clean with sync_secondary: a real receiver on loopback, real files, as root (mknod).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FrameType } from '../../core/mirror/stream/frame';
import { type MirrorOp } from '../../core/mirror/pure/ops';
import * as syncFs from '../../core/mirror/sync-fs';
import { ReceiverClient, startReceiver, type StartedReceiver } from '../unit/mirror/receiver-client';

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

let r: StartedReceiver | undefined;
let client: ReceiverClient | undefined;

async function open(extra: { sync_secondary?: boolean } = {}): Promise<{ r: StartedReceiver; client: ReceiverClient; at: (p: string) => string }> {
  r = await startReceiver('hakit-second-safety-', extra);
  client = await ReceiverClient.open(r.receiver.address!.port);
  const base = r.base;
  return { r, client, at: (p: string) => path.join(base, 'copy', p) };
}

afterEach(async () => {
  client?.close();
  await r?.receiver.stop();
  if (r) fs.rmSync(r.base, { recursive: true, force: true });
  r = undefined;
  client = undefined;
});

describe('special files in the copy', () => {
  test('a FIFO where PRIM creates a file is replaced, and the event loop never waits for a reader', async () => {
    const { r, client, at } = await open();
    execFileSync('mkfifo', [at('/0/p')]);
    let maxGap_ms = 0;
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      maxGap_ms = Math.max(maxGap_ms, now - last);
      last = now;
    }, 5);
    // A reader 1.5 s later would have released an open that blocked.
    const reader = spawn('sh', ['-c', `sleep 1.5; exec cat ${at('/0/p')} > /dev/null`], { stdio: 'ignore' });
    try {
      await client.ack(client.send([{ kind: 'create', path: '/0/p', mode: 0o644 }, { kind: 'write', path: '/0/p', offset: 0, data: Buffer.from('data') }, { kind: 'fsync', path: '/0/p' }]));
    } finally {
      clearInterval(tick);
      reader.kill('SIGKILL');
    }
    expect(maxGap_ms).toBeLessThan(500);
    expect(r.applyErrors.map((e) => e.message)).toEqual([]);
    expect(fs.lstatSync(at('/0/p')).isFile()).toBe(true);
    expect(fs.readFileSync(at('/0/p'), 'utf8')).toBe('data');
  });

  test('a unix socket where PRIM creates a file is replaced', async () => {
    const { r, client, at } = await open();
    execFileSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(at('/0/s'))})`]);
    expect(fs.lstatSync(at('/0/s')).isSocket()).toBe(true);
    await client.ack(client.send([{ kind: 'create', path: '/0/s', mode: 0o640 }, { kind: 'write', path: '/0/s', offset: 0, data: Buffer.from('x') }]));
    expect(r.applyErrors.map((e) => e.message)).toEqual([]);
    expect(fs.lstatSync(at('/0/s')).isFile()).toBe(true);
    expect(fs.statSync(at('/0/s')).mode & 0o777).toBe(0o640);
  });

  test('a device node where PRIM creates a file is replaced, not written through', async () => {
    const { r, client, at } = await open();
    execFileSync('mknod', [at('/0/n'), 'c', '1', '3']); // the null device's numbers
    await client.ack(client.send([{ kind: 'create', path: '/0/n', mode: 0o644 }, { kind: 'write', path: '/0/n', offset: 0, data: Buffer.from('payload') }, { kind: 'fsync', path: '/0/n' }]));
    expect(r.applyErrors.map((e) => e.message)).toEqual([]);
    expect(fs.lstatSync(at('/0/n')).isFile()).toBe(true);
    expect(fs.readFileSync(at('/0/n'), 'utf8')).toBe('payload');
  });

  test('a write to a name that is a device node (no create before it) is an apply error, not a write through', async () => {
    const { r, client, at } = await open();
    execFileSync('mknod', [at('/0/n'), 'c', '1', '3']);
    client.send([{ kind: 'write', path: '/0/n', offset: 0, data: Buffer.from('payload') }]);
    await until(() => r.applyErrors.length > 0);
    expect(r.applyErrors[0]?.code).toBe('HAKIT_E_MIRROR_APPLY');
    expect(r.applyErrors[0]?.message).toMatch(/not a regular file/);
    expect(fs.lstatSync(at('/0/n')).isCharacterDevice()).toBe(true);
  });
});

describe('sync_secondary: fsyncs of names that changed kind', () => {
  test.each([
    ['a symlink', (d: string): MirrorOp => ({ kind: 'symlink', target: 'elsewhere', path: d })],
    ['a regular file', (d: string): MirrorOp => ({ kind: 'create', path: d, mode: 0o644 })],
  ] as const)('a directory changed since the last fsync, then replaced by %s: the next fsync is applied', async (_name, replace) => {
    const { r, client } = await open({ sync_secondary: true });
    await client.ack(client.send([{ kind: 'create', path: '/0/other', mode: 0o644 }, { kind: 'fsync', path: '/0' }]));
    const last = client.send([
      { kind: 'mkdir', path: '/0/d', mode: 0o755 },
      { kind: 'create', path: '/0/d/f', mode: 0o644 }, // '/0/d' changed since the last fsync
      { kind: 'unlink', path: '/0/d/f' },
      { kind: 'rmdir', path: '/0/d' },
      replace('/0/d'),
      { kind: 'write', path: '/0/other', offset: 0, data: Buffer.from('x') },
      { kind: 'fsync', path: '/0/other' },
    ]);
    await client.ack(last);
    expect(r.applyErrors.map((e) => e.message)).toEqual([]);
  });

  test('an fsync of a written file whose name is now a symlink is acknowledged', async () => {
    const { r, client } = await open({ sync_secondary: true });
    await client.ack(
      client.send([
        { kind: 'create', path: '/0/x', mode: 0o644 },
        { kind: 'write', path: '/0/x', offset: 0, data: Buffer.from('x') },
        { kind: 'unlink', path: '/0/x' },
        { kind: 'symlink', target: 'y', path: '/0/x' },
        { kind: 'fsync', path: '/0/x' },
      ]),
    );
    expect(r.applyErrors.map((e) => e.message)).toEqual([]);
  });
});

describe('sync_secondary: what is on disk before the copy is recorded complete or clean', () => {
  // More files than the descriptor cache keeps (64): the ones it closed it never synced, so
  // only a sync of the whole file system covers them.
  const FILES = 100;
  const writes = (): MirrorOp[] => Array.from({ length: FILES }, (_x, i): MirrorOp[] => [{ kind: 'create', path: `/0/f${i}`, mode: 0o644 }, { kind: 'write', path: `/0/f${i}`, offset: 0, data: Buffer.alloc(4096, i) }]).flat();
  const record = (base: string): { clean?: boolean; complete?: boolean } => JSON.parse(fs.readFileSync(path.join(base, 'state', 'receiver.json'), 'utf8')) as { clean?: boolean; complete?: boolean };

  /** Watches syncfs calls; each one notes what the state record said when it was asked. */
  function watchSyncfs(base: string, result: boolean): { calls: Array<{ dir: string; complete_before?: boolean }>; restore: () => void } {
    const calls: Array<{ dir: string; complete_before?: boolean }> = [];
    const spy = jest.spyOn(syncFs, 'syncFileSystem').mockImplementation(async (dir: string) => {
      calls.push({ dir, complete_before: fs.existsSync(path.join(base, 'state', 'receiver.json')) ? record(base).complete : undefined });
      return result;
    });
    return { calls, restore: () => spy.mockRestore() };
  }

  async function inSync(client: ReceiverClient): Promise<{ ok?: boolean; complete?: boolean }> {
    client.ch.sendJson(FrameType.STATE, 1, { session: 'S', first_seq: 1, state: 'syncing' });
    await client.ack(client.send(writes()));
    const before = client.frames.length;
    client.ch.sendJson(FrameType.STATE, 2, { session: 'S', state: 'in_sync' });
    await until(() => client.frames.slice(before).some((f) => f.type === FrameType.RESP) || client.ch.isClosed);
    const resp = client.frames.slice(before).find((f) => f.type === FrameType.RESP);
    return resp ? (JSON.parse(resp.payload.toString('utf8')) as { ok?: boolean; complete?: boolean }) : {};
  }

  test('in_sync syncs the copy\'s file system before it writes complete=true', async () => {
    const { r, client } = await open({ sync_secondary: true });
    const w = watchSyncfs(r.base, true);
    try {
      expect(await inSync(client)).toMatchObject({ ok: true, complete: true });
      expect(w.calls).toEqual([{ dir: path.join(r.base, 'copy'), complete_before: false }]);
      expect(record(r.base).complete).toBe(true);
    } finally {
      w.restore();
    }
  });

  test('a syncfs that fails leaves the copy incomplete and ends the session (coded)', async () => {
    const { r, client } = await open({ sync_secondary: true });
    const w = watchSyncfs(r.base, false);
    try {
      await inSync(client);
      await until(() => r.applyErrors.length > 0 || client.ch.isClosed);
      expect(r.receiver.complete).toBe(false);
      expect(record(r.base).complete).toBe(false);
    } finally {
      w.restore();
    }
  });

  test('a clean stop syncs the copy before it records clean; a failed sync is not recorded clean', async () => {
    const { r, client } = await open({ sync_secondary: true });
    await client.ack(client.send(writes()));
    const w = watchSyncfs(r.base, true);
    try {
      client.close();
      await r.receiver.stop();
      expect(w.calls.map((c) => c.dir)).toEqual([path.join(r.base, 'copy')]);
      expect(record(r.base).clean).toBe(true);
    } finally {
      w.restore();
    }
    const again = await startReceiver('hakit-second-safety-', { sync_secondary: true });
    const failing = watchSyncfs(again.base, false);
    try {
      await again.receiver.stop();
      expect(record(again.base).clean).toBe(false);
    } finally {
      failing.restore();
      fs.rmSync(again.base, { recursive: true, force: true });
    }
  });
});
