// What a FUSE capture session leaves in the run dir for a successor daemon of the same boot
// (docs/adr/0009-fuse-mount-survives-daemon.md): per kernel connection N,
//   N.json   the mount (directory, private bind, module) and the INIT outcome and generation;
//   N.nodes  the node table: a snapshot line, then every change (pure/node-log.ts), appended
//            synchronously before the reply that hands a node id to the kernel.
// Both live on a tmpfs (/run/hakit/fuse): a reboot clears them with the mounts they describe.
import fs from 'node:fs';
import path from 'node:path';
import { COMPACT_MIN_RECORDS, encodeRecord, replayLog, shouldCompact, type NodeLogRecord } from './pure/node-log';
import type { NodeTable } from './pure/node-table';
import type { FuseSession, NodeJournal, SessionParams } from './session';

export interface SessionMeta {
  readonly connection: number;
  readonly mountpoint: string;
  readonly private_dir: string;
  readonly module: string;
}

export interface SessionRecord extends SessionMeta {
  readonly params: SessionParams;
}

const jsonFile = (dir: string, conn: number): string => path.join(dir, `${conn}.json`);
const nodesFile = (dir: string, conn: number): string => path.join(dir, `${conn}.nodes`);

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Appends node-table changes; rewrites the file as one snapshot when it grows too long. */
class FileNodeJournal implements NodeJournal {
  private fd: number;
  private records = 0;
  private broken = false;

  constructor(private readonly file: string, private readonly session: FuseSession, private readonly onProblem: (e: Error) => void) {
    this.fd = this.rewrite();
  }

  private rewrite(): number {
    writeAtomic(this.file, encodeRecord(['S', this.session.nodeSnapshot()]));
    this.records = 1;
    return fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND);
  }

  append(r: NodeLogRecord): void {
    if (this.broken) return;
    try {
      fs.writeSync(this.fd, encodeRecord(r));
      if (++this.records >= COMPACT_MIN_RECORDS && shouldCompact(this.records, this.session.nodeCount)) {
        const old = this.fd;
        this.fd = this.rewrite();
        fs.closeSync(old);
      }
    } catch (e) {
      // A successor without a true table must not serve the mount: it aborts it instead.
      this.broken = true;
      fs.rmSync(this.file, { force: true });
      this.onProblem(new Error(`node table journal ${this.file}: ${(e as Error).message}; the mount will not outlive this daemon`));
    }
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** Starts recording `session` under `dir` (snapshot now, changes from now on). */
export function recordSession(dir: string, session: FuseSession, meta: SessionMeta, onProblem: (e: Error) => void): { close(): void } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const rec: SessionRecord = { ...meta, params: session.params };
  writeAtomic(jsonFile(dir, meta.connection), JSON.stringify(rec));
  const j = new FileNodeJournal(nodesFile(dir, meta.connection), session, onProblem);
  session.setJournal(j);
  return { close: () => { session.setJournal(undefined); j.close(); } };
}

export interface RecoveredSession {
  readonly record: SessionRecord;
  readonly nodes: NodeTable;
  readonly bad_lines: number;
}

/** The record of connection `conn`, or undefined when it is missing or cannot be trusted. */
export function readSession(dir: string, conn: number): RecoveredSession | undefined {
  let record: SessionRecord;
  let text: string;
  try {
    record = JSON.parse(fs.readFileSync(jsonFile(dir, conn), 'utf8')) as SessionRecord;
    text = fs.readFileSync(nodesFile(dir, conn), 'utf8');
  } catch {
    return undefined;
  }
  const p = record?.params;
  if (record.connection !== conn || typeof record.mountpoint !== 'string' || typeof record.private_dir !== 'string' ||
    !p || !Number.isInteger(p.max_write_bytes) || typeof p.direct_writes !== 'boolean' || !Number.isInteger(p.generation)) return undefined;
  const r = replayLog(text);
  if (r.records === 0) return undefined;
  // A record written before the writeback cache existed: the kernel was not asked for it.
  if (typeof p.writeback !== 'boolean') record = { ...record, params: { ...p, writeback: false } };
  return { record, nodes: r.table, bad_lines: r.bad_lines };
}

/** Every recorded session (module, mountpoint, connection), for the daemon's adoption. */
export function listSessions(dir: string): SessionRecord[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: SessionRecord[] = [];
  for (const n of names) {
    const m = /^(\d+)\.json$/.exec(n);
    if (!m) continue;
    try {
      out.push(JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8')) as SessionRecord);
    } catch {
      // a torn record: not adoptable
    }
  }
  return out;
}

export function removeSession(dir: string, conn: number): void {
  fs.rmSync(jsonFile(dir, conn), { force: true });
  fs.rmSync(nodesFile(dir, conn), { force: true });
}
