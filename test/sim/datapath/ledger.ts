// What the application was promised: every write and truncate it made gets an id, every
// 8-byte word it writes carries (id, word index), and a write (or truncate) is acknowledged
// once a sync call covering it returned (docs/mirror.md, "Durability contract"). Per file
// (the application's own identity, which follows renames) the ledger keeps, per word, the
// id of the latest acknowledged write or truncate that set it: the floor. A copy holds every
// acknowledged write of a file when each floored word carries a tag of that same file and
// word with an id at or above the floor (a later write may have replaced it), or is absent
// or zero because a truncate at or after the floor cut it.

export const WORD_BYTES = 8;
/** Files stay below this many words (8 KiB: two 4 KiB blocks, so tears and block compares happen). */
export const MAX_WORDS = 1024;

interface LedgerOp {
  readonly id: number;
  readonly file: number;
  readonly kind: 'write' | 'truncate';
  /** write: words [start, end); truncate: new size in words (start). */
  readonly start: number;
  readonly end: number;
}

export interface Shortfall {
  readonly file: number;
  readonly word: number;
  readonly floor: number;
  readonly found: string;
}

export class Ledger {
  private nextId = 1;
  private nextFile = 1;
  private readonly ops = new Map<number, LedgerOp>();
  /** ops' files by id (the checker's hot loop reads it per word). */
  private readonly opFile: number[] = [0];
  /** Per file, per word: the floor (0: none). */
  private readonly floors = new Map<number, Int32Array>();
  private readonly truncs = new Map<number, LedgerOp[]>();
  /** Completed (returned) and not yet acknowledged ops, per file. */
  private readonly unacked = new Map<number, number[]>();
  version = 0;
  acked = 0;
  /** Per file, bumped when its floors change (the shortfall cache's key). */
  private readonly fileVersion = new Map<number, number>();
  /** File contents are never changed in place (memfs.ts copies on write): results per array. */
  private readonly cache = new WeakMap<Uint8Array, Map<number, { v: number; r: Shortfall | undefined }>>();

  newFile(): number { return this.nextFile++; }
  newId(): number { return this.nextId++; }

  /** Bytes of a write of `words` words at word `at`, tagged with `id`. */
  static dataFor(id: number, at: number, words: number): Uint8Array {
    const b = new Uint8Array(words * WORD_BYTES);
    const v = new DataView(b.buffer);
    for (let i = 0; i < words; i++) {
      v.setUint32(i * WORD_BYTES, id, true);
      v.setUint32(i * WORD_BYTES + 4, at + i, true);
    }
    return b;
  }

  issued(id: number, file: number, kind: 'write' | 'truncate', start: number, end: number): void {
    this.ops.set(id, { id, file, kind, start, end });
    this.opFile[id] = file;
    if (kind === 'truncate') {
      const l = this.truncs.get(file) ?? [];
      l.push(this.ops.get(id)!);
      this.truncs.set(file, l);
    }
  }

  /** The call returned (the op is done on PRIM); it is acknowledged by a later sync. */
  completed(id: number): void {
    const op = this.ops.get(id);
    if (!op) return;
    const l = this.unacked.get(op.file) ?? [];
    l.push(id);
    this.unacked.set(op.file, l);
  }

  /** What a sync call starting now on `file` covers (every completed op of it). */
  coveredBy(file: number | 'all'): number[] {
    if (file === 'all') return [...this.unacked.values()].flat();
    return (this.unacked.get(file) ?? []).slice();
  }

  /** The application's process died with its node: what it wrote and never synced is gone
   *  with the page cache, and no later sync call covers it. */
  forgetUnacked(): void {
    this.unacked.clear();
  }

  /** The sync call covering `ids` returned: they are acknowledged. */
  acknowledge(ids: readonly number[]): void {
    for (const id of [...ids].sort((a, b) => a - b)) {
      const op = this.ops.get(id);
      if (!op) continue;
      const l = this.unacked.get(op.file);
      if (l) {
        const i = l.indexOf(id);
        if (i < 0) continue;
        l.splice(i, 1);
      }
      let fl = this.floors.get(op.file);
      if (!fl) { fl = new Int32Array(MAX_WORDS); this.floors.set(op.file, fl); }
      if (op.kind === 'write') {
        for (let w = op.start; w < op.end && w < MAX_WORDS; w++) if (fl[w]! < id) fl[w] = id;
      } else {
        for (let w = op.start; w < MAX_WORDS; w++) if (fl[w]! > 0 && fl[w]! < id) fl[w] = id;
      }
      this.acked++;
      this.version++;
      this.fileVersion.set(op.file, (this.fileVersion.get(op.file) ?? 0) + 1);
    }
  }

  /**
   * The application removed the file's name (an unlink, or a rename over it, returned): its
   * content is no longer promised. A crash may bring the name back where the removal was not
   * yet durable (PRIM's disk after a power cut) and not where it was (SECOND applied it): each
   * is an outcome a local disk allows, so neither copy is held to the old content.
   */
  retire(file: number): void {
    if (!this.floors.delete(file) && !this.unacked.delete(file)) return;
    this.unacked.delete(file);
    this.version++;
    this.fileVersion.set(file, (this.fileVersion.get(file) ?? 0) + 1);
  }

  hasFloor(file: number): boolean { return this.floors.has(file); }
  fileOf(id: number): number | undefined { return this.ops.get(id)?.file; }

  /** The first floored word `data` does not hold for `file`, or undefined when it holds all. */
  shortfall(file: number, data: Uint8Array | undefined): Shortfall | undefined {
    if (!data) return this.computeShortfall(file, undefined);
    const v = this.fileVersion.get(file) ?? 0;
    let m = this.cache.get(data);
    if (!m) { m = new Map(); this.cache.set(data, m); }
    const hit = m.get(file);
    if (hit && hit.v === v) return hit.r;
    const r = this.computeShortfall(file, data);
    m.set(file, { v, r });
    return r;
  }

  private computeShortfall(file: number, data: Uint8Array | undefined): Shortfall | undefined {
    const fl = this.floors.get(file);
    if (!fl) return undefined;
    const words = data ? Math.floor(data.byteLength / WORD_BYTES) : 0;
    const u = data && words > 0 ? (data.byteOffset % 4 === 0 ? new Uint32Array(data.buffer, data.byteOffset, words * 2) : new Uint32Array(data.slice(0, words * WORD_BYTES).buffer)) : new Uint32Array(0);
    const opFile = this.opFile;
    for (let w = 0; w < MAX_WORDS; w++) {
      const floor = fl[w]!;
      if (floor === 0) continue;
      const id = w < words ? u[2 * w]! : 0;
      if (id !== 0) {
        const pos = u[2 * w + 1]!;
        if (pos === w && id >= floor && opFile[id] === file) continue;
        return { file, word: w, floor, found: `id ${id} (file ${opFile[id] ?? '?'}, word ${pos})` };
      }
      if ((this.truncs.get(file) ?? []).some((t) => t.id >= floor && t.start <= w)) continue;
      return { file, word: w, floor, found: w < words ? 'zeros' : 'nothing (file shorter or missing)' };
    }
    return undefined;
  }

  /** The file the tags of `data` mostly belong to (after a failover the names are re-read). */
  ownerOf(data: Uint8Array): number | undefined {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const count = new Map<number, number>();
    for (let at = 0; at + WORD_BYTES <= data.length; at += WORD_BYTES) {
      const id = v.getUint32(at, true);
      if (id === 0) continue;
      const f = this.ops.get(id)?.file;
      if (f !== undefined) count.set(f, (count.get(f) ?? 0) + 1);
    }
    let best: number | undefined;
    let n = 0;
    for (const [f, c] of count) if (c > n) { best = f; n = c; }
    return best;
  }

  describe(id: number): string {
    const op = this.ops.get(id);
    if (!op) return `op ${id}`;
    return op.kind === 'write' ? `write #${id} of file ${op.file}, words [${op.start}, ${op.end})` : `truncate #${id} of file ${op.file} to ${op.start} words`;
  }
}
