// Where a lab keeps its record, and the machine-wide lock that serialises the few steps
// where labs share something (lab indexes, host mount point directories).
// The record is written BEFORE each thing is made, so `down` after a crash removes exactly
// what the lab made.
import fs from 'node:fs';
import path from 'node:path';
import { LabError } from './errors';
import { MAX_LAB_INDEX } from './pure/plan';
import type { LabState } from './pure/types';

export const LAB_ROOT = '/run/hakit-lab';
export const DATA_ROOT = '/var/lib/hakit-lab';
export const BIN_DIR = path.join(LAB_ROOT, 'bin');
const LOCK_DIR = path.join(LAB_ROOT, 'lock');
const INDEX_DIR = path.join(LAB_ROOT, 'index');
/** Host directories some lab created as mount points; removed when the last lab goes down. */
const MADE_DIRS_FILE = path.join(LAB_ROOT, 'made-dirs.json');
/** Lock waits are bounded: a stuck holder becomes an error, not a hang. */
const LOCK_WAIT_MS = 15_000;
const LOCK_POLL_MS = 20;
/** A lock dir without a pid file older than this is a leftover of a crash between mkdir and write. */
const LOCK_ORPHAN_MS = 5_000;

export const labDir = (key: string): string => path.join(LAB_ROOT, key);
export const statePath = (key: string): string => path.join(labDir(key), 'state.json');
export const pinDir = (key: string): string => path.join(labDir(key), 'mnt');
export const pinPath = (key: string, host: string): string => path.join(pinDir(key), host);
export const dataDir = (key: string): string => path.join(DATA_ROOT, key);
export const logPath = (key: string, what: string): string => path.join(labDir(key), `${what}.log`);

export function writeState(state: LabState): void {
  const file = statePath(state.plan.key);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

/** The lab's record, or undefined when there is no such lab. A damaged record is an error. */
export function readState(key: string): LabState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(statePath(key), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LabError('HAKIT_E_LAB_STATE', `cannot read: ${(e as Error).message}`, statePath(key));
  }
  try {
    const state = JSON.parse(text) as LabState;
    if (state.version !== 1 || typeof state.plan?.key !== 'string') throw new Error('not a version 1 lab record');
    return state;
  } catch (e) {
    throw new LabError('HAKIT_E_LAB_STATE', `damaged: ${(e as Error).message}; remove the lab by hand`, statePath(key));
  }
}

/** True when the lab directory exists (possibly a lab that crashed before writing its record). */
export function labExists(key: string): boolean {
  return fs.existsSync(labDir(key));
}

export function listLabKeys(): string[] {
  try {
    return fs
      .readdirSync(LAB_ROOT, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !['bin', 'lock', 'index'].includes(d.name) && !d.name.startsWith('lock.'))
      .map((d) => d.name);
  } catch {
    return [];
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockIsStale(): boolean {
  try {
    const pid = Number(fs.readFileSync(path.join(LOCK_DIR, 'pid'), 'utf8'));
    return !(pid > 0 && pidAlive(pid));
  } catch {
    try {
      return Date.now() - fs.statSync(LOCK_DIR).mtimeMs > LOCK_ORPHAN_MS;
    } catch {
      return false;
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs fn holding the machine-wide lab lock (a directory: mkdir is atomic). */
export async function withGlobalLock<T>(fn: () => Promise<T> | T): Promise<T> {
  fs.mkdirSync(LAB_ROOT, { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.mkdirSync(LOCK_DIR);
      fs.writeFileSync(path.join(LOCK_DIR, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (lockIsStale()) {
        // Rename first so that two waiters cannot both remove it and both enter.
        const aside = `${LOCK_DIR}.stale.${process.pid}`;
        try {
          fs.renameSync(LOCK_DIR, aside);
          fs.rmSync(aside, { recursive: true, force: true });
        } catch {
          /* someone else cleaned it */
        }
        continue;
      }
      if (Date.now() > deadline) throw new LabError('HAKIT_E_LAB_LOCK', `held for more than ${LOCK_WAIT_MS} ms`, LOCK_DIR);
      await sleep(LOCK_POLL_MS);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

/** Claims the lowest free lab index in 1..MAX_LAB_INDEX (0 is the default lab). Call under the lock. */
export function claimIndex(key: string, isDefault: boolean): number {
  fs.mkdirSync(INDEX_DIR, { recursive: true });
  const first = isDefault ? 0 : 1;
  const last = isDefault ? 0 : MAX_LAB_INDEX;
  for (let i = first; i <= last; i++) {
    const claim = path.join(INDEX_DIR, String(i));
    const owner = readClaim(claim);
    if (owner !== undefined && labExists(owner)) continue;
    fs.writeFileSync(claim, key);
    return i;
  }
  throw new LabError('HAKIT_E_LAB_FULL', `all ${MAX_LAB_INDEX} named lab indexes are in use; take a lab down`, INDEX_DIR);
}

function readClaim(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

export function releaseIndex(index: number, key: string): void {
  const claim = path.join(INDEX_DIR, String(index));
  if (readClaim(claim) === key) fs.rmSync(claim, { force: true });
}

export function readMadeDirs(): string[] {
  try {
    return JSON.parse(fs.readFileSync(MADE_DIRS_FILE, 'utf8')) as string[];
  } catch {
    return [];
  }
}

export function writeMadeDirs(dirs: readonly string[]): void {
  if (dirs.length === 0) {
    fs.rmSync(MADE_DIRS_FILE, { force: true });
    return;
  }
  fs.writeFileSync(MADE_DIRS_FILE, JSON.stringify(dirs) + '\n');
}
