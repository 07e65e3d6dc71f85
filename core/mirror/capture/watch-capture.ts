// Capture mode "watch" (asynchronous; for hosts without FUSE). Watcher events are hints,
// never the truth: a hinted path is re-read, its fixed-size block hashes (xxhash64) are
// compared with the ones last shipped, and only the changed blocks are shipped. Removals
// and renames become namespace ops (a rename shows up as unlink + add and is recognised
// by identical content). A watcher error or too many queued hints becomes ONE full rescan.
// The application never waits for SECOND: the recovery point is the watch lag (non-zero).
import fs from 'node:fs/promises';
import path from 'node:path';
import type * as Chokidar from 'chokidar' with { 'resolution-mode': 'import' };
import { HakitError } from '../../errors/catalogue';
import { type MirrorOp } from '../pure/ops';
import { planEntry, matchRenames, pathsUnder, type WatchEntry } from '../pure/watch-plan';
import { loadHasher } from '../hash';
import { realPathOf } from '../tree-walk';
import type { Replicator } from './fuse-passthrough';

// chokidar 5 is ESM-only; Node 20.19+ loads it with require() (our output is CommonJS).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const chokidar = require('chokidar') as typeof Chokidar;

/** Block size of watch-mode signatures: a 4 KiB change ships at most this much. */
export const WATCH_BLOCK_BYTES = 16 * 1024;
/** Bytes read (and at most shipped without waiting) per step of one file. */
export const WATCH_READ_CHUNK_BYTES = 1024 * 1024;
/** A removed path waits this long for an addition with the same content (a rename shows
 *  up as unlink + add, in either order, in separate events) before its removal ships. */
export const WATCH_RENAME_WINDOW_MS = 50;
/** Queued hints beyond which they are dropped for one full rescan (bounded memory). */
export const MAX_WATCH_HINTS = 100_000;

export interface WatchCaptureOptions {
  /** The directory to watch (the application's path or a bind mount of it). */
  readonly dir: string;
  readonly replicator: Replicator;
  readonly block_bytes?: number;
  /** Overrides MAX_WATCH_HINTS (tests force the overflow path with a small value). */
  readonly max_hints?: number;
  readonly onError?: (e: HakitError) => void;
}

export class WatchCapture {
  private watcher: Chokidar.FSWatcher | undefined;
  private readonly known = new Map<string, WatchEntry>();
  private hints = new Set<string>();
  /** Removed paths not yet shipped as removals (see WATCH_RENAME_WINDOW_MS). */
  private readonly limbo = new Map<string, { entry: WatchEntry; at_ms: number }>();
  private limboTimer: NodeJS.Timeout | undefined;
  private rescan = false;
  private running: Promise<void> | undefined;
  private stopped = false;
  private h64: ((b: Uint8Array) => bigint) | undefined;
  /** Paths shipped (for tests and the lag figure). */
  shippedPaths = 0;
  rescans = 0;

  constructor(readonly opts: WatchCaptureOptions) {}

  private get block(): number { return this.opts.block_bytes ?? WATCH_BLOCK_BYTES; }

  async start(): Promise<void> {
    this.h64 = (await loadHasher()).h64;
    const w = chokidar.watch(this.opts.dir, { ignoreInitial: true, followSymlinks: false, atomic: false, alwaysStat: false, persistent: true });
    this.watcher = w;
    const hint = (abs: string): void => this.hint(abs);
    w.on('add', hint).on('change', hint).on('unlink', hint).on('addDir', hint).on('unlinkDir', hint);
    // chokidar drops events that change neither size nor mtime (chmod, chown): the raw
    // inotify events still name the path. For a file's own watcher `watchedPath` is the
    // file and the joined path names nothing, which costs one failed lstat.
    w.on('raw', (_ev, name, opts) => {
      const details = (opts ?? {}) as { watchedPath?: string };
      if (!details.watchedPath) return;
      this.hint(details.watchedPath);
      if (name) this.hint(path.join(details.watchedPath, name));
    });
    w.on('error', (e) => {
      this.opts.onError?.(new HakitError('HAKIT_E_MIRROR_WATCH', `watcher error: ${(e as Error).message}; rescanning`, this.opts.dir));
      this.requestRescan();
    });
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
    // What is there now is what SECOND has or will get from re-integration.
    await this.scan(false);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.limboTimer) clearTimeout(this.limboTimer);
    await this.watcher?.close();
    this.watcher = undefined;
    await this.running;
  }

  /** Every hinted path has been examined and its ops handed to the sender. */
  async settled(): Promise<void> {
    while (this.running || this.limbo.size > 0 || this.hints.size > 0) {
      if (this.running) await this.running;
      else await new Promise((r) => setTimeout(r, WATCH_RENAME_WINDOW_MS));
    }
  }

  requestRescan(): void {
    this.rescan = true;
    this.hints.clear();
    this.kick();
  }

  private hint(abs: string): void {
    const rel = path.relative(this.opts.dir, abs);
    if (rel.startsWith('..')) return;
    if (this.hints.size >= (this.opts.max_hints ?? MAX_WATCH_HINTS)) {
      this.requestRescan();
      return;
    }
    this.hints.add(rel === '' ? '/' : `/${rel.split(path.sep).join('/')}`);
    this.kick();
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = (async () => {
      try {
        while (!this.stopped && (this.hints.size > 0 || this.rescan || this.limbo.size > 0)) {
          // One turn of the event loop gathers the events of one burst (a rename's two halves).
          await new Promise((r) => setImmediate(r));
          if (this.rescan) {
            this.rescan = false;
            this.rescans++;
            await this.scan(true);
            continue;
          }
          const batch = [...this.hints].sort(byDepth);
          this.hints = new Set();
          await this.process(batch);
          if (this.hints.size === 0 && !this.rescan && this.limbo.size > 0) {
            this.limboTimer ??= setTimeout(() => { this.limboTimer = undefined; this.kick(); }, WATCH_RENAME_WINDOW_MS);
            break;
          }
        }
      } catch (e) {
        this.opts.onError?.(new HakitError('HAKIT_E_MIRROR_WATCH', `watch step failed: ${(e as Error).message}; rescanning`, this.opts.dir));
        if (!this.stopped) this.rescan = true;
      } finally {
        this.running = undefined;
      }
      if (!this.stopped && (this.hints.size > 0 || this.rescan)) this.kick();
    })();
  }

  /** Walks the whole tree: hints every path whose (type, size, mtime, mode) changed and
   *  every path that vanished. With `ship` false it only records (start). */
  private async scan(ship: boolean): Promise<void> {
    const seen = new Set<string>(['/']);
    const dirs = ['/'];
    const changed: string[] = [];
    while (dirs.length > 0) {
      const rel = dirs.pop()!;
      let names: string[];
      try { names = await fs.readdir(realPathOf(this.opts.dir, rel)); } catch { continue; }
      for (const n of names) {
        const p = rel === '/' ? `/${n}` : `${rel}/${n}`;
        const cur = await this.stat(p);
        if (!cur) continue;
        seen.add(p);
        if (cur.type === 'd') dirs.push(p);
        const prev = this.known.get(p);
        if (!ship) {
          this.known.set(p, cur.type === 'f' ? { ...cur, hashes: await this.hashesOf(p) } : cur);
        } else if (!prev || prev.type !== cur.type || prev.size !== cur.size || prev.mtime_ms !== cur.mtime_ms || prev.mode !== cur.mode || prev.target !== cur.target) {
          changed.push(p);
        }
      }
    }
    if (!ship) return;
    const gone = [...this.known.keys()].filter((p) => !seen.has(p));
    await this.process([...gone, ...changed].sort(byDepth));
  }

  private async stat(rel: string): Promise<WatchEntry | undefined> {
    try {
      const st = await fs.lstat(realPathOf(this.opts.dir, rel));
      const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : undefined;
      if (!type) return undefined;
      const base = { type, mode: st.mode & 0o7777, size: type === 'f' ? st.size : 0, mtime_ms: Math.floor(st.mtimeMs) } as const;
      return type === 'l' ? { ...base, target: await fs.readlink(realPathOf(this.opts.dir, rel)) } : base;
    } catch {
      return undefined;
    }
  }

  private async hashesOf(rel: string): Promise<bigint[]> {
    const out: bigint[] = [];
    await this.readBlocks(rel, (_i, _at, _data, h) => { out.push(h); });
    return out;
  }

  /** Reads `rel` block by block; `each` gets the block index, offset, bytes and hash. */
  private async readBlocks(rel: string, each: (i: number, at: number, data: Buffer, h: bigint) => void | Promise<void>): Promise<number> {
    const h64 = this.h64!;
    const bs = this.block;
    const chunk = Math.max(bs, Math.floor(WATCH_READ_CHUNK_BYTES / bs) * bs);
    let fh;
    try { fh = await fs.open(realPathOf(this.opts.dir, rel), 'r'); } catch { return -1; }
    let at = 0;
    try {
      for (;;) {
        const buf = Buffer.allocUnsafe(chunk); // fresh per chunk: shipped blocks keep a view
        let got = 0;
        while (got < chunk) {
          const { bytesRead } = await fh.read(buf, got, chunk - got, at + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        const steps: Array<void | Promise<void>> = [];
        for (let off = 0; off < got; off += bs) {
          const data = buf.subarray(off, Math.min(off + bs, got));
          steps.push(each((at + off) / bs, at + off, data, h64(data)));
        }
        await Promise.all(steps);
        at += got;
        if (got < chunk) break;
      }
    } finally {
      await fh.close();
    }
    return at;
  }

  private perform(op: MirrorOp): Promise<void> {
    // The change already happened on disk: the local part of the op is nothing.
    return this.opts.replicator.perform(op, async () => undefined);
  }

  /** Examines hinted paths (parents first) and ships what changed. */
  private async process(batch: readonly string[]): Promise<void> {
    const removed = new Map<string, WatchEntry>();
    const present: Array<[string, WatchEntry]> = [];
    for (const p of batch) {
      if (p === '/') continue;
      const cur = await this.stat(p);
      if (cur) { present.push([p, cur]); continue; }
      for (const q of pathsUnder(this.known.keys(), p)) {
        removed.set(q, this.known.get(q)!);
        this.known.delete(q);
      }
    }
    const now = Date.now();
    for (const [p, entry] of removed) this.limbo.set(p, { entry, at_ms: now });
    // A new file with the content of a removed one is a rename (content hashed first).
    const added = new Map<string, WatchEntry>();
    for (const [p, cur] of present) {
      if (cur.type === 'f' && !this.known.has(p) && this.limbo.size > 0) added.set(p, { ...cur, hashes: await this.hashesOf(p) });
    }
    const renamed = new Set<string>();
    const inLimbo = new Map([...this.limbo].map(([p, l]) => [p, l.entry]));
    for (const { from, to } of matchRenames(inLimbo, added)) {
      await this.flushLimbo((p) => p === to || to.startsWith(`${p}/`)); // its old name first
      if (!this.limbo.delete(from)) continue;
      await this.perform({ kind: 'rename', from, to });
      this.known.set(to, added.get(to)!);
      renamed.add(to);
    }
    await this.flushLimbo((_p, l) => now - l.at_ms >= WATCH_RENAME_WINDOW_MS);
    for (const [p, cur] of present) {
      if (renamed.has(p)) continue;
      // A name removed and made again (`rm a; mkdir a`): the removal ships first.
      await this.flushLimbo((q) => q === p || p.startsWith(`${q}/`) || q.startsWith(`${p}/`));
      await this.ship(p, cur);
    }
  }

  /** Ships the removal of limbo paths chosen by `pick` (outermost first; one covers its subtree). */
  private async flushLimbo(pick: (p: string, l: { entry: WatchEntry; at_ms: number }) => boolean): Promise<void> {
    const chosen = [...this.limbo].filter(([p, l]) => pick(p, l)).map(([p]) => p).sort(byDepth);
    for (const p of chosen) {
      if (!this.limbo.has(p)) continue;
      for (const q of pathsUnder(this.limbo.keys(), p)) this.limbo.delete(q);
      await this.perform({ kind: 'remove', path: p });
    }
  }

  private async ship(p: string, cur: WatchEntry): Promise<void> {
    const plan = planEntry(p, this.known.get(p), cur);
    for (const op of plan.before) await this.perform(op);
    if (!plan.compare_blocks) {
      this.known.set(p, cur);
      if (plan.before.length > 0) this.shippedPaths++;
      return;
    }
    const hashes: bigint[] = [];
    let wrote = plan.before.length > 0;
    const size = await this.readBlocks(p, (i, at, data, h) => {
      hashes.push(h);
      if (plan.prev_hashes[i] === h) return;
      wrote = true;
      return this.perform({ kind: 'write', path: p, offset: at, data });
    });
    if (size < 0) return; // vanished meanwhile: its unlink hint follows
    // The size we read is the truth now (the file may have grown while we read it).
    if (size !== cur.size) await this.perform({ kind: 'truncate', path: p, size });
    this.known.set(p, { ...cur, size, hashes });
    if (wrote) this.shippedPaths++;
  }
}

function byDepth(a: string, b: string): number {
  const d = a.split('/').length - b.split('/').length;
  return d !== 0 ? d : a < b ? -1 : a > b ? 1 : 0;
}
