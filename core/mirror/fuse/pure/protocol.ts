// The FUSE kernel protocol (linux/fuse.h, 7.x), as far as a passthrough needs it: request
// decoding and reply encoding, nothing else. Layouts are those of protocol minor 31, which
// we negotiate (the kernel shapes its requests to the minor we answer with); kernels older
// than MIN_KERNEL_MINOR are refused at INIT. All integers are little-endian (x86-64/arm64).

export const FUSE_KERNEL_MAJOR = 7;
export const FUSE_OUR_MINOR = 31;
/** 7.26 = Linux 4.18: everything below has the layouts used here (create_in with umask,
 *  64-byte init_out, 40-byte write_in/read_in). */
export const MIN_KERNEL_MINOR = 26;
export const ROOT_NODE = 1;
export const IN_HEADER_BYTES = 40;
export const OUT_HEADER_BYTES = 16;
/** Smallest read buffer the kernel accepts; requests other than WRITE fit in it. */
export const MIN_READ_BUFFER_BYTES = 8192;
/** Header + write_in before a WRITE's data (the kernel's check is max_write + this). */
export const WRITE_OVERHEAD_BYTES = IN_HEADER_BYTES + 40;

export const Op = {
  LOOKUP: 1, FORGET: 2, GETATTR: 3, SETATTR: 4, READLINK: 5, SYMLINK: 6, MKNOD: 8, MKDIR: 9,
  UNLINK: 10, RMDIR: 11, RENAME: 12, LINK: 13, OPEN: 14, READ: 15, WRITE: 16, STATFS: 17,
  RELEASE: 18, FSYNC: 20, SETXATTR: 21, GETXATTR: 22, LISTXATTR: 23, REMOVEXATTR: 24,
  FLUSH: 25, INIT: 26, OPENDIR: 27, READDIR: 28, RELEASEDIR: 29, FSYNCDIR: 30, ACCESS: 34,
  CREATE: 35, INTERRUPT: 36, DESTROY: 38, BATCH_FORGET: 42, RENAME2: 45, SYNCFS: 50,
} as const;

/** INIT flags we use (the reply echoes only those the kernel offered). */
export const InitFlag = {
  ASYNC_READ: 1 << 0,
  ATOMIC_O_TRUNC: 1 << 3,
  BIG_WRITES: 1 << 5,
  AUTO_INVAL_DATA: 1 << 12,
  /** The kernel keeps written pages dirty in the mount's cache and writes them to us in
   *  the background or at fsync/close (docs/mirror.md "Writeback cache"). */
  WRITEBACK_CACHE: 1 << 16,
  MAX_PAGES: 1 << 22,
  INIT_EXT: 1 << 30,
} as const;

/** flags2 bits (bit 32 + n of the 64-bit flag space). DIRECT_IO_ALLOW_MMAP (7.39, Linux 6.6):
 *  shared mmap of a file opened with FOPEN_DIRECT_IO works (ENODEV otherwise). */
export const InitFlag2 = { DIRECT_IO_ALLOW_MMAP: 1 << 4 } as const;

/** SETATTR `valid` bits. */
export const Fattr = {
  MODE: 1 << 0, UID: 1 << 1, GID: 1 << 2, SIZE: 1 << 3, ATIME: 1 << 4, MTIME: 1 << 5,
  FH: 1 << 6, ATIME_NOW: 1 << 7, MTIME_NOW: 1 << 8,
} as const;

export const RENAME_NOREPLACE = 1;
export const FSYNC_FDATASYNC = 1;
export const GETATTR_FH = 1;

export interface RequestHeader {
  readonly len: number;
  readonly opcode: number;
  readonly unique: bigint;
  readonly nodeid: number;
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
}

export function decodeHeader(b: Buffer): RequestHeader {
  return {
    len: b.readUInt32LE(0),
    opcode: b.readUInt32LE(4),
    unique: b.readBigUInt64LE(8),
    nodeid: Number(b.readBigUInt64LE(16)),
    uid: b.readUInt32LE(24),
    gid: b.readUInt32LE(28),
    pid: b.readUInt32LE(32),
  };
}

/** A name that is not UTF-8: paths travel as strings (ops, journal, listings), and two such
 *  names would decode to the same string; they are refused (EILSEQ) instead of aliased. */
export class IllegalNameError extends Error {}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Whether `bytes` decode as UTF-8 without loss. */
export function isUtf8(bytes: Uint8Array): boolean {
  try {
    STRICT_UTF8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** A NUL-terminated name at `off`; RangeError when it is not terminated in the request,
 *  IllegalNameError when it is not UTF-8. */
export function cstring(b: Buffer, off: number, end: number): { value: string; next: number } {
  const z = b.indexOf(0, off);
  if (z < 0 || z >= end) throw new RangeError('name not NUL-terminated');
  const bytes = b.subarray(off, z);
  if (!isUtf8(bytes)) throw new IllegalNameError('name is not UTF-8');
  return { value: bytes.toString('utf8'), next: z + 1 };
}

export function u64(b: Buffer, off: number): number {
  return Number(b.readBigUInt64LE(off));
}

// ---- replies --------------------------------------------------------------------------

export function outHeader(unique: bigint, error: number, body_bytes: number): Buffer {
  const h = Buffer.allocUnsafe(OUT_HEADER_BYTES);
  h.writeUInt32LE(OUT_HEADER_BYTES + body_bytes, 0);
  h.writeInt32LE(error, 4);
  h.writeBigUInt64LE(unique, 8);
  return h;
}

/** What a passthrough knows of a file: a subset of fs.Stats, in plain numbers. */
export interface Attr {
  readonly ino: number;
  readonly size: number;
  readonly blocks: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev: number;
  readonly blksize: number;
}

export const ATTR_BYTES = 88;
export const ENTRY_OUT_BYTES = 40 + ATTR_BYTES;
export const ATTR_OUT_BYTES = 16 + ATTR_BYTES;
export const OPEN_OUT_BYTES = 16;

/** Granularity of the times we report and set (init_out.time_gran). */
export const TIME_GRAN_NS = 1000;

function writeTime(b: Buffer, ms: number, secOff: number, nsecOff: number): void {
  const sec = Math.floor(ms / 1000);
  const us = Math.min(999_999, Math.max(0, Math.round((ms - sec * 1000) * 1000)));
  b.writeBigInt64LE(BigInt(sec), secOff);
  b.writeUInt32LE(us * TIME_GRAN_NS, nsecOff);
}

export function writeAttr(b: Buffer, off: number, a: Attr): void {
  b.writeBigUInt64LE(BigInt(a.ino), off);
  b.writeBigUInt64LE(BigInt(a.size), off + 8);
  b.writeBigUInt64LE(BigInt(a.blocks), off + 16);
  writeTime(b, a.atimeMs, off + 24, off + 48);
  writeTime(b, a.mtimeMs, off + 32, off + 52);
  writeTime(b, a.ctimeMs, off + 40, off + 56);
  b.writeUInt32LE(a.mode >>> 0, off + 60);
  b.writeUInt32LE(a.nlink >>> 0, off + 64);
  b.writeUInt32LE(a.uid >>> 0, off + 68);
  b.writeUInt32LE(a.gid >>> 0, off + 72);
  b.writeUInt32LE(a.rdev >>> 0, off + 76);
  b.writeUInt32LE(a.blksize >>> 0, off + 80);
  b.writeUInt32LE(0, off + 84);
}

/** Seconds and nanoseconds of a validity time (entry_valid, attr_valid). */
function writeValid(b: Buffer, ms: number, secOff: number, nsecOff: number): void {
  b.writeBigUInt64LE(BigInt(Math.floor(ms / 1000)), secOff);
  b.writeUInt32LE((ms % 1000) * 1_000_000, nsecOff);
}

export function entryOut(nodeid: number, a: Attr, valid_ms: number): Buffer {
  const b = Buffer.alloc(ENTRY_OUT_BYTES);
  b.writeBigUInt64LE(BigInt(nodeid), 0);
  b.writeBigUInt64LE(0n, 8); // generation: node ids are never reused within a mount
  writeValid(b, valid_ms, 16, 32);
  writeValid(b, valid_ms, 24, 36);
  writeAttr(b, 40, a);
  return b;
}

export function attrOut(a: Attr, valid_ms: number): Buffer {
  const b = Buffer.alloc(ATTR_OUT_BYTES);
  writeValid(b, valid_ms, 0, 8);
  writeAttr(b, 16, a);
  return b;
}

/** open_out flags. DIRECT_IO: the kernel sends this descriptor's reads and writes to us
 *  straight from the caller's pages, bypassing the mount's own page cache. */
export const FOPEN_DIRECT_IO = 1 << 0;
/** open_out flags. KEEP_CACHE: the kernel keeps the file's cached pages at this open
 *  (see pure/cache-modes.ts for when they are known fresh). */
export const FOPEN_KEEP_CACHE = 1 << 1;

export function openOut(fh: number, open_flags = 0): Buffer {
  const b = Buffer.alloc(OPEN_OUT_BYTES);
  b.writeBigUInt64LE(BigInt(fh), 0);
  b.writeUInt32LE(open_flags, 8);
  return b;
}

export function writeOut(size: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(size, 0);
  return b;
}

export interface StatfsInfo {
  readonly blocks: number; readonly bfree: number; readonly bavail: number;
  readonly files: number; readonly ffree: number; readonly bsize: number;
}

export function statfsOut(s: StatfsInfo): Buffer {
  const b = Buffer.alloc(80);
  b.writeBigUInt64LE(BigInt(s.blocks), 0);
  b.writeBigUInt64LE(BigInt(s.bfree), 8);
  b.writeBigUInt64LE(BigInt(s.bavail), 16);
  b.writeBigUInt64LE(BigInt(s.files), 24);
  b.writeBigUInt64LE(BigInt(s.ffree), 32);
  b.writeUInt32LE(s.bsize, 40);
  b.writeUInt32LE(255, 44); // namelen
  b.writeUInt32LE(s.bsize, 48); // frsize
  return b;
}

export interface InitReply {
  readonly minor: number;
  readonly flags: number;
  readonly flags2: number;
  readonly max_write: number;
  readonly max_pages: number;
  /** Write-only descriptors may use direct I/O (only when shared mmap still works with it). */
  readonly direct_writes: boolean;
  /** The kernel caches writes (WRITEBACK_CACHE granted). */
  readonly writeback: boolean;
}

/** Negotiates INIT: undefined when the kernel is too old for the layouts used here. */
export function negotiateInit(kernel_major: number, kernel_minor: number, kernel_flags: number, want_max_write: number, page_bytes: number, kernel_flags2 = 0, want_writeback = false): InitReply | undefined {
  if (kernel_major !== FUSE_KERNEL_MAJOR || kernel_minor < MIN_KERNEL_MINOR) return undefined;
  // Not AUTO_INVAL_DATA: it is for files changed behind the kernel's back, and here every
  // change comes through the mount. With it, our own write changed the mtime, and the next
  // attribute refresh (a database's lseek to the end) dropped every cached page of the file.
  const wanted = InitFlag.ASYNC_READ | InitFlag.ATOMIC_O_TRUNC | InitFlag.BIG_WRITES | InitFlag.MAX_PAGES |
    (want_writeback ? InitFlag.WRITEBACK_CACHE : 0);
  const ext = (kernel_flags & InitFlag.INIT_EXT) !== 0;
  const flags2 = ext ? (kernel_flags2 & InitFlag2.DIRECT_IO_ALLOW_MMAP) >>> 0 : 0;
  const flags = ((kernel_flags & wanted) | (ext ? InitFlag.INIT_EXT : 0)) >>> 0;
  // Without MAX_PAGES the kernel caps a request at 32 pages whatever max_write says.
  const max_write = flags & InitFlag.MAX_PAGES ? want_max_write : Math.min(want_max_write, 32 * page_bytes);
  return { minor: Math.min(kernel_minor, FUSE_OUR_MINOR), flags, flags2, max_write, max_pages: Math.ceil(max_write / page_bytes), direct_writes: flags2 !== 0,
    writeback: (flags & InitFlag.WRITEBACK_CACHE) !== 0 };
}

export function initOut(r: InitReply, max_readahead: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32LE(FUSE_KERNEL_MAJOR, 0);
  b.writeUInt32LE(r.minor, 4);
  b.writeUInt32LE(max_readahead, 8);
  b.writeUInt32LE(r.flags, 12);
  b.writeUInt16LE(16, 16); // max_background
  b.writeUInt16LE(12, 18); // congestion_threshold
  b.writeUInt32LE(r.max_write, 20);
  // Times pass through Node as float milliseconds/seconds: microseconds survive, not ns.
  b.writeUInt32LE(TIME_GRAN_NS, 24);
  b.writeUInt16LE(r.max_pages, 28);
  b.writeUInt32LE(r.flags2, 32);
  return b;
}

/** d_type values of a directory entry. */
export const DirType = { UNKNOWN: 0, FIFO: 1, CHR: 2, DIR: 4, BLK: 6, REG: 8, LNK: 10, SOCK: 12 } as const;
/** libfuse's "inode unknown" for directory entries that were not stat'ed. */
export const UNKNOWN_INO = 0xffffffff;

export interface DirEntry { readonly name: string; readonly type: number }

/**
 * Packs entries[start..] as fuse_dirent records into at most `size_bytes`; each record's
 * `off` is the index of the next entry, which the kernel hands back to continue.
 */
export function packDirents(entries: readonly DirEntry[], start: number, size_bytes: number): Buffer {
  const parts: Buffer[] = [];
  let used = 0;
  for (let i = start; i < entries.length; i++) {
    const e = entries[i]!;
    const name = Buffer.from(e.name, 'utf8');
    const rec = (24 + name.length + 7) & ~7;
    if (used + rec > size_bytes) break;
    const b = Buffer.alloc(rec);
    b.writeBigUInt64LE(BigInt(UNKNOWN_INO), 0);
    b.writeBigUInt64LE(BigInt(i + 1), 8);
    b.writeUInt32LE(name.length, 16);
    b.writeUInt32LE(e.type, 20);
    name.copy(b, 24);
    parts.push(b);
    used += rec;
  }
  return Buffer.concat(parts, used);
}
