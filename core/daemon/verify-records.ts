// Keeps the last rfsverify of each mirror module, crash-safe, in the module's state folder
// (<state>/mirror/<module>/last-verify.json, beside the engine's own records): written with a
// temp file, fsync and rename (core/mirror/state-file.ts), so a crash leaves the previous
// record or the new one, never half of one. Read once per module, then served from memory.
import fs from 'node:fs';
import path from 'node:path';
import { writeJsonDurable } from '../mirror/state-file';
import { parseVerifyRecord, type VerifyRecord } from './pure/verify-record';

export const VERIFY_RECORD_FILE = 'last-verify.json';

export interface VerifyRecordStore {
  last(module: string): VerifyRecord | null;
  save(module: string, r: VerifyRecord): Promise<void>;
}

export class VerifyRecords implements VerifyRecordStore {
  private readonly cache = new Map<string, VerifyRecord | null>();
  /** Writes of one module, one after another (they share a temp file name). */
  private readonly chains = new Map<string, Promise<void>>();

  /** `mirror_dir`: <state>/mirror, the parent of each module's engine folder. */
  constructor(private readonly mirror_dir: string) {}

  fileOf(module: string): string {
    return path.join(this.mirror_dir, module, VERIFY_RECORD_FILE);
  }

  last(module: string): VerifyRecord | null {
    if (this.cache.has(module)) return this.cache.get(module) ?? null;
    let r: VerifyRecord | null;
    try {
      r = parseVerifyRecord(JSON.parse(fs.readFileSync(this.fileOf(module), 'utf8')));
    } catch {
      r = null; // none yet, or unreadable: "no verify yet"
    }
    this.cache.set(module, r);
    return r;
  }

  save(module: string, r: VerifyRecord): Promise<void> {
    this.cache.set(module, r);
    const next = (this.chains.get(module) ?? Promise.resolve()).catch(() => undefined).then(() => writeJsonDurable(this.fileOf(module), r));
    this.chains.set(module, next);
    return next;
  }
}
