// The activity record of a PRIM (docs/mirror.md, "Activity record"): the files whose content
// may differ between this node's copy and the SECOND's, kept crash-safe in
// work_dir/activity.log so that after a power cut of this node the new PRIM compares only
// them (core/mirror/pure/activity.ts decides; this file does the I/O).
// Records use the journal's framing ([u32 length][u32 crc32][JSON]): a torn tail is the
// record being appended when power went, whose write had not started (the write waits for
// its record to be on disk), so it is safely dropped.
// A path is made hot (appended and fdatasync'ed) BEFORE the local change; concurrent
// callers share one fdatasync (group commit). Cooling rewrites the file compactly.
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { decodeRecords, encodeRecord } from './journal';
import { MAX_HOT_PATHS, isCovered, type ActivitySummary } from './pure/activity';

type ActivityEvent =
  | { t: 'open'; base_copy: string }
  | { t: 'hot'; path: string }
  | { t: 'all' };

export const ACTIVITY_FILE = 'activity.log';
/** Bound of the hot list sent in WELCOME (frames carry at most 4 MiB). */
export const MAX_HOT_LIST_BYTES = 1024 * 1024;

/** Reads a node's record (the receiver does, for its WELCOME); undefined when there is none. */
export async function loadActivity(state_dir: string): Promise<ActivitySummary | undefined> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(path.join(state_dir, ACTIVITY_FILE));
  } catch {
    return undefined;
  }
  // Not JournalEvent-typed: the same framing, other records.
  const events = decodeRecords(buf).events as unknown as ActivityEvent[];
  const head = events[0];
  if (!head || head.t !== 'open' || typeof head.base_copy !== 'string') return undefined;
  const hot = new Set<string>();
  let all = false;
  for (const e of events.slice(1)) {
    if (e.t === 'hot' && typeof e.path === 'string') hot.add(e.path);
    else if (e.t === 'all') all = true;
  }
  // The list travels in one WELCOME frame: past MAX_HOT_PATHS or MAX_HOT_LIST_BYTES the
  // record says "everything" (a full comparison), never a truncated list.
  let bytes = 0;
  for (const p of hot) bytes += Buffer.byteLength(p) + 3;
  if (hot.size > MAX_HOT_PATHS || bytes > MAX_HOT_LIST_BYTES) all = true;
  return { base_copy: head.base_copy, hot: all ? [] : [...hot], all };
}

/** Removes the record (the copy it described has been re-integrated), durably. */
export async function removeActivity(state_dir: string): Promise<void> {
  await fs.rm(path.join(state_dir, ACTIVITY_FILE), { force: true });
  const dir = await fs.open(state_dir, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export class ActivityRecord {
  private fh: FileHandle | undefined;
  private base = '';
  private readonly hot = new Set<string>();
  private all = false;
  /** Appends waiting for the next group commit. */
  private batch: ActivityEvent[] = [];
  private commit: Promise<void> | undefined;
  private chain: Promise<void> = Promise.resolve();
  readonly file: string;

  constructor(readonly state_dir: string) {
    this.file = path.join(state_dir, ACTIVITY_FILE);
  }

  /** True once a session has opened the record (before, nothing is recorded). */
  get isOpen(): boolean { return this.base !== ''; }
  get hotCount(): number { return this.hot.size; }
  hotPaths(): string[] { return [...this.hot]; }

  /** Loads what an earlier life of this PRIM left (its hot files stay hot). */
  async load(): Promise<void> {
    const a = await loadActivity(this.state_dir);
    if (!a) return;
    this.base = a.base_copy;
    this.all = a.all;
    for (const p of a.hot) this.hot.add(p);
  }

  /** A session with the copy `base_copy` starts: the record now describes that copy. */
  async open(base_copy: string): Promise<void> {
    if (base_copy === this.base && this.fh) return;
    this.base = base_copy;
    await this.rewrite();
  }

  covers(p: string): boolean {
    return this.all || isCovered(this.hot, p);
  }

  /** `p` is durably hot already (no record being written for it): a change of it needs no wait. */
  isDurablyHot(p: string): boolean {
    return this.isOpen && this.inflight.size === 0 && this.covers(p);
  }

  /** Resolves once `p` is durably hot (at once when it already is, or no session opened the record). */
  markHot(p: string): Promise<void> {
    if (!this.isOpen) return Promise.resolve();
    const pending = this.inflight.get(p) ?? this.inflight.get('/');
    if (pending) return pending;
    if (this.covers(p)) return Promise.resolve();
    if (this.hot.size >= MAX_HOT_PATHS) return this.markAll();
    this.hot.add(p);
    return this.track(p, this.append({ t: 'hot', path: p }));
  }

  /** A change no path names: the record covers everything until rewritten by a new session. */
  markAll(): Promise<void> {
    if (!this.isOpen) return Promise.resolve();
    if (this.all) return this.inflight.get('/') ?? Promise.resolve();
    this.all = true;
    return this.track('/', this.append({ t: 'all' }));
  }

  /**
   * The record could not be written (disk full, EIO): it is removed, so that a return of this
   * node after a crash compares every file, and nothing more is recorded until a new session
   * opens it. Rejects when even the removal failed (the caller must then refuse the change).
   */
  async discard(): Promise<void> {
    this.base = '';
    this.hot.clear();
    this.all = false;
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
    await removeActivity(this.state_dir);
  }

  /** Paths being made durable now: a second writer of the same file waits for the same commit. */
  private readonly inflight = new Map<string, Promise<void>>();

  private track(p: string, done: Promise<void>): Promise<void> {
    this.inflight.set(p, done);
    const clear = (): void => { if (this.inflight.get(p) === done) this.inflight.delete(p); };
    done.then(clear, clear);
    return done;
  }

  /** Drops cooled paths and rewrites the record compactly. */
  async cool(paths: readonly string[]): Promise<void> {
    if (paths.length === 0 || this.all) return;
    for (const p of paths) this.hot.delete(p);
    await this.rewrite();
  }

  async close(): Promise<void> {
    await this.chain;
    await this.commit;
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }

  private append(ev: ActivityEvent): Promise<void> {
    this.batch.push(ev);
    // Group commit: every append made while a commit runs waits for the next one.
    this.commit ??= this.chain.then(async () => {
      await Promise.resolve(); // let the other appends of this turn join the batch
      const evs = this.batch;
      this.batch = [];
      this.commit = undefined;
      if (!this.fh) this.fh = await fs.open(this.file, 'a', 0o600);
      await this.fh.write(Buffer.concat(evs.map((e) => encodeRecord(e as never))));
      await this.fh.datasync();
    });
    const c = this.commit;
    this.chain = c.catch(() => undefined);
    return c;
  }

  private rewrite(): Promise<void> {
    const job = this.chain.then(async () => {
      await this.commit;
      const evs: ActivityEvent[] = [{ t: 'open', base_copy: this.base }, ...(this.all ? [{ t: 'all' } as const] : [...this.hot].map((p) => ({ t: 'hot', path: p }) as const))];
      await fs.mkdir(this.state_dir, { recursive: true });
      const tmp = `${this.file}.tmp`;
      const out = await fs.open(tmp, 'w', 0o600);
      try {
        await out.writeFile(Buffer.concat(evs.map((e) => encodeRecord(e as never))));
        await out.sync();
      } finally {
        await out.close();
      }
      const old = this.fh;
      this.fh = undefined;
      await old?.close();
      await fs.rename(tmp, this.file);
      const dir = await fs.open(this.state_dir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      this.fh = await fs.open(this.file, 'a', 0o600);
    });
    this.chain = job.catch(() => undefined);
    return job;
  }
}
