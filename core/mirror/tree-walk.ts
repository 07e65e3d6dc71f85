// Reading a replicated tree from its REAL directory (never from a FUSE mount: the engine
// serves that mount itself and would deadlock): listings, block signatures, content hashes.
// Everything is asynchronous and bounded in concurrency.
import fs from 'node:fs/promises';
import path from 'node:path';
import { BlockSigner, type BlockSignature } from './blocksig/signature';
import { type ExcludeRules, isExcluded } from './pure/exclude';
import { type ManifestEntry } from './pure/tree-diff';
import { loadHasher, xxhashApi } from './hash';

/** Bytes read per call when hashing or signing a file. */
export const READ_CHUNK_BYTES = 1024 * 1024;
/** Files stat'ed in parallel while listing. */
export const WALK_PARALLEL = 32;

export function realPathOf(root: string, rel: string): string {
  return rel === '/' ? root : path.join(root, rel);
}

async function hashFile(file: string): Promise<string> {
  const api = await xxhashApi();
  const h = api.create64();
  const fh = await fs.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return h.digest().toString(16).padStart(16, '0');
}

/** Lists every entry under `root` (excluded subtrees pruned), optionally with content hashes. */
export async function listTree(root: string, rules: ExcludeRules, opts: { hashes?: boolean } = {}): Promise<ManifestEntry[]> {
  const out: ManifestEntry[] = [];
  const dirs: string[] = ['/'];
  while (dirs.length > 0) {
    const rel = dirs.pop()!;
    let names: string[];
    try {
      names = await fs.readdir(realPathOf(root, rel));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed while listing
      throw e;
    }
    for (let i = 0; i < names.length; i += WALK_PARALLEL) {
      const batch = names.slice(i, i + WALK_PARALLEL);
      const entries = await Promise.all(batch.map((n) => statEntry(root, rel === '/' ? `/${n}` : `${rel}/${n}`, rules, opts)));
      for (const e of entries) {
        if (!e) continue;
        out.push(e);
        if (e.type === 'd') dirs.push(e.path);
      }
    }
  }
  return out;
}

/** A hard-linked file's identity, `dev:ino` read exactly (an inode number may pass 2^53, where
 *  a JS number would make two files look alike); undefined if it went away meanwhile. */
async function inodeOf(root: string, rel: string): Promise<string | undefined> {
  try {
    const st = await fs.lstat(realPathOf(root, rel), { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

async function statEntry(root: string, rel: string, rules: ExcludeRules, opts: { hashes?: boolean }): Promise<ManifestEntry | undefined> {
  let st;
  try {
    st = await fs.lstat(realPathOf(root, rel));
  } catch {
    return undefined;
  }
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : undefined;
  if (!type || isExcluded(rules, rel, type === 'd')) return undefined;
  const base = { path: rel, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: type === 'f' ? st.size : 0, mtime_ms: Math.floor(st.mtimeMs), ...(type === 'f' && st.nlink > 1 ? { link: await inodeOf(root, rel) } : {}) } as const;
  if (type === 'l') return { ...base, target: await fs.readlink(realPathOf(root, rel)) };
  if (type === 'f' && opts.hashes) {
    try {
      return { ...base, hash: await hashFile(realPathOf(root, rel)) };
    } catch {
      return undefined;
    }
  }
  return base;
}

/** Block signature of one file; a missing file has the empty signature. A symlink in the
 *  last component is never followed (ELOOP). */
export async function signFile(file: string, block_size_bytes: number, opts: { missing?: boolean } = {}): Promise<BlockSignature> {
  const { h64 } = await loadHasher();
  const signer = new BlockSigner(h64, block_size_bytes);
  if (opts.missing) return signer.finish();
  let fh;
  try {
    fh = await fs.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return signer.finish();
    throw e;
  }
  try {
    const chunk = Math.max(block_size_bytes, Math.floor(READ_CHUNK_BYTES / block_size_bytes) * block_size_bytes);
    const buf = Buffer.allocUnsafe(chunk);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      signer.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return signer.finish();
}

export function encodeSignature(sig: BlockSignature): Buffer {
  const out = Buffer.allocUnsafe(12 + sig.hashes.length * 8);
  out.writeUInt32BE(sig.block_size_bytes, 0);
  out.writeDoubleBE(sig.size_bytes, 4);
  sig.hashes.forEach((h, i) => out.writeBigUInt64BE(h, 12 + i * 8));
  return out;
}

export function decodeSignature(buf: Buffer): BlockSignature {
  if (buf.length < 12 || (buf.length - 12) % 8 !== 0) throw new RangeError('malformed signature');
  const hashes: bigint[] = [];
  for (let at = 12; at < buf.length; at += 8) hashes.push(buf.readBigUInt64BE(at));
  return { block_size_bytes: buf.readUInt32BE(0), size_bytes: buf.readDoubleBE(4), hashes };
}
