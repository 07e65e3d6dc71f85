// Safe unpacking of a .safe (zip) into an empty private directory. Every entry is checked
// from the central directory first (entry-check.ts); only when all pass are files written,
// each with O_EXCL, with at most the declared size (yauzl verifies the sizes while reading).
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import yauzl from 'yauzl';
import { HakitError } from '../../core/errors/catalogue';
import { checkEntry } from './entry-check';
import { SAFE_LIMITS } from './limits';
import { applySecretAccess, secretAccess } from '../../core/log/file-access';

/** conf/ holds userconfig.xml, whose <var> values are often secrets (core/log/file-access.ts). */
const isConf = (p: string): boolean => p === 'conf' || p.startsWith('conf/');

export interface UnpackedEntry {
  readonly path: string;
  readonly dir: boolean;
  readonly executable: boolean;
  readonly size_bytes: number;
}

export async function unpackSafe(file: string, destDir: string): Promise<UnpackedEntry[]> {
  const size = statSize(file);
  const zip = await openZip(file);
  try {
    if (zip.entryCount > SAFE_LIMITS.entries_max) {
      throw new HakitError('HAKIT_E_SAFE_TOO_MANY', `${zip.entryCount} entries, limit ${SAFE_LIMITS.entries_max}`, path.basename(file));
    }
    const entries = await readEntries(zip, path.basename(file));
    const planned = plan(entries, path.basename(file), size);
    const secret = secretAccess();
    for (const p of planned) {
      const target = path.join(destDir, p.path);
      if (p.dir) {
        fs.mkdirSync(target, { recursive: true, mode: 0o755 });
        continue;
      }
      fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
      // conf/ first: an exec bit in the zip (a config edited on a Windows share, a careless
      // chmod -R) must not make a userconfig.xml holding passwords world-readable.
      const conf = isConf(p.path);
      const mode = conf ? secret.file_mode : p.executable ? 0o755 : 0o644;
      await extract(zip, p.entry, target, mode, path.basename(file));
      if (conf) applySecretAccess(target, secret);
    }
    return planned.map((p) => ({ path: p.path, dir: p.dir, executable: p.executable, size_bytes: p.entry.uncompressedSize }));
  } finally {
    zip.close();
  }
}

function statSize(file: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new HakitError('HAKIT_E_SAFE_READ', `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, file);
  }
  if (!st.isFile()) throw new HakitError('HAKIT_E_SAFE_READ', 'not a regular file', file);
  if (st.size > SAFE_LIMITS.package_max_bytes) throw new HakitError('HAKIT_E_SAFE_READ', `${st.size} bytes, limit ${SAFE_LIMITS.package_max_bytes}`, file);
  return st.size;
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true, strictFileNames: false }, (err, zip) => {
      if (err || !zip) reject(new HakitError('HAKIT_E_SAFE_NOT_ZIP', `not a readable zip file (${err?.message ?? 'no zip'})`, path.basename(file)));
      else resolve(zip);
    });
  });
}

function readEntries(zip: yauzl.ZipFile, shown: string): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const out: yauzl.Entry[] = [];
    zip.on('entry', (entry: yauzl.Entry) => {
      out.push(entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve(out));
    zip.on('error', (err: Error) => reject(new HakitError('HAKIT_E_SAFE_NOT_ZIP', `broken zip (${err.message})`, shown)));
    zip.readEntry();
  });
}

interface Planned {
  readonly entry: yauzl.Entry;
  readonly path: string;
  readonly dir: boolean;
  readonly executable: boolean;
}

function plan(entries: readonly yauzl.Entry[], shown: string, packageBytes: number): Planned[] {
  const planned: Planned[] = [];
  const kinds = new Map<string, 'dir' | 'file'>();
  let total = 0;
  for (const entry of entries) {
    const v = checkEntry({
      rawName: Buffer.isBuffer(entry.fileName) ? entry.fileName : Buffer.from(String(entry.fileName), 'utf8'),
      versionMadeBy: entry.versionMadeBy,
      externalFileAttributes: entry.externalFileAttributes,
      generalPurposeBitFlag: entry.generalPurposeBitFlag,
      compressedSize: entry.compressedSize,
      uncompressedSize: entry.uncompressedSize,
    });
    if (!v.ok) throw new HakitError(v.code, v.message, shown);
    const kind = v.dir ? 'dir' : 'file';
    const seen = kinds.get(v.path);
    if (seen !== undefined && (seen === 'file' || kind === 'file')) throw new HakitError('HAKIT_E_SAFE_DUPLICATE', `entry ${JSON.stringify(v.path)} appears twice`, shown);
    // A file may not also be the parent directory of another entry.
    const parts = v.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (kinds.get(parent) === 'file') throw new HakitError('HAKIT_E_SAFE_DUPLICATE', `entry ${JSON.stringify(v.path)} is inside file ${JSON.stringify(parent)}`, shown);
      if (!kinds.has(parent)) kinds.set(parent, 'dir');
    }
    if (kind === 'dir' && seen === 'dir') continue;
    kinds.set(v.path, kind);
    total += entry.uncompressedSize;
    if (total > SAFE_LIMITS.total_max_bytes) throw new HakitError('HAKIT_E_SAFE_TOTAL_TOO_BIG', `unpacks to more than ${SAFE_LIMITS.total_max_bytes} bytes`, shown);
    planned.push({ entry, path: v.path, dir: v.dir, executable: v.executable });
  }
  // Many small entries that each pass the per-entry ratio can still add up to a bomb.
  if (total >= SAFE_LIMITS.ratio_floor_bytes && total > SAFE_LIMITS.ratio_max * Math.max(packageBytes, 1)) {
    throw new HakitError('HAKIT_E_SAFE_RATIO', `the package expands more than ${SAFE_LIMITS.ratio_max} times`, shown);
  }
  return planned;
}

async function extract(zip: yauzl.ZipFile, entry: yauzl.Entry, target: string, mode: number, shown: string): Promise<void> {
  const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) => {
    zip.openReadStream(entry, (err, s) => {
      if (err || !s) reject(new HakitError('HAKIT_E_SAFE_NOT_ZIP', `cannot read entry (${err?.message ?? 'no stream'})`, shown));
      else resolve(s);
    });
  });
  // Belt and braces over yauzl's own size check: never write more than declared.
  let written = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      written += chunk.length;
      if (written > entry.uncompressedSize) done(new Error('entry is larger than declared'));
      else done(null, chunk);
    },
  });
  const out = fs.createWriteStream(target, { flags: 'wx', mode });
  try {
    await pipeline(stream, cap, out);
  } catch (e) {
    throw new HakitError('HAKIT_E_SAFE_NOT_ZIP', `entry ${JSON.stringify(path.basename(target))} cannot be unpacked (${e instanceof Error ? e.message : String(e)})`, shown);
  }
  fs.chmodSync(target, mode);
}
