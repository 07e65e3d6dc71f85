// The dirty-region journal of one module on PRIM: what SECOND is missing while it is absent.
// Records are [u32 length][u32 crc32][JSON], appended in order. While ALONE every captured
// operation is appended (write(2), not fsync) BEFORE it is performed locally, so:
//  - a crash of the daemon keeps every record (the page cache survives), and the journal is
//    trusted on restart when the boot id is unchanged;
//  - after a reboot or power cut the tail may be lost, so a journal without a clean 'close'
//    record from another boot is not trusted: the next re-integration compares every file.
// Whenever the phase changes, the journal is rewritten compactly (temporary file + rename).
// An ALONE write's record names the whole extents it touches, and a write into extents
// already named since the last rewrite appends nothing (pure/journal-coverage.ts).
// A record that cannot be written whole (its disk is full, EIO) empties the file, so that no
// load trusts it (the next pass compares every file), and nothing more is appended until a
// rewrite succeeds: the application's call goes on, as on a disk without hakit, and PRIM's
// pending set in memory still holds the change. Failing the call instead would make a full
// disk under the journal (often the root file system) refuse writes to a data disk with room.
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ftruncateSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import zlib from 'node:zlib';
import { HakitError } from '../errors/catalogue';
import { type MirrorOp, validateOp } from './pure/ops';
import { PendingSet } from './pure/pending';
import { JournalCoverage } from './pure/journal-coverage';
import { type LinkPhase } from './pure/route';

export const MAX_RECORD_BYTES = 1024 * 1024;
/** The journal is fsync'ed at least this often while ALONE. */
export const JOURNAL_SYNC_INTERVAL_MS = 1000;

export type JournalEvent =
  /** `takeover_of`: this PRIM started from that copy id, complete (it was its SECOND), and the
   *  journal holds every change since (core/mirror/pure/activity.ts, 'activity' mode). */
  | { t: 'open'; copy_id: string; boot_id: string; takeover_of?: string }
  | { t: 'phase'; phase: LinkPhase }
  | { t: 'op'; op: MirrorOp; id?: number }
  /** Written before a non-write op is performed; its 'op' (or 'failed') record follows. */
  | { t: 'intent'; id: number }
  | { t: 'failed'; id: number }
  | { t: 'dirty'; path: string; start: number; end: number }
  | { t: 'compare'; path: string }
  | { t: 'overflow' }
  /** A full comparison is owed (the journal this one replaced was not trusted, or a whole
   *  excluded tree moved in): a load never trusts a journal that says so. */
  | { t: 'full' }
  | { t: 'close' };

export interface JournalLoad {
  /** False: the journal cannot say what SECOND misses; compare every file. */
  readonly trusted: boolean;
  readonly reason: string;
  /** Copy of SECOND the journal tracks (its receiver.json copy_id). */
  readonly copy_id: string;
  readonly pending: PendingSet;
  /** See the 'open' record; only set when trusted. */
  readonly takeover_of?: string;
}

export async function currentBootId(): Promise<string> {
  try {
    return (await fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  } catch {
    return 'unknown';
  }
}

export function encodeRecord(ev: JournalEvent): Buffer {
  const body = Buffer.from(JSON.stringify(ev), 'utf8');
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(body.length, 0);
  head.writeUInt32BE(zlib.crc32(body), 4);
  return Buffer.concat([head, body]);
}

/** Decodes records up to the first torn or corrupt one. */
export function decodeRecords(buf: Buffer): { events: JournalEvent[]; torn: boolean } {
  const events: JournalEvent[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < 8) return { events, torn: true };
    const len = buf.readUInt32BE(at);
    const crc = buf.readUInt32BE(at + 4);
    if (len > MAX_RECORD_BYTES || buf.length - at - 8 < len) return { events, torn: true };
    const body = buf.subarray(at + 8, at + 8 + len);
    if (zlib.crc32(body) !== crc) return { events, torn: true };
    try {
      events.push(JSON.parse(body.toString('utf8')) as JournalEvent);
    } catch {
      return { events, torn: true };
    }
    at += 8 + len;
  }
  return { events, torn: false };
}

function replay(events: readonly JournalEvent[], where: string): PendingSet {
  const p = new PendingSet();
  for (const ev of events) {
    switch (ev.t) {
      case 'op': {
        const op = validateOp(ev.op, where);
        p.recordUnshipped(op);
        break;
      }
      case 'dirty': p.markDirty(ev.path, ev.start, ev.end); break;
      case 'compare': p.markCompare(ev.path); break;
      case 'overflow': p.overflowed = true; break;
      default: break;
    }
  }
  return p;
}

function snapshotEvents(p: PendingSet): JournalEvent[] {
  const s = p.snapshot();
  const out: JournalEvent[] = [];
  if (s.overflowed) out.push({ t: 'overflow' });
  for (const op of s.ops) out.push({ t: 'op', op });
  for (const d of s.dirty) for (const r of d.ranges) out.push({ t: 'dirty', path: d.path, start: r.start, end: r.end });
  for (const c of s.compare) out.push({ t: 'compare', path: c });
  return out;
}

/** Writes a buffer at the journal's end and returns the bytes written (write(2)): a port, so
 *  that a test can fake a full disk. */
export type RecordWriter = (fd: number, buf: Buffer) => number;

const writeRecords: RecordWriter = (fd, buf) => writeSync(fd, buf);

export class DirtyJournal {
  private fh: FileHandle | undefined;
  /** Why the file was emptied (a record could not be written); cleared by a rewrite. */
  private brokenBy: HakitError | undefined;
  /** Told once each time the journal breaks (the sender reports it). */
  onBroken: (e: HakitError) => void = () => undefined;
  private chain: Promise<void> = Promise.resolve();
  /** Jobs queued on `chain` and not finished (an append may skip the queue when 0). */
  private queued = 0;
  private bootId = 'unknown';
  private syncTimer: NodeJS.Timeout | undefined;
  private unsynced = false;
  /** Written into every 'open' record until cleared (see JournalEvent 'open'). */
  takeoverOf: string | undefined;
  /** Asked at every rewrite: is a full comparison owed (JournalEvent 'full')? */
  fullOwed: () => boolean = () => false;
  /** Extents named by the dirty records appended since the last rewrite (appendDirty). */
  private readonly coverage = new JournalCoverage();

  constructor(readonly file: string, private readonly writeAt: RecordWriter = writeRecords) {}

  /** A record could not be written since the last rewrite: the file says nothing (see header). */
  get broken(): boolean { return this.brokenBy !== undefined; }

  /** Why the file is empty now (HAKIT_E_MIRROR_JOURNAL); undefined while it is kept. */
  get problem(): HakitError | undefined { return this.brokenBy; }

  async load(): Promise<JournalLoad> {
    this.bootId = await currentBootId();
    let buf: Buffer;
    try {
      buf = await fs.readFile(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { trusted: false, reason: 'no journal (first sync)', copy_id: '', pending: new PendingSet() };
      throw new HakitError('HAKIT_E_MIRROR_JOURNAL', `cannot read: ${(e as Error).message}`, this.file);
    }
    if (buf.length === 0) return { trusted: false, reason: 'journal emptied (a record could not be written)', copy_id: '', pending: new PendingSet() };
    const { events, torn } = decodeRecords(buf);
    const head = events[0];
    if (!head || head.t !== 'open') return { trusted: false, reason: 'journal has no header', copy_id: '', pending: new PendingSet() };
    const closed = events[events.length - 1]?.t === 'close';
    const open = new Set<number>();
    for (const e of events) {
      if (e.t === 'intent') open.add(e.id);
      else if ((e.t === 'op' || e.t === 'failed') && e.id !== undefined) open.delete(e.id);
    }
    if (open.size > 0) return { trusted: false, reason: 'an operation was cut between its intent and its outcome', copy_id: head.copy_id, pending: new PendingSet() };
    const lastPhase = [...events].reverse().find((e): e is Extract<JournalEvent, { t: 'phase' }> => e.t === 'phase')?.phase;
    let pending: PendingSet;
    try {
      pending = replay(events, this.file);
    } catch {
      return { trusted: false, reason: 'journal holds an invalid operation', copy_id: head.copy_id, pending: new PendingSet() };
    }
    if (pending.overflowed) return { trusted: false, reason: 'journal overflowed', copy_id: head.copy_id, pending: new PendingSet() };
    // Without this, an untrusted journal rewritten at start would be trusted after a second
    // crash in the same boot, and the full comparison it owed forgotten (found by the
    // data-path simulation).
    if (events.some((e) => e.t === 'full')) return { trusted: false, reason: 'a full comparison was owed', copy_id: head.copy_id, pending: new PendingSet() };
    const takeover = head.takeover_of !== undefined ? { takeover_of: head.takeover_of } : {};
    if (closed && !torn) return { trusted: true, reason: 'cleanly closed', copy_id: head.copy_id, pending, ...takeover };
    if (!torn && head.boot_id === this.bootId && lastPhase === 'alone') {
      return { trusted: true, reason: 'daemon crash while ALONE, same boot', copy_id: head.copy_id, pending, ...takeover };
    }
    return { trusted: false, reason: torn ? 'journal tail is torn' : `not closed (last phase ${lastPhase ?? 'none'}, boot ${head.boot_id === this.bootId ? 'same' : 'changed'})`, copy_id: head.copy_id, pending: new PendingSet() };
  }

  /** Atomically replaces the journal with a compact image of `pending` in `phase`. */
  async rewrite(copy_id: string, pending: PendingSet, phase: LinkPhase, closing = false): Promise<void> {
    // The new file holds `pending`, not the extent records: from here writes are journaled
    // again (also those that run before this job: their records go to the file replaced).
    this.coverage.clear();
    await this.enqueue(async () => {
      this.coverage.clear();
      await this.closeHandle();
      const open: JournalEvent = this.takeoverOf !== undefined ? { t: 'open', copy_id, boot_id: this.bootId, takeover_of: this.takeoverOf } : { t: 'open', copy_id, boot_id: this.bootId };
      const events: JournalEvent[] = [open, ...(this.fullOwed() ? [{ t: 'full' } as const] : []), ...snapshotEvents(pending), { t: 'phase', phase }];
      if (closing) events.push({ t: 'close' });
      const tmp = `${this.file}.tmp`;
      try {
        await fs.mkdir(path.dirname(this.file), { recursive: true });
        const fh = await fs.open(tmp, 'w', 0o600);
        try {
          await fh.writeFile(Buffer.concat(events.map(encodeRecord)));
          await fh.sync();
        } finally {
          await fh.close();
        }
        await fs.rename(tmp, this.file);
        const dir = await fs.open(path.dirname(this.file), 'r');
        await dir.sync().finally(() => dir.close());
        if (!closing) this.fh = await fs.open(this.file, 'a');
      } catch (e) {
        // The file left in place holds neither this phase nor what the caller goes on to do
        // (a pass's live ops are not journaled): it must not be trusted either.
        await fs.rm(tmp, { force: true }).catch(() => undefined);
        this.breakOff(undefined, e);
        throw e;
      }
      this.brokenBy = undefined;
    });
  }

  /**
   * While ALONE, before [start, end) of `path` is written locally: a record saying that its
   * extents may differ from SECOND (pure/journal-coverage.ts). Undefined when records
   * appended since the last rewrite name them already (nothing to wait for); else resolves
   * once the record is written (not fsync'ed), as `append`.
   */
  appendDirty(path: string, start: number, end: number): Promise<void> | undefined {
    const r = this.coverage.recordFor(path, start, end);
    if (!r) return undefined;
    return this.write([{ t: 'dirty', path, start: r.start, end: r.end }], () => this.coverage.written(path, r));
  }

  /** Appends events (written, not yet fsync'ed) in call order. */
  append(events: readonly JournalEvent[]): Promise<void> {
    // At once, before the record is written: a write after this op must not be skipped on
    // the strength of extents its replay takes away (a truncate, unlink, rename).
    for (const e of events) if (e.t === 'op') this.coverage.noteOp(e.op);
    return this.write(events);
  }

  /** Writes events after those queued; `written` runs right after the write succeeded, before
   *  any later job (a rewrite) can replace the file. */
  private write(events: readonly JournalEvent[], written?: () => void): Promise<void> {
    // Nothing queued (no rewrite or sync in progress): one write(2) right now. Through the
    // queue it would cost a thread-pool hop per captured write while ALONE.
    if (this.queued === 0 && this.fh) {
      this.writeNow(this.fh.fd, events, written);
      return Promise.resolve();
    }
    return this.enqueue(async () => {
      if (this.brokenBy) return; // emptied, and a failed rewrite leaves no descriptor
      if (!this.fh) throw new HakitError('HAKIT_E_MIRROR_JOURNAL', 'journal is not open', this.file);
      this.writeNow(this.fh.fd, events, written);
    });
  }

  /** Appends the records whole, or empties the file (see the header); `written` on success. */
  private writeNow(fd: number, events: readonly JournalEvent[], written?: () => void): void {
    if (this.brokenBy) return;
    const buf = Buffer.concat(events.map(encodeRecord));
    let n: number;
    try {
      n = this.writeAt(fd, buf);
    } catch (e) {
      this.breakOff(fd, e);
      return;
    }
    // A regular file takes a write whole unless its disk is full: the part written is a torn
    // record, and every record after it would be lost to a load.
    if (n !== buf.length) {
      this.breakOff(fd, Object.assign(new Error(`short write (${n} of ${buf.length} bytes)`), { code: 'ENOSPC' }));
      return;
    }
    written?.();
    this.unsynced = true;
    this.syncTimer ??= setTimeout(() => { this.syncTimer = undefined; void this.sync().catch(() => undefined); }, JOURNAL_SYNC_INTERVAL_MS);
  }

  /** Empties the file (through `fd` when open, else by name; removes it if that fails too) so
   *  that no load trusts it, and appends nothing more until a rewrite succeeds. */
  private breakOff(fd: number | undefined, cause: unknown): void {
    const why = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    let emptied = true;
    try {
      if (fd !== undefined) ftruncateSync(fd, 0);
      else truncateSync(this.file, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        try { unlinkSync(this.file); } catch (e2) { emptied = (e2 as NodeJS.ErrnoException).code === 'ENOENT'; }
      }
    }
    const first = this.brokenBy === undefined;
    this.brokenBy = new HakitError('HAKIT_E_MIRROR_JOURNAL', emptied
      ? `a record could not be written (${why}): journal emptied, a restart compares every file until the next rewrite`
      : `a record could not be written (${why}) and the journal could be neither emptied nor removed`, this.file);
    if (first) this.onBroken(this.brokenBy);
  }

  sync(): Promise<void> {
    return this.enqueue(async () => {
      if (this.fh && this.unsynced) {
        this.unsynced = false;
        await this.fh.datasync();
      }
    });
  }

  async close(copy_id: string, pending: PendingSet, phase: LinkPhase): Promise<void> {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    await this.rewrite(copy_id, pending, phase, true);
  }

  private async closeHandle(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    if (fh) await fh.close();
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    this.queued++;
    const next = this.chain.then(job).finally(() => { this.queued--; });
    this.chain = next.catch(() => undefined);
    return next;
  }
}
