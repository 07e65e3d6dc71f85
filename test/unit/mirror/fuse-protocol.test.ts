// The pure halves of the FUSE session: protocol encoding and the node-id/path table.
import fc from 'fast-check';
import { decodeHeader, cstring, entryOut, attrOut, packDirents, negotiateInit, initOut, InitFlag, InitFlag2, IllegalNameError, ENTRY_OUT_BYTES, ATTR_OUT_BYTES, type Attr } from '../../../core/mirror/fuse/pure/protocol';
import { NodeTable } from '../../../core/mirror/fuse/pure/node-table';
import { CacheModes } from '../../../core/mirror/fuse/pure/cache-modes';

const attr: Attr = { ino: 77, size: 5, blocks: 8, atimeMs: 1_500_000_000_123.5, mtimeMs: 2000.5, ctimeMs: 0, mode: 0o100644, nlink: 1, uid: 65534, gid: 65534, rdev: 0, blksize: 4096 };

test('request header fields are read where linux/fuse.h puts them', () => {
  const b = Buffer.alloc(40);
  b.writeUInt32LE(52, 0); b.writeUInt32LE(16, 4); b.writeBigUInt64LE(99n, 8); b.writeBigUInt64LE(5n, 16);
  b.writeUInt32LE(1000, 24); b.writeUInt32LE(100, 28); b.writeUInt32LE(4242, 32);
  expect(decodeHeader(b)).toEqual({ len: 52, opcode: 16, unique: 99n, nodeid: 5, uid: 1000, gid: 100, pid: 4242 });
});

test('a name without its NUL inside the request is refused', () => {
  const b = Buffer.from('abc\0def', 'utf8');
  expect(cstring(b, 0, b.length)).toEqual({ value: 'abc', next: 4 });
  expect(() => cstring(b, 4, b.length)).toThrow(RangeError);
  expect(() => cstring(b, 0, 3)).toThrow(RangeError);
});

test('entry and attr replies carry node, validity and the attributes with nanoseconds', () => {
  const e = entryOut(12, attr, 1500);
  expect(e.length).toBe(ENTRY_OUT_BYTES);
  expect(e.readBigUInt64LE(0)).toBe(12n);
  expect(e.readBigUInt64LE(16)).toBe(1n); // entry_valid seconds
  expect(e.readUInt32LE(32)).toBe(500_000_000);
  expect(e.readBigUInt64LE(40)).toBe(77n); // attr.ino
  expect(e.readBigInt64LE(40 + 24)).toBe(1_500_000_000n); // atime seconds
  expect(e.readUInt32LE(40 + 48)).toBe(123_500_000); // atime nanoseconds (microsecond precision)
  expect(e.readUInt32LE(40 + 60)).toBe(0o100644);
  expect(e.readUInt32LE(40 + 68)).toBe(65534);
  const a = attrOut(attr, 1000);
  expect(a.length).toBe(ATTR_OUT_BYTES);
  expect(a.readBigUInt64LE(16 + 8)).toBe(5n); // size
});

test('INIT: 1 MiB requests only when the kernel offers MAX_PAGES; direct writes only with mmap support; old kernels refused', () => {
  const all = 0x73fffffb; // what kernel 6.18 offers (INIT_EXT included)
  const r = negotiateInit(7, 45, all, 1 << 20, 4096, 0x1f)!;
  expect(r).toMatchObject({ minor: 31, max_write: 1 << 20, max_pages: 256, flags2: InitFlag2.DIRECT_IO_ALLOW_MMAP, direct_writes: true });
  expect(r.flags).toBe((InitFlag.ASYNC_READ | InitFlag.ATOMIC_O_TRUNC | InitFlag.BIG_WRITES | InitFlag.MAX_PAGES | InitFlag.INIT_EXT) >>> 0);
  expect(negotiateInit(7, 38, all, 1 << 20, 4096, 0x0f)).toMatchObject({ direct_writes: false, flags2: 0 });
  expect(negotiateInit(7, 27, all & ~InitFlag.MAX_PAGES & ~InitFlag.INIT_EXT, 1 << 20, 4096)).toMatchObject({ minor: 27, max_write: 128 * 1024, max_pages: 32, direct_writes: false });
  expect(r.writeback).toBe(false); // the writeback cache only when the module asks for it
  const wb = negotiateInit(7, 45, all, 1 << 20, 4096, 0x1f, true)!;
  expect(wb.writeback).toBe(true);
  expect(wb.flags & InitFlag.WRITEBACK_CACHE).toBe(InitFlag.WRITEBACK_CACHE);
  expect(negotiateInit(7, 45, all & ~InitFlag.WRITEBACK_CACHE, 1 << 20, 4096, 0x1f, true)!.writeback).toBe(false);
  expect(negotiateInit(7, 25, all, 1 << 20, 4096)).toBeUndefined();
  expect(negotiateInit(8, 45, all, 1 << 20, 4096)).toBeUndefined();
  const out = initOut(r, 131072);
  expect(out.readUInt32LE(20)).toBe(1 << 20);
  expect(out.readUInt32LE(24)).toBe(1000); // time_gran: microseconds survive, not ns
  expect(out.readUInt16LE(28)).toBe(256);
  expect(out.readUInt32LE(32)).toBe(InitFlag2.DIRECT_IO_ALLOW_MMAP);
});

test('names must be UTF-8 (two other names would alias one string)', () => {
  const b = Buffer.from([0x61, 0xff, 0x00]);
  expect(() => cstring(b, 0, b.length)).toThrow(IllegalNameError);
  expect(cstring(Buffer.from('é\0', 'utf8'), 0, 3).value).toBe('é');
});

test('directory entries resume at the offset the kernel hands back, none lost or repeated', () => {
  fc.assert(fc.property(fc.array(fc.string({ minLength: 1, maxLength: 80 }).filter((s) => !s.includes('/') && !s.includes('\0')), { maxLength: 300 }), fc.integer({ min: 120, max: 5000 }), (names, page) => {
    const entries = names.map((name) => ({ name, type: 8 }));
    const seen: string[] = [];
    let off = 0;
    for (let guard = 0; guard < 10_000; guard++) {
      const b = packDirents(entries, off, page);
      if (b.length === 0) break;
      for (let p = 0; p < b.length;) {
        const len = b.readUInt32LE(p + 16);
        seen.push(b.toString('utf8', p + 24, p + 24 + len));
        off = Number(b.readBigUInt64LE(p + 8));
        p += (24 + len + 7) & ~7;
      }
    }
    expect(seen).toEqual(names);
  }), { numRuns: 200 });
});

describe('NodeTable', () => {
  test('lookups count references; the last forget frees the id', () => {
    const t = new NodeTable();
    const a = t.remember('/a');
    expect(t.remember('/a')).toBe(a);
    t.forget(a, 1);
    expect(t.pathOf(a)).toBe('/a');
    t.forget(a, 1);
    expect(t.pathOf(a)).toBeUndefined();
    expect(t.remember('/a')).not.toBe(a); // ids are never reused
    t.forget(1, 100);
    expect(t.pathOf(1)).toBe('/');
  });

  test('a rename moves the subtree and detaches what it replaced', () => {
    const t = new NodeTable();
    const d = t.remember('/d');
    const f = t.remember('/d/e/f');
    const victim = t.remember('/x');
    const victimChild = t.remember('/x/y');
    t.rename('/d', '/x');
    expect(t.pathOf(d)).toBe('/x');
    expect(t.pathOf(f)).toBe('/x/e/f');
    expect(t.pathOf(victim)).toBeUndefined();
    expect(t.pathOf(victimChild)).toBeUndefined();
    expect(t.remember('/x/e/f')).toBe(f);
    // '/dd' is not under '/d'
    const dd = t.remember('/xx');
    t.rename('/x', '/z');
    expect(t.pathOf(dd)).toBe('/xx');
  });

  test('unlink detaches; a new file at the same name gets a new id', () => {
    const t = new NodeTable();
    const a = t.remember('/a');
    t.detach('/a');
    expect(t.pathOf(a)).toBeUndefined();
    const b = t.remember('/a');
    expect(b).not.toBe(a);
    t.forget(a, 1); // forgetting the detached node leaves the new one alone
    expect(t.pathOf(b)).toBe('/a');
  });

  test('random renames, unlinks and forgets keep every path unique and consistent', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom('remember', 'rename', 'detach', 'forget'), fc.constantFrom('/a', '/b', '/a/c', '/b/c', '/a/c/d'), fc.constantFrom('/a', '/b', '/e', '/b/f')), { maxLength: 60 }), (steps) => {
      const t = new NodeTable();
      const ids: number[] = [];
      for (const [kind, p, q] of steps) {
        if (kind === 'remember') ids.push(t.remember(p));
        else if (kind === 'rename' && !q.startsWith(`${p}/`)) t.rename(p, q);
        else if (kind === 'detach') t.detach(p);
        else if (kind === 'forget' && ids.length > 0) t.forget(ids[ids.length - 1]!, 1);
      }
      const paths = ids.map((i) => t.pathOf(i)).filter((x): x is string => x !== undefined);
      const byPath = new Map<string, number>();
      for (const i of new Set(ids)) {
        const p = t.pathOf(i);
        if (p === undefined) continue;
        expect(byPath.has(p)).toBe(false);
        byPath.set(p, i);
        expect(t.remember(p)).toBe(i);
      }
      expect(paths.length).toBeGreaterThanOrEqual(0);
    }), { numRuns: 300 });
  });
});

describe('CacheModes', () => {
  test('a write-only descriptor is direct unless a cached one is open; any open is direct while a direct one is', () => {
    const m = new CacheModes();
    expect(m.open(5, 10, true).direct).toBe(true); // lone writer: direct
    expect(m.open(5, 11, false).direct).toBe(true); // reader while a direct writer is open: direct too
    m.release(10);
    m.release(11);
    expect(m.open(5, 12, false).direct).toBe(false); // reader alone: cached
    expect(m.open(5, 13, true).direct).toBe(false); // writer while a cached reader is open: cached
    expect(m.open(6, 14, true).direct).toBe(true); // other node unaffected
    m.release(12);
    m.release(13);
    m.release(99); // unknown handle: nothing
    expect(m.open(5, 12, true).direct).toBe(true); // descriptor numbers are reused after release
    expect(m.openHandles).toBe(2);
  });

  test('a cached open keeps the pages of a node known fresh: not the first one, nor after a direct open', () => {
    const m = new CacheModes();
    expect(m.open(5, 10, false)).toEqual({ direct: false, keep_cache: false }); // first open in this session drops them
    expect(m.open(5, 11, false)).toEqual({ direct: false, keep_cache: true });
    m.release(10);
    m.release(11);
    expect(m.open(5, 12, false).keep_cache).toBe(true); // fresh across opens and closes
    m.release(12);
    expect(m.open(5, 13, true)).toEqual({ direct: true, keep_cache: false }); // direct writes bypass the pages
    m.release(13);
    expect(m.open(5, 14, false).keep_cache).toBe(false); // so the next cached open drops them
    expect(m.open(5, 15, false).keep_cache).toBe(true);
    m.release(14);
    m.release(15);
    m.forgetNode(5); // the kernel forgot the node: a new inode starts empty, never kept
    expect(m.open(5, 16, false).keep_cache).toBe(false);
    m.release(16);
    m.adopt(7, 20, true); // a predecessor's direct handle
    expect(m.open(7, 21, false).direct).toBe(true);
    m.release(20);
    m.release(21);
    expect(m.open(7, 22, false)).toEqual({ direct: false, keep_cache: false });
  });
});
