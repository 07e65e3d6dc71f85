// One FUSE mount served by this process over the kernel protocol (/dev/fuse), without
// libfuse. Why our own: libfuse 2 (and fuse-native on top of it) cannot negotiate
// FUSE_MAX_PAGES, so every request carries at most 128 KiB and a sequential writer waits for
// one synchronous replication round trip per 128 KiB; it also hides the caller's uid/gid
// and answers through an extra thread hop. Here a request carries up to 1 MiB, replies are
// written straight from the event loop, and the caller's identity reaches the ops.
//
// Threads: /dev/fuse is read on the event loop (loop-reader.ts). Without that (a Node lacking
// the binding, or HAKIT_FUSE_POOL_READS=1), each outstanding read of /dev/fuse blocks one
// libuv pool thread until a request arrives: `readers_per_mount` reads are kept outstanding,
// and the pool must be bigger than all mounts' readers (see threadpool.ts), or file calls
// would queue behind idle reads forever. The threads are claimed either way.
// Nothing here ever calls the file system on its own mount (the kernel would deadlock us).
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import { HakitError } from '../../errors/catalogue';
import { claimPoolThreads, releasePoolThreads } from './threadpool';
import { type AttrChange, type Caller, type FsOps, type TimeSet } from './ops';
import {
  attrOut, cstring, decodeHeader, DirType, IllegalNameError, InitFlag, entryOut, Fattr, FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FSYNC_FDATASYNC, GETATTR_FH, IN_HEADER_BYTES, initOut,
  MIN_READ_BUFFER_BYTES, negotiateInit, Op, openOut, packDirents, RENAME_NOREPLACE, ROOT_NODE, statfsOut,
  u64, WRITE_OVERHEAD_BYTES, writeOut, type Attr, type DirEntry, type RequestHeader,
} from './pure/protocol';
import { childPath, NodeTable, type FileIdentity } from './pure/node-table';
import { handleDirect, handleGeneration, makeHandle, nextGeneration, rememberRecord, type NodeLogRecord } from './pure/node-log';
import { CacheModes } from './pure/cache-modes';
import { PathClaims } from './path-claims';
import { LoopReader } from './loop-reader';
import { FuseRequestTiming } from './request-timing';

export const FUSE_DEFAULTS = {
  /** 1 MiB: the kernel's default max_pages_limit (256 pages). */
  max_write_bytes: 1024 * 1024,
  readers_per_mount: 2,
  /** Request buffers one mount may hold (reads in progress + writes waiting for SECOND). */
  max_buffers: 32,
  /** How long the kernel may cache an entry or attributes (libfuse's default). */
  valid_ms: 1000,
  init_timeout_ms: 5000,
  /** An interrupted sync whose caller is not (yet) being killed is re-checked this often. */
  interrupt_poll_ms: 100,
  mount_timeout_ms: 10_000,
} as const;

const ERRNO = os.constants.errno;
const EIO = ERRNO.EIO;

export interface FuseSessionOptions {
  readonly mountpoint: string;
  /** Source name shown in mountinfo (how stale mounts are recognised). */
  readonly fsname: string;
  readonly ops: FsOps;
  readonly max_write_bytes?: number;
  /** Ask for the kernel's writeback cache (`<rfs writeback>`; default off). */
  readonly writeback_cache?: boolean;
}

/** What a restarted daemon needs to go on serving a connection its predecessor set up
 *  (INIT is not sent again): see docs/adr/0009-fuse-mount-survives-daemon.md. */
export interface SessionParams {
  readonly max_write_bytes: number;
  readonly direct_writes: boolean;
  /** The kernel caches writes: our descriptors of write-only opens are read-write. */
  readonly writeback: boolean;
  /** The life of the daemon that served it (in the high bits of every file handle). */
  readonly generation: number;
}

/** Where node-table changes go, synchronously, before the reply that depends on them. */
export interface NodeJournal {
  append(r: NodeLogRecord): void;
}

/** FUSE_NOTIFY_RESEND (protocol 7.40, Linux 6.9): requests read but not answered by a dead
 *  server go back to the pending queue with bit 63 set in their unique. */
const FUSE_NOTIFY_RESEND = 7;

export interface FuseSessionEvents {
  /** Something that is not the application's business went wrong (logged by the owner). */
  problem: [Error];
  /** The kernel connection is gone (unmounted or aborted). */
  closed: [];
}

/** Negative errno of a rejection (Node's `errno` is negative; `code` names it otherwise). */
export function errnoOf(e: unknown): number {
  const err = e as NodeJS.ErrnoException | undefined;
  const n = typeof err?.errno === 'number' && err.errno < 0 ? err.errno : -((err?.code ? (ERRNO as Record<string, number>)[err.code] : undefined) ?? EIO);
  // The kernel refuses a reply whose error is outside -511..-1 and leaves the request
  // pending forever; ENOSYS would switch the op off for the whole connection.
  return n <= -512 || n >= 0 || n === -ERRNO.ENOSYS ? -EIO : n;
}

function attrOf(st: fs.Stats): Attr {
  return {
    ino: st.ino, size: st.size, blocks: st.blocks, atimeMs: st.atimeMs, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs,
    mode: st.mode, nlink: st.nlink, uid: st.uid, gid: st.gid, rdev: st.rdev, blksize: st.blksize,
  };
}

function isWriteOnly(flags: number): boolean {
  return (flags & (fs.constants.O_RDONLY | fs.constants.O_WRONLY | fs.constants.O_RDWR)) === fs.constants.O_WRONLY;
}

/** SIGKILL pending on thread `tid` (a fatal signal of any kind is turned into one by the
 *  kernel): the caller is dying and must not wait for our answer. */
export function callerDying(tid: number): boolean {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${tid}/status`, 'utf8');
  } catch {
    return true; // gone already
  }
  for (const key of ['SigPnd:', 'ShdPnd:']) {
    const m = new RegExp(`^${key}\\s*([0-9a-f]+)`, 'm').exec(text);
    if (m && (BigInt(`0x${m[1]}`) & 0x100n) !== 0n) return true;
  }
  return false;
}

/** A regular file's inode and link count: hard links share one node (pure/node-table.ts). */
function fileIdentity(st: fs.Stats): { ino: number; nlink: number } | undefined {
  return st.isFile() ? { ino: st.ino, nlink: st.nlink } : undefined;
}

function fail(errno: number): never {
  throw Object.assign(new Error(`errno ${errno}`), { errno: -errno });
}

function timeSet(valid: number, setBit: number, nowBit: number, sec: number, nsec: number): TimeSet | undefined {
  if (valid & nowBit) return 'now';
  if (valid & setBit) return { ms: sec * 1000 + nsec / 1e6 };
  return undefined;
}

/** An open directory: its node (renamed directories keep listing themselves) and the
 *  snapshot of its entries that READDIR offsets index. */
interface DirHandle { node: number; entries: DirEntry[] | undefined }

export class FuseSession extends EventEmitter<FuseSessionEvents> {
  private nodes = new NodeTable();
  private journal: NodeJournal | undefined;
  /** File handle (its direct bit cleared) -> our descriptor. */
  private readonly handles = new Map<number, number>();
  /** Handles of a predecessor being re-opened (two requests on one handle open it once). */
  private readonly reopening = new Map<number, Promise<number>>();
  private generation = 1;
  private handleCounter = 0;
  private readonly claims = new PathClaims();
  private readonly modes = new CacheModes();
  private readonly dirs = new Map<number, DirHandle>();
  /** Requests that may be answered EINTR when the kernel interrupts them (by unique). */
  private readonly interruptible = new Map<bigint, () => void>();
  /** Directory handles carry the generation too (see pure/node-log.ts); this is life 1. */
  private nextDir = 2 ** 32 + 1;
  /** File handles of a dead predecessor opened again since an attach (for tests and status). */
  reopenedHandles = 0;
  private readonly freeBuffers: Buffer[] = [];
  private buffersOut = 0;
  private readsOut = 0;
  private wantReads: number;
  private closed = false;
  /** The kernel ended the connection (ENODEV): no more requests will come. */
  private gone = false;
  private initDone: ((err?: Error) => void) | undefined;
  private maxWrite: number;
  /** Write-only descriptors may bypass the mount's cache (see pure/cache-modes.ts). */
  private directWrites = false;
  private writeback = false;
  /** Reads /dev/fuse on the event loop (see loop-reader.ts); undefined: pool reads. */
  private loop: LoopReader | undefined;
  private loopTried = false;
  /** Kernel connection number (/sys/fs/fuse/connections/N), known once mounted. */
  connection: number | undefined;
  /** Opt-in per-opcode timing (request-timing.ts); undefined when off. */
  private readonly timing = FuseRequestTiming.fromEnv();

  private constructor(private fd: number, readonly opts: FuseSessionOptions) {
    super();
    this.maxWrite = opts.max_write_bytes ?? FUSE_DEFAULTS.max_write_bytes;
    this.wantReads = FUSE_DEFAULTS.readers_per_mount;
  }

  /** The /dev/fuse descriptor (handed to the fd keeper so the mount outlives us). */
  get deviceFd(): number { return this.fd; }

  /** Largest WRITE request the kernel sends (after INIT). */
  get maxWriteBytes(): number { return this.maxWrite; }

  /** What a successor needs to attach to this connection. */
  get params(): SessionParams { return { max_write_bytes: this.maxWrite, direct_writes: this.directWrites, writeback: this.writeback, generation: this.generation }; }

  /** The node table as it is now (a successor starts from it, then from the journal). */
  nodeSnapshot(): ReturnType<NodeTable['snapshot']> { return this.nodes.snapshot(); }

  /** From now on every node-table change is appended to `j` before the reply it affects. */
  setJournal(j: NodeJournal | undefined): void { this.journal = j; }

  /**
   * Goes on serving a connection a dead predecessor mounted and initialised: `fd` is its
   * /dev/fuse descriptor (kept alive outside the daemon, see core/mirror/fuse/fd-keeper.ts),
   * `nodes` its node table. Requests it had read but not answered are asked for again.
   */
  static attach(opts: FuseSessionOptions, fd: number, params: SessionParams, nodes: NodeTable): FuseSession {
    claimPoolThreads(FUSE_DEFAULTS.readers_per_mount, opts.mountpoint);
    const s = new FuseSession(fd, opts);
    s.nodes = nodes;
    s.maxWrite = params.max_write_bytes;
    s.directWrites = params.direct_writes;
    s.writeback = params.writeback;
    s.generation = nextGeneration(params.generation);
    s.nextDir = s.generation * 2 ** 32 + 1;
    s.armReads();
    s.resend();
    return s;
  }

  /** FUSE_NOTIFY_RESEND; a kernel without it leaves those requests waiting (reported). */
  private resend(): void {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(16, 0);
    h.writeInt32LE(FUSE_NOTIFY_RESEND, 4);
    try {
      fs.writeSync(this.fd, h);
    } catch (e) {
      this.emit('problem', new Error(`FUSE_NOTIFY_RESEND refused (${(e as Error).message}): requests in flight when the previous hakitd died stay unanswered`));
    }
  }

  // ---- node table and handles -----------------------------------------------------------

  private remember(path: string, file?: FileIdentity): number {
    const id = this.nodes.remember(path, file);
    this.journal?.append(rememberRecord(path, file));
    return id;
  }

  private forget(id: number, n: number): void {
    this.nodes.forget(id, n);
    if (!this.nodes.has(id)) this.modes.forgetNode(id);
    this.journal?.append(['f', id, n]);
  }

  private detach(path: string): void {
    this.nodes.detach(path);
    this.journal?.append(['d', path]);
  }

  private renamed(from: string, to: string): void {
    this.nodes.rename(from, to);
    this.journal?.append(['m', from, to]);
  }

  /** A new handle for descriptor `fd` of `node`, and its open_out flags (direct I/O and
   *  keeping the cache decided by pure/cache-modes.ts). */
  private newHandle(node: number, fd: number, write_only: boolean): { fh: number; open_flags: number } {
    const base = makeHandle(this.generation, ++this.handleCounter, false);
    const mode = this.modes.open(node, base, write_only && this.directWrites);
    this.handles.set(base, fd);
    return { fh: base + (mode.direct ? 1 : 0), open_flags: (mode.direct ? FOPEN_DIRECT_IO : 0) | (mode.keep_cache ? FOPEN_KEEP_CACHE : 0) };
  }

  /**
   * Our descriptor for handle `fh` of `node`. A handle of a dead predecessor (another
   * generation) is opened again by the node's path, read-write whatever the first request
   * on it is (an fsync or a read must not leave a descriptor a later write cannot use; we
   * are root), else with the descriptor's own access mode (`flags`, sent with reads and
   * writes); a file that has no name any more cannot be (ESTALE).
   */
  private async fdOf(fh: number, node: number, flags = fs.constants.O_RDONLY): Promise<number> {
    const base = fh - (fh % 2);
    const fd = this.handles.get(base);
    if (fd !== undefined) return fd;
    if (handleGeneration(fh) === this.generation) fail(ERRNO.EBADF);
    let opening = this.reopening.get(base);
    if (!opening) {
      opening = (async () => {
        const path = this.nodes.pathOf(node);
        if (path === undefined) fail(ERRNO.ESTALE);
        const ACCMODE = fs.constants.O_RDONLY | fs.constants.O_WRONLY | fs.constants.O_RDWR;
        const n = await this.opts.ops.open(path, (flags & ~ACCMODE) | fs.constants.O_RDWR).catch(() => this.opts.ops.open(path, flags));
        this.handles.set(base, n);
        this.modes.adopt(node, base, handleDirect(fh));
        this.reopenedHandles++;
        return n;
      })();
      this.reopening.set(base, opening);
      void opening.then(() => this.reopening.delete(base), () => this.reopening.delete(base));
    }
    return opening;
  }

  /** Opens /dev/fuse, mounts it on `mountpoint` and answers INIT. */
  static async mount(opts: FuseSessionOptions): Promise<FuseSession> {
    claimPoolThreads(FUSE_DEFAULTS.readers_per_mount, opts.mountpoint);
    let fd: number;
    try {
      fd = await new Promise<number>((resolve, reject) => fs.open('/dev/fuse', 'r+', (e, n) => (e ? reject(e) : resolve(n))));
    } catch (e) {
      releasePoolThreads(FUSE_DEFAULTS.readers_per_mount);
      throw new HakitError('HAKIT_E_MIRROR_MOUNT', `cannot open /dev/fuse: ${(e as Error).message}`, opts.mountpoint);
    }
    const s = new FuseSession(fd, opts);
    try {
      await s.kernelMount();
      const init = new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new HakitError('HAKIT_E_MIRROR_MOUNT', `no FUSE INIT within ${FUSE_DEFAULTS.init_timeout_ms} ms`, opts.mountpoint)), FUSE_DEFAULTS.init_timeout_ms);
        s.initDone = (err) => { clearTimeout(t); if (err) reject(err); else resolve(); };
      });
      s.armReads();
      await init;
      return s;
    } catch (e) {
      s.close();
      throw e;
    }
  }

  /** mount(8) without its helper: the kernel takes our open /dev/fuse as fd 3 of mount. */
  private kernelMount(): Promise<void> {
    const { mountpoint, fsname } = this.opts;
    const options = 'fd=3,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions';
    return new Promise((resolve, reject) => {
      const child = spawn('mount', ['-i', '-t', 'fuse', '-o', options, fsname, mountpoint], { stdio: ['ignore', 'ignore', 'pipe', this.fd] });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
      const t = setTimeout(() => child.kill('SIGKILL'), FUSE_DEFAULTS.mount_timeout_ms);
      child.on('error', (e) => { clearTimeout(t); reject(new HakitError('HAKIT_E_MIRROR_MOUNT', `mount: ${e.message}`, mountpoint)); });
      child.on('exit', (code, signal) => {
        clearTimeout(t);
        if (code === 0) resolve();
        else reject(new HakitError('HAKIT_E_MIRROR_MOUNT', `mount -t fuse exited ${code ?? signal}: ${stderr.trim()}`, mountpoint));
      });
    });
  }

  /** Stops reading and closes /dev/fuse once no read is outstanding. The mount must already
   *  be gone (unmounted or aborted): a read only returns when a request or ENODEV comes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wantReads = 0;
    releasePoolThreads(FUSE_DEFAULTS.readers_per_mount);
    this.maybeCloseFd();
  }

  /** Resolves when every outstanding read has returned (after unmount or abort), bounded. */
  async drained(timeout_ms: number): Promise<boolean> {
    // Monotonic: a wall-clock step must not shorten or stretch the wait.
    const end = performance.now() + timeout_ms;
    while (this.reading() && performance.now() < end) await new Promise((r) => setTimeout(r, 10));
    return !this.reading();
  }

  /** A read may still return a request (pool: one is outstanding; loop: no ENODEV yet). */
  private reading(): boolean {
    return this.loop ? !this.gone && this.fd >= 0 : this.readsOut > 0;
  }

  private maybeCloseFd(): void {
    if ((this.closed || this.gone) && this.readsOut === 0 && this.fd >= 0) {
      const loop = this.loop;
      this.loop = undefined;
      if (loop) loop.close(() => undefined); // the handle owns the descriptor
      else fs.close(this.fd, () => undefined);
      this.fd = -1;
      this.timing?.stop();
      this.emit('closed');
    }
  }

  // ---- reading ------------------------------------------------------------------------

  private takeBuffer(): Buffer | undefined {
    const b = this.freeBuffers.pop();
    if (b) { this.buffersOut++; return b; }
    if (this.buffersOut >= FUSE_DEFAULTS.max_buffers) return undefined;
    this.buffersOut++;
    return Buffer.allocUnsafeSlow(Math.max(MIN_READ_BUFFER_BYTES, this.maxWrite + WRITE_OVERHEAD_BYTES + 4096));
  }

  private giveBack(b: Buffer): void {
    this.buffersOut--;
    // Kept for reuse (up to a quarter of the pool): writes now hold buffers until SECOND
    // acknowledged them, and a fresh 1 MiB buffer costs first-touch page faults.
    if (b.length >= this.maxWrite + WRITE_OVERHEAD_BYTES && this.freeBuffers.length < Math.max(this.wantReads + 2, FUSE_DEFAULTS.max_buffers / 4)) this.freeBuffers.push(b);
    this.armReads();
  }

  private armReads(): void {
    if (!this.loopTried && !this.closed) {
      this.loopTried = true;
      // HAKIT_FUSE_POOL_READS=1: the pool reads (kept for comparison and as the fallback).
      if (process.env.HAKIT_FUSE_POOL_READS !== '1') {
        this.loop = LoopReader.create(this.fd, Math.max(MIN_READ_BUFFER_BYTES, this.maxWrite + WRITE_OVERHEAD_BYTES + 4096),
          (b, n) => this.onLoopRequest(b, n), (err) => this.onLoopEnd(err));
      }
    }
    if (this.loop) {
      // Writes waiting for SECOND hold copies: at the bound, requests wait in the kernel.
      if (this.closed || this.gone) return;
      if (this.buffersOut < FUSE_DEFAULTS.max_buffers) this.loop.resume();
      else this.loop.pause();
      return;
    }
    while (!this.closed && this.readsOut < this.wantReads) {
      const buf = this.takeBuffer();
      if (!buf) return; // every buffer is held by a write waiting for SECOND: giveBack re-arms
      this.readsOut++;
      fs.read(this.fd, buf, 0, buf.length, null, (err, n) => this.onRead(buf, err, n));
    }
  }

  private onRead(buf: Buffer, err: NodeJS.ErrnoException | null, n: number): void {
    this.readsOut--;
    if (err) {
      this.buffersOut--;
      this.freeBuffers.push(buf);
      // ENOENT: the request was interrupted before we read it; EINTR/EAGAIN: try again.
      if (err.code === 'ENOENT' || err.code === 'EINTR' || err.code === 'EAGAIN') { this.armReads(); return; }
      // ENODEV: unmounted; ECONNABORTED: aborted through fusectl.
      if (err.code !== 'ENODEV' && err.code !== 'ECONNABORTED') this.emit('problem', err);
      this.gone = true;
      this.wantReads = 0;
      this.maybeCloseFd();
      return;
    }
    const keep = this.serve(buf, n);
    // Re-armed after the request is on its way: another read is still outstanding, and
    // waking a pool thread first would delay this request's replication.
    if (!keep) this.giveBack(buf);
    else this.armReads();
  }

  /** Decodes and starts serving one request; true when `buf` is kept until the reply. */
  private serve(buf: Buffer, n: number): boolean {
    if (n < IN_HEADER_BYTES) {
      this.emit('problem', new Error(`short FUSE request of ${n} bytes`));
      return false;
    }
    try {
      return this.dispatch(buf, n);
    } catch (e) {
      // A request we cannot decode still gets an answer, or its caller would hang.
      if (e instanceof IllegalNameError) {
        this.reply(decodeHeader(buf).unique, -ERRNO.EILSEQ);
      } else {
        this.reply(decodeHeader(buf).unique, -ERRNO.EINVAL);
        this.emit('problem', e as Error);
      }
      return false;
    }
  }

  /** A request read on the event loop into the reader's one buffer: only a WRITE keeps its
   *  bytes past the reply, so only a WRITE is copied (into a buffer of the pool). */
  private onLoopRequest(shared: Buffer, n: number): void {
    let buf = shared;
    if (n >= IN_HEADER_BYTES && shared.readUInt32LE(4) === Op.WRITE) {
      buf = this.takeBuffer() ?? this.extraBuffer(n);
      shared.copy(buf, 0, 0, n);
    }
    const keep = this.serve(buf, n);
    if (buf !== shared && !keep) this.giveBack(buf);
    else if (buf !== shared) this.armReads(); // pauses at the bound
  }

  /** A buffer past the pool's bound (counted: reading pauses until they come back). */
  private extraBuffer(n: number): Buffer {
    this.buffersOut++;
    return Buffer.allocUnsafeSlow(n);
  }

  private onLoopEnd(err: NodeJS.ErrnoException | undefined): void {
    if (err) this.emit('problem', err);
    this.gone = true;
    this.wantReads = 0;
    this.maybeCloseFd();
  }

  // ---- replying -----------------------------------------------------------------------

  private reply(unique: bigint, error: number, body?: Buffer): void {
    if (this.fd < 0) return;
    const h = Buffer.allocUnsafe(16);
    h.writeUInt32LE(16 + (body?.length ?? 0), 0);
    h.writeInt32LE(error, 4);
    h.writeBigUInt64LE(unique, 8);
    try {
      // Writing a reply never blocks: the kernel copies it to the waiting request.
      if (body && body.length > 0) fs.writevSync(this.fd, [h, body]);
      else fs.writeSync(this.fd, h);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOENT: the request was interrupted or aborted meanwhile; ENODEV: unmounted.
      if (code === 'ENOENT' || code === 'ENODEV' || code === 'ECONNABORTED') return;
      this.emit('problem', e as Error);
      // A reply the kernel refused leaves its caller waiting: answer EIO at least.
      if (error === 0) this.reply(unique, -EIO);
    }
  }

  /** Runs `work` and replies with its body, or with the errno it failed with.
   *  `interruptible`: an INTERRUPT of this request answers EINTR at once (see INTERRUPT). */
  private answer(h: RequestHeader, work: () => Promise<Buffer | undefined>, after?: () => void, interruptible = false): void {
    let answered = false;
    let watch: NodeJS.Timeout | undefined;
    const timing = this.timing;
    const t0_ms = timing ? performance.now() : 0;
    if (interruptible) {
      // Only a caller that is being killed gets EINTR: the kernel sends INTERRUPT for any
      // signal, and an fsync failing with EINTR makes a database PANIC (PostgreSQL's
      // latch signals arrive all the time). A fatal signal shows as SIGKILL pending on the
      // thread; a caller that is only signalled is watched until it is killed or answered.
      this.interruptible.set(h.unique, () => {
        const check = (): void => {
          if (answered) return;
          if (!callerDying(h.pid)) { watch = setTimeout(check, FUSE_DEFAULTS.interrupt_poll_ms); return; }
          answered = true;
          this.reply(h.unique, -ERRNO.EINTR);
        };
        if (watch === undefined) check();
      });
    }
    const done = (error: number, body?: Buffer): void => {
      if (watch !== undefined) clearTimeout(watch);
      if (interruptible) this.interruptible.delete(h.unique);
      if (!answered) { answered = true; this.reply(h.unique, error, body); }
      if (timing) timing.record(h.opcode, performance.now() - t0_ms);
      after?.();
    };
    work().then((body) => done(0, body), (e: unknown) => done(errnoOf(e)));
  }

  // ---- paths --------------------------------------------------------------------------

  private mustPath(node: number): string {
    const p = this.nodes.pathOf(node);
    if (p === undefined) fail(ERRNO.ENOENT);
    return p;
  }

  private child(parent: number, name: string): string {
    if (name.length === 0 || name.includes('/') || name === '.' || name === '..') fail(ERRNO.EINVAL);
    return childPath(this.mustPath(parent), name);
  }

  /** Runs `f` holding shared claims on the paths `resolve` gives (see path-claims.ts). */
  private shared<P extends ReadonlyArray<string | undefined>, T>(resolve: () => P, f: (paths: P) => Promise<T>): Promise<T> {
    return this.claims.run('shared', async () => resolve(), f);
  }

  private exclusive<P extends readonly string[], T>(resolve: () => P, f: (paths: P) => Promise<T>): Promise<T> {
    return this.claims.run('exclusive', async () => resolve(), f);
  }

  /** Descriptor to act through for a node that has no path any more (unlinked while open). */
  private handleOf(node: number): number {
    const fh = this.modes.anyHandle(node);
    const fd = fh === undefined ? undefined : this.handles.get(fh);
    if (fd === undefined) fail(ERRNO.ENOENT);
    return fd;
  }

  private async entry(path: string): Promise<Buffer> {
    const st = await this.opts.ops.getattr(path);
    return entryOut(this.remember(path, fileIdentity(st)), attrOf(st), FUSE_DEFAULTS.valid_ms);
  }

  // ---- dispatch -----------------------------------------------------------------------

  /** Decodes one request and starts serving it. True when `buf` is kept until the reply. */
  private dispatch(buf: Buffer, n: number): boolean {
    const h = decodeHeader(buf);
    const end = Math.min(n, h.len);
    const B = IN_HEADER_BYTES;
    const ops = this.opts.ops;
    const caller: Caller = { uid: h.uid, gid: h.gid, pid: h.pid };
    const name = (off: number): string => cstring(buf, off, end).value;
    const valid = FUSE_DEFAULTS.valid_ms;
    switch (h.opcode) {
      case Op.INIT:
        this.onInit(h, buf);
        return false;
      case Op.LOOKUP: {
        const nm = name(B);
        this.answer(h, () => this.shared(() => [this.child(h.nodeid, nm)] as const, ([p]) => this.entry(p)));
        return false;
      }
      case Op.FORGET:
        this.forget(h.nodeid, u64(buf, B));
        return false;
      case Op.BATCH_FORGET: {
        const count = buf.readUInt32LE(B);
        for (let i = 0; i < count && B + 8 + (i + 1) * 16 <= end; i++) this.forget(u64(buf, B + 8 + i * 16), u64(buf, B + 16 + i * 16));
        return false;
      }
      case Op.GETATTR: {
        const byFh = (buf.readUInt32LE(B) & GETATTR_FH) !== 0;
        const fh = u64(buf, B + 8);
        this.answer(h, async () => {
          if (byFh) return attrOut(attrOf(await ops.fgetattr(await this.fdOf(fh, h.nodeid))), valid);
          return this.shared(() => [this.nodes.pathOf(h.nodeid)] as const, async ([p]) =>
            attrOut(attrOf(p !== undefined ? await ops.getattr(p) : await ops.fgetattr(this.handleOf(h.nodeid))), valid));
        });
        return false;
      }
      case Op.SETATTR: {
        const v = buf.readUInt32LE(B);
        const handle = v & Fattr.FH ? u64(buf, B + 8) : undefined;
        const change: AttrChange = {
          ...(v & Fattr.MODE ? { mode: buf.readUInt32LE(B + 68) & 0o7777 } : {}),
          ...(v & Fattr.UID ? { uid: buf.readUInt32LE(B + 76) } : {}),
          ...(v & Fattr.GID ? { gid: buf.readUInt32LE(B + 80) } : {}),
          ...(v & Fattr.SIZE ? { size: u64(buf, B + 16) } : {}),
        };
        const atime = timeSet(v, Fattr.ATIME, Fattr.ATIME_NOW, u64(buf, B + 32), buf.readUInt32LE(B + 56));
        const mtime = timeSet(v, Fattr.MTIME, Fattr.MTIME_NOW, u64(buf, B + 40), buf.readUInt32LE(B + 60));
        const all: AttrChange = { ...change, ...(atime ? { atime } : {}), ...(mtime ? { mtime } : {}) };
        this.answer(h, () => this.shared(() => [this.nodes.pathOf(h.nodeid)] as const, async ([path]) => {
          const fh = handle === undefined ? undefined : await this.fdOf(handle, h.nodeid, fs.constants.O_WRONLY);
          // fchmod/fchown/futimens of an unlinked file come without a handle: use one of its own.
          const fd = fh ?? (path === undefined ? this.handleOf(h.nodeid) : undefined);
          await ops.setattr(path, fd, all);
          return attrOut(attrOf(fd !== undefined ? await ops.fgetattr(fd) : await ops.getattr(path!)), valid);
        }));
        return false;
      }
      case Op.READLINK:
        this.answer(h, () => this.shared(() => [this.mustPath(h.nodeid)] as const, async ([p]) => Buffer.from(await ops.readlink(p), 'utf8')));
        return false;
      case Op.SYMLINK: {
        const nm = cstring(buf, B, end);
        const target = name(nm.next);
        this.answer(h, () => this.shared(() => [this.child(h.nodeid, nm.value)] as const, async ([path]) => {
          await ops.symlink(target, path, caller);
          return this.entry(path);
        }));
        return false;
      }
      case Op.MKNOD: {
        const mode = buf.readUInt32LE(B);
        const rdev = buf.readUInt32LE(B + 4);
        const nm = name(B + 16);
        this.answer(h, () => this.shared(() => [this.child(h.nodeid, nm)] as const, async ([path]) => {
          await ops.mknod(path, mode, rdev, caller);
          return this.entry(path);
        }));
        return false;
      }
      case Op.MKDIR: {
        const mode = buf.readUInt32LE(B) & 0o7777;
        const nm = name(B + 8);
        this.answer(h, () => this.shared(() => [this.child(h.nodeid, nm)] as const, async ([path]) => {
          await ops.mkdir(path, mode, caller);
          return this.entry(path);
        }));
        return false;
      }
      case Op.UNLINK:
      case Op.RMDIR: {
        const nm = name(B);
        const unlink = h.opcode === Op.UNLINK;
        this.answer(h, () => this.exclusive(() => [this.child(h.nodeid, nm)] as const, async ([path]) => {
          await (unlink ? ops.unlink(path, this.nodes.otherNameOf(path)) : ops.rmdir(path));
          this.detach(path);
          return undefined;
        }));
        return false;
      }
      case Op.RENAME:
      case Op.RENAME2: {
        const two = h.opcode === Op.RENAME2;
        const newdir = u64(buf, B);
        const flags = two ? buf.readUInt32LE(B + 8) : 0;
        const from = cstring(buf, B + (two ? 16 : 8), end);
        const to = name(from.next);
        this.answer(h, async () => {
          if (flags & ~RENAME_NOREPLACE) fail(ERRNO.EINVAL); // EXCHANGE and WHITEOUT are not replicated
          return this.exclusive(() => [this.child(h.nodeid, from.value), this.child(newdir, to)] as const, async ([a, b]) => {
            await ops.rename(a, b, flags, this.nodes.otherNameOf(b));
            this.renamed(a, b);
            return undefined;
          });
        });
        return false;
      }
      case Op.LINK: {
        const old = u64(buf, B);
        const nm = name(B + 8);
        this.answer(h, () => this.shared(() => [this.mustPath(old), this.child(h.nodeid, nm)] as const, async ([from, to]) => {
          await ops.link(from, to);
          return this.entry(to);
        }));
        return false;
      }
      case Op.OPEN: {
        const flags = buf.readUInt32LE(B);
        // Writeback cache: the kernel reads through whatever descriptor writes (to fill a
        // page partly written), so ours of a write-only open is read-write.
        const ours = this.writeback && isWriteOnly(flags) ? (flags & ~fs.constants.O_WRONLY) | fs.constants.O_RDWR : flags;
        this.answer(h, () => this.shared(() => [this.mustPath(h.nodeid)] as const, async ([path]) => {
          const fd = await ops.open(path, ours);
          const { fh, open_flags } = this.newHandle(h.nodeid, fd, isWriteOnly(flags));
          return openOut(fh, open_flags);
        }));
        return false;
      }
      case Op.CREATE: {
        const flags = buf.readUInt32LE(B);
        const mode = buf.readUInt32LE(B + 4);
        const nm = name(B + 16);
        this.answer(h, () => this.shared(() => [this.child(h.nodeid, nm)] as const, async ([path]) => {
          const fd = await ops.create(path, flags, mode & 0o7777, caller);
          let st: fs.Stats;
          try {
            st = await ops.fgetattr(fd);
          } catch (e) {
            await ops.release(fd).catch(() => undefined);
            throw e;
          }
          const node = this.remember(path, fileIdentity(st));
          const { fh, open_flags } = this.newHandle(node, fd, isWriteOnly(flags));
          return Buffer.concat([entryOut(node, attrOf(st), valid), openOut(fh, open_flags)]);
        }));
        return false;
      }
      case Op.READ: {
        const fh = u64(buf, B);
        const pos = u64(buf, B + 8);
        const size = buf.readUInt32LE(B + 16);
        const openFlags = buf.readUInt32LE(B + 32);
        const out = Buffer.allocUnsafe(size);
        this.answer(h, async () => out.subarray(0, await ops.read(await this.fdOf(fh, h.nodeid, openFlags), out, pos)));
        return false;
      }
      case Op.WRITE: {
        const fh = u64(buf, B);
        const pos = u64(buf, B + 8);
        const size = buf.readUInt32LE(B + 16);
        // fuse_write_in.flags: the descriptor's flags, with O_DSYNC/O_SYNC also set for a
        // pwritev2(RWF_DSYNC/RWF_SYNC) (the kernel's fuse_write_flags).
        const flags = buf.readUInt32LE(B + 32);
        const data = buf.subarray(WRITE_OVERHEAD_BYTES, Math.min(end, WRITE_OVERHEAD_BYTES + size));
        // The reply goes when the local write is done and the op queued; the buffer comes
        // back only when SECOND no longer needs its bytes (held promises never reject).
        const holds: Array<Promise<void>> = [];
        const hold = (until: Promise<void>): void => { holds.push(until.catch(() => undefined)); };
        this.answer(h, () => this.shared(() => [this.nodes.pathOf(h.nodeid)] as const, async ([path]) => writeOut(await ops.write(path, await this.fdOf(fh, h.nodeid, flags), data, pos, flags, hold))),
          () => { if (holds.length === 0) this.giveBack(buf); else void Promise.all(holds).then(() => this.giveBack(buf)); });
        return true;
      }
      case Op.STATFS:
        this.answer(h, () => this.shared(() => [this.nodes.pathOf(h.nodeid) ?? '/'] as const, async ([p]) => {
          const s = await ops.statfs(p);
          return statfsOut({ blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, bsize: s.bsize });
        }));
        return false;
      case Op.RELEASE: {
        const fh = u64(buf, B);
        const base = fh - (fh % 2);
        this.modes.release(base);
        const fd = this.handles.get(base);
        this.handles.delete(base);
        // A predecessor's handle never re-opened has nothing of ours to close.
        this.answer(h, async () => { if (fd !== undefined) await ops.release(fd); return undefined; });
        return false;
      }
      case Op.FSYNC: {
        const fh = u64(buf, B);
        const datasync = (buf.readUInt32LE(B + 8) & FSYNC_FDATASYNC) !== 0;
        this.answer(h, () => this.shared(() => [this.nodes.pathOf(h.nodeid)] as const, async ([path]) => { await ops.fsync(path, await this.fdOf(fh, h.nodeid), datasync); return undefined; }), undefined, true);
        return false;
      }
      case Op.FSYNCDIR: {
        const d = this.dirOf(u64(buf, B), h.nodeid);
        this.answer(h, async () => {
          if (!d) fail(ERRNO.EBADF);
          return this.shared(() => [this.mustPath(d.node)] as const, async ([p]) => { await ops.fsyncdir(p); return undefined; });
        }, undefined, true);
        return false;
      }
      case Op.SYNCFS: {
        const f = ops.syncfs?.bind(ops);
        this.answer(h, async () => { if (f) await f(); return undefined; }, undefined, true);
        return false;
      }
      case Op.FLUSH:
        // close() is no sync point (docs/mirror.md) and we keep no POSIX locks: FLUSH has
        // nothing to do. ENOSYS makes the kernel stop sending it for the rest of the
        // connection (fc->no_flush), so a close costs no round trip any more. With the
        // writeback cache the kernel still writes a closing file's dirty pages to us first:
        // its flush does that before it looks at no_flush.
        this.reply(h.unique, -ERRNO.ENOSYS);
        return false;
      case Op.DESTROY:
        this.reply(h.unique, 0);
        return false;
      case Op.OPENDIR:
        this.answer(h, async () => {
          this.mustPath(h.nodeid);
          const id = this.nextDir++;
          this.dirs.set(id, { node: h.nodeid, entries: undefined });
          return openOut(id);
        });
        return false;
      case Op.READDIR: {
        const fh = u64(buf, B);
        const offset = u64(buf, B + 8);
        const size = buf.readUInt32LE(B + 16);
        this.answer(h, async () => {
          const d = this.dirOf(fh, h.nodeid);
          if (!d) fail(ERRNO.EBADF);
          if (offset === 0 || !d.entries) {
            const list = await this.shared(() => [this.mustPath(d.node)] as const, ([p]) => ops.readdir(p));
            d.entries = [{ name: '.', type: DirType.DIR }, { name: '..', type: DirType.DIR }, ...list];
          }
          return packDirents(d.entries, offset, size);
        });
        return false;
      }
      case Op.RELEASEDIR:
        this.dirs.delete(u64(buf, B));
        this.reply(h.unique, 0);
        return false;
      case Op.ACCESS: {
        const mask = buf.readUInt32LE(B);
        this.answer(h, () => this.shared(() => [this.mustPath(h.nodeid)] as const, async ([p]) => { await ops.access(p, mask); return undefined; }));
        return false;
      }
      case Op.INTERRUPT: {
        // A caller killed (or signalled) while its fsync waits for SECOND: answer EINTR now
        // instead of holding it in D state until SECOND acknowledges or the link times out.
        // The sync itself goes on (what it covers reaches SECOND anyway); nothing else is
        // interruptible: every other request is done locally without waiting for SECOND,
        // and an INTERRUPT for one is simply dropped (its reply follows soon).
        this.interruptible.get(buf.readBigUInt64LE(B))?.();
        return false;
      }
      default:
        // xattrs, locks, fallocate, lseek, copy_file_range...: the kernel remembers ENOSYS
        // and answers EOPNOTSUPP (or falls back to a generic path) from then on.
        this.reply(h.unique, -ERRNO.ENOSYS);
        return false;
    }
  }

  /** An open directory; one a dead predecessor opened is taken up from the request's node. */
  private dirOf(id: number, node: number): DirHandle | undefined {
    const d = this.dirs.get(id);
    if (d !== undefined || handleGeneration(id) === this.generation) return d;
    const taken: DirHandle = { node, entries: undefined };
    this.dirs.set(id, taken);
    return taken;
  }

  private onInit(h: RequestHeader, buf: Buffer): void {
    const B = IN_HEADER_BYTES;
    const major = buf.readUInt32LE(B);
    const minor = buf.readUInt32LE(B + 4);
    const readahead = buf.readUInt32LE(B + 8);
    const flags = buf.readUInt32LE(B + 12);
    const flags2 = flags & InitFlag.INIT_EXT ? buf.readUInt32LE(B + 16) : 0;
    const r = negotiateInit(major, minor, flags, this.maxWrite, 4096, flags2, this.opts.writeback_cache === true);
    if (!r) {
      this.reply(h.unique, -ERRNO.EPROTO);
      this.initDone?.(new HakitError('HAKIT_E_MIRROR_MOUNT', `kernel FUSE protocol ${major}.${minor} is older than 7.26`, this.opts.mountpoint));
      return;
    }
    this.maxWrite = r.max_write;
    this.directWrites = r.direct_writes;
    this.writeback = r.writeback;
    this.reply(h.unique, 0, initOut(r, readahead));
    this.initDone?.();
    this.initDone = undefined;
  }

  /** For tests and status: how many node ids the kernel holds. */
  get nodeCount(): number { return this.nodes.size; }

  static readonly ROOT = ROOT_NODE;
}
