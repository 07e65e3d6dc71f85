// A tiny zip writer for tests: unlike yazl it lets a test write the hostile entries the
// unpacker must refuse (.. paths, symlinks, devices, duplicates, bad names, lying sizes).
import zlib from 'node:zlib';

export interface RawEntry {
  name: string | Buffer;
  data?: Buffer;
  /** Unix mode including file type bits, e.g. 0o100644, 0o120777 (symlink). */
  mode?: number;
  deflate?: boolean;
  flags?: number;
  /** Override the sizes written in the headers. */
  declaredSize?: number;
  declaredCompressed?: number;
}

export function rawZip(entries: readonly RawEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.isBuffer(e.name) ? e.name : Buffer.from(e.name, 'utf8');
    const data = e.data ?? Buffer.alloc(0);
    const body = e.deflate ? zlib.deflateRawSync(data) : data;
    const crc = zlib.crc32(data);
    const size = e.declaredSize ?? data.length;
    const method = e.deflate ? 8 : 0;
    const flags = (e.flags ?? 0) | (Buffer.isBuffer(e.name) ? 0 : 0x800);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(0, 10);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.declaredCompressed ?? body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, body);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(e.declaredCompressed ?? body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export const USERCONFIG_OK = Buffer.from('<safe><service mode="mirror" nodes="node1 node2"><heart><heartbeat name="default"/></heart></service></safe>\n');
export const SCRIPT = Buffer.from('#!/bin/bash\nexit 0\n');

/** The entries of a valid minimal mirror module. */
export function goodEntries(): RawEntry[] {
  return [
    { name: 'conf/userconfig.xml', data: USERCONFIG_OK },
    { name: 'bin/start_prim', data: SCRIPT, mode: 0o100755 },
    { name: 'bin/stop_prim', data: SCRIPT, mode: 0o100755 },
  ];
}
