// What a FUSE session asks of the file system it serves: calls by path (the session keeps
// the node-id-to-path table), each a promise. A rejection's errno (negative, as Node gives
// it, or a positive `code` name) becomes the reply's error; anything else becomes EIO.
import type fs from 'node:fs';
import type { DirEntry } from './pure/protocol';

/** Who made the request (from the request header). */
export interface Caller {
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
}

export type TimeSet = { readonly ms: number } | 'now';

/** SETATTR, decoded: only the fields the kernel asked to change are present. */
export interface AttrChange {
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly size?: number;
  readonly atime?: TimeSet;
  readonly mtime?: TimeSet;
}

export interface FsOps {
  getattr(path: string): Promise<fs.Stats>;
  fgetattr(fd: number): Promise<fs.Stats>;
  /** `path` undefined: the node was unlinked while open; act on `fd` alone, replicate nothing. */
  setattr(path: string | undefined, fd: number | undefined, change: AttrChange): Promise<void>;
  readlink(path: string): Promise<string>;
  mknod(path: string, mode: number, rdev: number, caller: Caller): Promise<void>;
  mkdir(path: string, mode: number, caller: Caller): Promise<void>;
  /** `other`: another name of the same file the session has seen (a hard link), if any. */
  unlink(path: string, other?: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  symlink(target: string, path: string, caller: Caller): Promise<void>;
  /** `otherOfTo`: another name of the file at `to` the session has seen, if any. */
  rename(from: string, to: string, flags: number, otherOfTo?: string): Promise<void>;
  link(from: string, to: string): Promise<void>;
  /** Returns a local descriptor, handed back to read/write/fsync/release. */
  open(path: string, flags: number): Promise<number>;
  create(path: string, flags: number, mode: number, caller: Caller): Promise<number>;
  /** Reads into `buf` (of the requested length); resolves with the bytes read. */
  read(fd: number, buf: Buffer, pos: number): Promise<number>;
  /** `data` is the request buffer itself: kept until this promise and every promise given
   *  to `hold` have settled (a write returns before SECOND has its bytes). `flags`: the
   *  descriptor's flags as the kernel sends them with the write (O_DSYNC, O_SYNC). */
  write(path: string | undefined, fd: number, data: Buffer, pos: number, flags: number, hold: (until: Promise<void>) => void): Promise<number>;
  fsync(path: string | undefined, fd: number, datasync: boolean): Promise<void>;
  release(fd: number): Promise<void>;
  /** Makes the directory's entries durable (on PRIM, and on SECOND as an fsync covers). */
  fsyncdir(path: string): Promise<void>;
  /** syncfs(2) on the mount (FUSE_SYNCFS, when the kernel sends it). */
  syncfs?(): Promise<void>;
  /** Entries other than . and ..; names that are not UTF-8 are left out (see protocol.ts). */
  readdir(path: string): Promise<DirEntry[]>;
  statfs(path: string): Promise<fs.StatsFs>;
  access(path: string, mask: number): Promise<void>;
}
