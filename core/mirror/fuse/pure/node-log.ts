// The node table's changes as a log, so that a hakitd restarted after a crash serves the node
// ids its predecessor handed to the kernel (the kernel keeps using them: the FUSE connection
// outlives the daemon, docs/adr/0009-fuse-mount-survives-daemon.md). NodeTable is
// deterministic: replaying the same calls from the same snapshot gives the same ids, so the
// log records the calls, not their results. One JSON array per line (paths are any string,
// JSON escapes what needs it); a line cut short by a crash is the last one and is ignored.
import { NodeTable, type FileIdentity, type NodeTableSnapshot } from './node-table';

export type NodeLogRecord =
  | readonly ['S', NodeTableSnapshot]
  | readonly ['r', string, number, number]
  | readonly ['r', string]
  | readonly ['f', number, number]
  | readonly ['d', string]
  | readonly ['m', string, string];

export function rememberRecord(path: string, file?: FileIdentity): NodeLogRecord {
  return file === undefined ? ['r', path] : ['r', path, file.ino, file.nlink];
}

export function encodeRecord(r: NodeLogRecord): string {
  return `${JSON.stringify(r)}\n`;
}

function isRecord(v: unknown): v is NodeLogRecord {
  if (!Array.isArray(v) || typeof v[0] !== 'string') return false;
  switch (v[0]) {
    case 'S': return v.length === 2 && typeof v[1] === 'object' && v[1] !== null && Array.isArray((v[1] as NodeTableSnapshot).nodes);
    case 'r': return typeof v[1] === 'string' && (v.length === 2 || (v.length === 4 && typeof v[2] === 'number' && typeof v[3] === 'number'));
    case 'f': return v.length === 3 && typeof v[1] === 'number' && typeof v[2] === 'number';
    case 'd': return v.length === 2 && typeof v[1] === 'string';
    case 'm': return v.length === 3 && typeof v[1] === 'string' && typeof v[2] === 'string';
    default: return false;
  }
}

/** Applies one record to `t` (a snapshot replaces the table). */
export function applyRecord(t: NodeTable, r: NodeLogRecord): NodeTable {
  switch (r[0]) {
    case 'S': return NodeTable.restore(r[1]);
    case 'r':
      if (r.length === 4) t.remember(r[1], { ino: r[2], nlink: r[3] });
      else t.remember(r[1]);
      return t;
    case 'f': t.forget(r[1], r[2]); return t;
    case 'd': t.detach(r[1]); return t;
    case 'm': t.rename(r[1], r[2]); return t;
  }
}

export interface ReplayResult {
  readonly table: NodeTable;
  readonly records: number;
  /** Lines that were not records (only a torn last line is expected). */
  readonly bad_lines: number;
}

/** Rebuilds the table from a log's text. */
export function replayLog(text: string): ReplayResult {
  let table = new NodeTable();
  let records = 0;
  let bad = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      bad++;
      continue;
    }
    if (!isRecord(v)) { bad++; continue; }
    table = applyRecord(table, v);
    records++;
  }
  return { table, records, bad_lines: bad };
}

/** Rewrite the log as one snapshot once it holds this many records per live node (and at least MIN). */
export const COMPACT_RECORDS_PER_NODE = 4;
export const COMPACT_MIN_RECORDS = 4096;

export function shouldCompact(records: number, nodes: number): boolean {
  return records >= Math.max(COMPACT_MIN_RECORDS, COMPACT_RECORDS_PER_NODE * nodes);
}

/** File handles the kernel holds are opaque numbers we choose: the daemon's life
 *  (generation) is in the high bits, so a handle of a dead predecessor is never mistaken
 *  for one of ours and is re-opened from its node; the lowest bit says whether it was opened
 *  with direct I/O (pure/cache-modes.ts must know after a restart). */
export const HANDLE_GENERATION_SHIFT = 2 ** 32;
export const MAX_GENERATION = 2 ** 20;

export function makeHandle(generation: number, counter: number, direct: boolean): number {
  return generation * HANDLE_GENERATION_SHIFT + (counter % 2 ** 31) * 2 + (direct ? 1 : 0);
}

export function handleGeneration(fh: number): number {
  return Math.floor(fh / HANDLE_GENERATION_SHIFT);
}

export function handleDirect(fh: number): boolean {
  return fh % 2 === 1;
}

/** The generation after `previous` (wraps below MAX_GENERATION, never 0: 0 is "no record"). */
export function nextGeneration(previous: number): number {
  return (previous % (MAX_GENERATION - 1)) + 1;
}
