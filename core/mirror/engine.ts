// The mirror engine as the daemon runner sees it: one object per module and role.
//
//   PRIM:   const e = await startMirrorPrim(spec, { peer });   // mounts capture, ships
//   SECOND: const e = await startMirrorSecond(spec, { listen }); // applies, persists
//   e.on('status', (s) => …)  // connected | syncing(progress) | in_sync | lost | alone
//   await e.stop();
//
// Layout under spec.work_dir (e.g. /var/lib/hakit/mirror/<module>):
//   real/<n>        bind mount of the n-th replicated directory (both roles): the engine
//                   reads and writes only here, never through the FUSE mount
//   journal.log     PRIM's dirty-region journal;   receiver.json  SECOND's copy record
// Ops carry paths '/<n>/relative/path', so one connection serves every directory.
import { EventEmitter } from 'node:events';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { HakitError } from '../errors/catalogue';
import { compileExcludes, type ExcludeRules } from './pure/exclude';
import { type TreeDifference, diffTrees, type ManifestEntry } from './pure/tree-diff';
import { MirrorSender, type SenderStatus } from './sender';
import { MirrorReceiver, type AsyncMode } from './receiver';
import { syncFileSystem } from './sync-fs';
import { SyncCapture, cleanStaleMounts, ensureCaptureDir } from './capture/sync-capture';
import { WatchCapture } from './capture/watch-capture';
import { listTree } from './tree-walk';
import type { FrameProtection } from './stream/frame';
import type { Replicator } from './capture/fuse-passthrough';
import { readJson, writeJsonDurable } from './state-file';

/** What one rfsverify compared and found. */
export interface VerifyReport {
  readonly differences: TreeDifference[];
  readonly files_compared: number;
  readonly bytes_compared: number;
}

export interface MirrorModuleSpec {
  readonly module: string;
  /** `<rfs><replicated dir="…"/>` directories, identical paths on both nodes. */
  readonly dirs: readonly string[];
  readonly work_dir: string;
  /** The cluster key (HMAC). */
  readonly key: Buffer;
  /** `<rfs encrypt>`: 'encrypt' (on) or 'auth' (off, default); both nodes must agree. */
  readonly protection?: FrameProtection;
  /** `notreplicated` regexpath patterns, `!re` for replicate-only. */
  readonly notreplicated?: readonly string[];
  readonly async: AsyncMode;
  /** 0 = no cap. */
  readonly bandwidth_bytes_per_s?: number;
  /** 'sync' (FUSE, default) or 'watch' (asynchronous, non-zero recovery point). */
  readonly mode?: CaptureMode;
  /** `<rfs writeback>`: the kernel's writeback cache on the capture (docs/mirror.md). */
  readonly writeback?: boolean;
  /** `<rfs sync_secondary>`: SECOND fsyncs before it acknowledges a sync call (docs/mirror.md
   *  "Durability contract"); default off. */
  readonly sync_secondary?: boolean;
  /** Watch mode: queued hints before one full rescan (default MAX_WATCH_HINTS). */
  readonly watch_max_hints?: number;
  /** The peer node's addresses: the receiver accepts connections from these only. */
  readonly peers?: readonly string[];
  /** `<rfs acktimeout>`: PRIM gives the session up when SECOND acknowledges nothing this long
   *  with ops in flight, or is silent this long (absent: the link's default, 5 s). */
  readonly ack_timeout_ms?: number;
  /** `<rfs blocksize>`: the block size of a re-integration's signature comparison (absent: 64 KiB). */
  readonly block_size_bytes?: number;
}

export type CaptureMode = 'sync' | 'watch';

export type MirrorStatus = SenderStatus
  | { readonly state: 'second_connected' }
  | { readonly state: 'second_complete'; readonly complete: boolean }
  | { readonly state: 'refused'; readonly code: string; readonly message: string }
  | { readonly state: 'watch_error'; readonly code: string; readonly message: string }
  /** SECOND could not apply an op (disk full...): its copy is incomplete until PRIM's next
   *  re-integration succeeds (PRIM retries with back-off, or at once on fullsync). */
  | { readonly state: 'apply_error'; readonly code: string; readonly message: string };

function sh(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => execFile(cmd, args, (e, _o, err) => (e ? reject(new Error(`${cmd} ${args.join(' ')}: ${err || e.message}`)) : resolve())));
}

function realRoot(spec: MirrorModuleSpec): string { return path.join(spec.work_dir, 'real'); }

/** work_dir/real holds bind mounts of the replicated directories: only root may go through
 *  it, or a user could change the real files behind the capture (and its replication). */
async function privateRoot(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(dir, 0o700);
}

function rulesOf(spec: MirrorModuleSpec): ExcludeRules {
  return compileExcludes(spec.notreplicated ?? [], `module ${spec.module} notreplicated`, true);
}

/** Routes '/<n>/…' paths of a FUSE mount of directory n into the sender. */
function prefixed(rep: Replicator, n: number): Replicator {
  const pre = `/${n}`;
  const fix = (p: string): string => (p === '/' ? pre : pre + p);
  return {
    perform(op, local, opts) {
      const o = op as unknown as Record<string, unknown>;
      const copy: Record<string, unknown> = { ...o };
      for (const k of ['path', 'from', 'to']) if (typeof o[k] === 'string') copy[k] = fix(o[k] as string);
      return rep.perform(copy as unknown as typeof op, local, opts);
    },
    write: (op, local, sync, hold) => rep.write({ ...op, path: fix(op.path) }, local, sync, hold),
    sync: (p, local) => rep.sync(fix(p), local),
    unknownChange: () => rep.unknownChange?.(),
    carryPending: (from, to) => rep.carryPending?.(fix(from), fix(to)) ?? Promise.resolve(),
    hasPending: (p) => rep.hasPending?.(fix(p)) ?? false,
  };
}

/** status: replication state changes; problem: FUSE trouble that is no application's error
 *  (a reply the kernel refused, a read of /dev/fuse that failed), for the daemon's log. */
export class MirrorPrim extends EventEmitter<{ status: [MirrorStatus]; problem: [Error]; fence_wanted: [] }> {
  private captures: Array<SyncCapture | WatchCapture> = [];
  private binds: string[] = [];

  constructor(readonly spec: MirrorModuleSpec, readonly sender: MirrorSender) {
    super();
    sender.on('status', (s) => this.emit('status', s));
    sender.on('fence_wanted', () => this.emit('fence_wanted'));
    sender.on('problem', (e) => this.emit('problem', e));
  }

  /** The module layer: SECOND can no longer take over with a copy lacking this PRIM's
   *  ALONE writes (core/mirror/pure/link.ts, the fence); held sync calls return. */
  fenced(): void { this.sender.fenced(); }

  /** The module layer: the fence cannot hold (this node stops while the peer may take over
   *  without its ALONE writes); held sync calls fail, and later ones at once. */
  refuseFence(message: string): void { this.sender.refuseFence(message); }

  /** The module layer: SECOND is lost by the heartbeats (the link gives up its session now). */
  peerLost(): void { this.sender.peerLost(); }

  /** Sync calls wait for `fenced()` now (a listener attached after start asks here). */
  get needsFence(): boolean { return this.sender.needsFence; }

  /** The journal is emptied now (a crash would cost a full comparison); undefined while kept. */
  get journalProblem(): HakitError | undefined { return this.sender.journalProblem; }

  get phase() { return this.sender.phase; }

  /** The last status (the start's ALONE reason comes before a listener can be attached). */
  get lastStatus(): MirrorStatus | undefined { return this.sender.lastStatus; }

  async mount(): Promise<void> {
    if (this.spec.mode === 'watch') {
      await this.watch();
      return;
    }
    for (const [n, dir] of this.spec.dirs.entries()) {
      const cap = new SyncCapture({ dir, private_dir: path.join(realRoot(this.spec), String(n)), replicator: prefixed(this.sender, n), writeback: this.spec.writeback === true, onProblem: (e) => this.emit('problem', e) });
      await cap.start();
      this.captures.push(cap);
    }
  }

  /** Watch mode: real/<n> is a plain bind mount of the directory (the application keeps
   *  using the directory itself) and a watcher over it feeds the sender. */
  private async watch(): Promise<void> {
    for (const [n, dir] of this.spec.dirs.entries()) {
      const priv = path.join(realRoot(this.spec), String(n));
      await fs.mkdir(priv, { recursive: true });
      await sh('mount', ['--bind', dir, priv]).catch((e: Error) => { throw new HakitError('HAKIT_E_MIRROR_MOUNT', e.message, dir); });
      this.binds.push(priv);
      const cap = new WatchCapture({ dir: priv, replicator: prefixed(this.sender, n), max_hints: this.spec.watch_max_hints, onError: (e) => this.emit('status', { state: 'watch_error', code: e.code, message: e.message }) });
      this.captures.push(cap);
      await cap.start();
    }
  }

  /** Watch mode: resolves once every change seen so far is handed to the sender. */
  async settled(): Promise<void> {
    for (const c of this.captures) if (c instanceof WatchCapture) await c.settled();
  }

  /** Watch mode: full rescans done and paths shipped so far (0 in sync mode). */
  watchStats(): { rescans: number; shipped_paths: number } {
    let rescans = 0;
    let shipped_paths = 0;
    for (const c of this.captures) if (c instanceof WatchCapture) { rescans += c.rescans; shipped_paths += c.shippedPaths; }
    return { rescans, shipped_paths };
  }

  /** rfsverify: compares both copies by content hash; [] means identical. */
  async verify(): Promise<TreeDifference[]> {
    return (await this.verifyReport()).differences;
  }

  /** rfsverify, with what it compared: the PRIM's regular files and their bytes (each hashed on both nodes). */
  async verifyReport(): Promise<VerifyReport> {
    const frames = await this.sender.request({ kind: 'manifest', hashes: true });
    const remote: ManifestEntry[] = [];
    for (const f of frames) remote.push(...((JSON.parse(f.payload.toString('utf8')) as { entries?: ManifestEntry[] }).entries ?? []));
    const local = await listTree(realRoot(this.spec), this.sender.rules, { hashes: true });
    const files = local.filter((e) => e.type === 'f');
    return { differences: diffTrees(local, remote, this.sender.rules), files_compared: files.length, bytes_compared: files.reduce((n, e) => n + e.size, 0) };
  }

  fullsync(): Promise<void> { return this.sender.fullsync(); }

  async stop(): Promise<void> {
    // Capture first (no new ops), sender next (a pass may still read real/<n>), binds last.
    const caps = this.captures.reverse();
    this.captures = [];
    for (const c of caps) await (c instanceof SyncCapture ? c.stop({ keep_bind: true }) : c.stop());
    try {
      await this.sender.stop();
    } finally {
      for (const c of caps) if (c instanceof SyncCapture) await c.unbind();
    }
    for (const b of this.binds.reverse()) await sh('umount', ['-l', b]).catch(() => undefined);
    this.binds = [];
  }
}

/**
 * A node whose SECOND copy was complete and cleanly stopped becomes PRIM: its data is that
 * copy, so the PRIM's journal starts from it (and an activity record of the old PRIM can be
 * matched against it). The receiver record is marked as needing a full comparison: this
 * node's data now moves on as PRIM, so as a future SECOND it must not claim to hold that
 * copy (a former PRIM is re-integrated by its activity record or a full comparison).
 */
async function takeOver(work_dir: string): Promise<string | undefined> {
  const file = path.join(work_dir, 'receiver.json');
  const raw = (await readJson(file).catch(() => undefined)) as { copy_id?: unknown; complete?: unknown; clean?: unknown; needs_full?: unknown } | undefined;
  if (!raw || typeof raw.copy_id !== 'string' || raw.needs_full === true) return undefined;
  // SECOND may have acknowledged sync calls from its page cache (no sync_secondary) and not
  // stopped cleanly (hakitd crashed): the copy is made durable before it serves as PRIM's data.
  if (raw.clean !== true) await syncFileSystem(path.join(work_dir, 'real'));
  const usable = raw.complete === true && raw.clean === true;
  await writeJsonDurable(file, { ...raw, clean: false, needs_full: true });
  return usable ? raw.copy_id : undefined;
}

/** Starts PRIM: sender first (so the journal is ready), then the FUSE captures. */
export async function startMirrorPrim(spec: MirrorModuleSpec, peer: { host: string; port: number }, opts: { fence?: 'module' | 'self' } = {}): Promise<MirrorPrim> {
  await cleanStaleMounts(spec.dirs, realRoot(spec)).catch((e: Error) => { throw new HakitError('HAKIT_E_MIRROR_MOUNT', `cannot clean up mounts left by an earlier engine: ${e.message}`, spec.module); });
  await privateRoot(realRoot(spec));
  // A replicated directory that does not exist yet is created, as the SECOND does: a fresh
  // install must not need a manual mkdir on each node before its first start.
  for (const dir of spec.dirs) await ensureCaptureDir(dir);
  const takeover_copy = await takeOver(spec.work_dir);
  const sender = new MirrorSender({
    module: spec.module, real_dir: realRoot(spec), state_dir: spec.work_dir, key: spec.key, protection: spec.protection, async: spec.async, sync_secondary: spec.sync_secondary === true, peer,
    rules: rulesOf(spec), bandwidth_bytes_per_s: spec.bandwidth_bytes_per_s || undefined, ...(takeover_copy ? { takeover_copy } : {}),
    ack_timeout_ms: spec.ack_timeout_ms, block_size_bytes: spec.block_size_bytes,
    fence: opts.fence ?? 'module',
  });
  const prim = new MirrorPrim(spec, sender);
  await sender.start({ link: false });
  try {
    await prim.mount();
    sender.link();
  } catch (e) {
    await prim.stop().catch(() => undefined);
    throw e;
  }
  return prim;
}

export class MirrorSecond extends EventEmitter<{ status: [MirrorStatus] }> {
  constructor(readonly spec: MirrorModuleSpec, readonly receiver: MirrorReceiver, private readonly binds: string[]) {
    super();
    receiver.on('connected', () => this.emit('status', { state: 'second_connected' }));
    receiver.on('complete', (complete) => this.emit('status', { state: 'second_complete', complete }));
    receiver.on('applyError', (e) => this.emit('status', { state: 'apply_error', code: e.code, message: e.message }));
    receiver.on('refused', (e) => this.emit('status', { state: 'refused', code: e.code, message: e.message }));
    receiver.on('lost', (e) => this.emit('status', { state: 'lost', code: e?.code ?? 'HAKIT_E_MIRROR_PEER_LOST', message: e?.message ?? 'closed' }));
  }

  /** Persisted: true only when the copy holds every acknowledged write. */
  get complete(): boolean { return this.receiver.complete; }

  async stop(): Promise<void> {
    await this.receiver.stop();
    for (const b of this.binds.reverse()) await sh('umount', ['-l', b]).catch(() => undefined);
  }
}

/**
 * Starts SECOND: binds each directory to real/<n> (writable, for the receiver) and, with
 * `readonly_copy`, remounts the application path read-only so nothing but the receiver
 * changes the copy.
 */
export async function startMirrorSecond(spec: MirrorModuleSpec, listen: { host: string; port: number }, opts: { readonly_copy?: boolean; before_syncing?: () => Promise<void> } = {}): Promise<MirrorSecond> {
  const binds: string[] = [];
  await cleanStaleMounts(spec.dirs, realRoot(spec)).catch((e: Error) => { throw new HakitError('HAKIT_E_MIRROR_MOUNT', `cannot clean up mounts left by an earlier engine: ${e.message}`, spec.module); });
  try {
    await privateRoot(realRoot(spec)); // the writable binds of the read-only copy live there
    for (const [n, dir] of spec.dirs.entries()) {
      const priv = path.join(realRoot(spec), String(n));
      await fs.mkdir(priv, { recursive: true });
      await fs.mkdir(dir, { recursive: true });
      await sh('mount', ['--bind', dir, priv]);
      binds.push(priv);
      if (opts.readonly_copy) {
        await sh('mount', ['--bind', dir, dir]);
        binds.push(dir);
        await sh('mount', ['-o', 'remount,bind,ro', dir]);
      }
    }
  } catch (e) {
    for (const b of binds.reverse()) await sh('umount', ['-l', b]).catch(() => undefined);
    throw new HakitError('HAKIT_E_MIRROR_MOUNT', (e as Error).message, spec.module);
  }
  const receiver = new MirrorReceiver({
    module: spec.module, dir: realRoot(spec), state_dir: spec.work_dir, key: spec.key, protection: spec.protection,
    host: listen.host, port: listen.port, async: spec.async, sync_secondary: spec.sync_secondary === true, rules: rulesOf(spec), before_syncing: opts.before_syncing,
    roots: spec.dirs.length, ...(spec.peers ? { peers: spec.peers } : {}),
  });
  const second = new MirrorSecond(spec, receiver, binds);
  try {
    await receiver.start();
  } catch (e) {
    // Address not (yet) on this node, port taken: nothing may stay mounted.
    await receiver.stop().catch(() => undefined);
    for (const b of binds.reverse()) await sh('umount', ['-l', b]).catch(() => undefined);
    throw new HakitError('HAKIT_E_MIRROR_MOUNT', `receiver cannot listen on ${listen.host}:${listen.port}: ${(e as Error).message}`, spec.module);
  }
  return second;
}
