// Durable incarnation floors (docs/adr/0006-replay-protection.md): the newest incarnation of
// each peer this node ever accepted, in one small JSON file of the state dir. A receiver that
// restarts drops every packet of a peer's earlier lives, however fresh its empty replay
// window would find them. The file changes only when a peer restarts, so each raise is
// written at once (temporary file, fsync, rename) before the packet that raised it is used.
import fs from 'node:fs';
import path from 'node:path';
import type { LogSink } from '../../log/sink';
import { MAX_TRACKED_SENDERS } from '../wire/limits';
import type { IncarnationFloors } from '../wire/codec';

export class FileIncarnationFloors implements IncarnationFloors {
  private readonly floors = new Map<string, number>();
  private write_errors = 0;

  constructor(
    readonly file: string,
    private readonly log: LogSink,
  ) {
    this.load();
  }

  private load(): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch (e) {
      // No file yet: no floor. An unreadable file leaves the floors at 0: the challenge
      // (codec.ts) still refuses recorded packets, so the node stays safe and can join.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log.error({ file: this.file, err: String(e) }, 'incarnation floors unreadable: starting without floors');
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return;
    for (const [node, v] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 && this.floors.size < MAX_TRACKED_SENDERS) this.floors.set(node, v);
    }
  }

  floor(node_id: string): number {
    return this.floors.get(node_id) ?? 0;
  }

  raise(node_id: string, incarnation: number): void {
    if (incarnation <= this.floor(node_id)) return;
    if (!this.floors.has(node_id) && this.floors.size >= MAX_TRACKED_SENDERS) return;
    this.floors.set(node_id, incarnation);
    try {
      this.save();
    } catch (e) {
      // Kept in memory: the floor holds for this life; the next raise retries the write.
      this.write_errors++;
      this.log.error({ file: this.file, err: String(e) }, 'cannot record an incarnation floor');
    }
  }

  writeErrors(): number {
    return this.write_errors;
  }

  private save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(Object.fromEntries(this.floors)));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }
}

/** Floors kept in memory only (tests, and peers whose incarnation is not monotonic). */
export class MemoryIncarnationFloors implements IncarnationFloors {
  private readonly floors = new Map<string, number>();
  floor(node_id: string): number {
    return this.floors.get(node_id) ?? 0;
  }
  raise(node_id: string, incarnation: number): void {
    if (incarnation > this.floor(node_id)) this.floors.set(node_id, incarnation);
  }
}
