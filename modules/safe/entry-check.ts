// Decides, from zip metadata alone, whether an entry may be unpacked. Nothing is written
// before every entry of the package passed.
import type { ModuleErrorCode } from '../../core/errors/codes/module';
import { SAFE_LIMITS } from './limits';

export interface EntryMeta {
  readonly rawName: Buffer;
  readonly versionMadeBy: number;
  readonly externalFileAttributes: number;
  readonly generalPurposeBitFlag: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
}

export type EntryVerdict =
  | { readonly ok: true; readonly path: string; readonly dir: boolean; readonly executable: boolean }
  | { readonly ok: false; readonly code: ModuleErrorCode; readonly message: string };

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const MADE_BY_UNIX = 3;
const FLAG_ENCRYPTED = 0x1;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function checkEntry(e: EntryMeta): EntryVerdict {
  const bad = (code: ModuleErrorCode, message: string): EntryVerdict => ({ ok: false, code, message });
  let name: string;
  try {
    name = utf8.decode(e.rawName);
  } catch {
    const shownBytes = [...e.rawName].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
    return bad('HAKIT_E_SAFE_NAME', `entry name "${shownBytes}" is not valid UTF-8`);
  }
  const shown = JSON.stringify(name);
  if (e.rawName.length > SAFE_LIMITS.name_max_bytes) return bad('HAKIT_E_SAFE_NAME', `entry name longer than ${SAFE_LIMITS.name_max_bytes} bytes`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return bad('HAKIT_E_SAFE_NAME', `entry name ${shown} has control characters`);
  if (name.startsWith('/') || name.includes('\\') || /^[A-Za-z]:/.test(name)) return bad('HAKIT_E_SAFE_ABSOLUTE', `entry ${shown} is absolute or uses \\ or a drive letter`);
  const segments = name.split('/');
  if (segments.includes('..')) return bad('HAKIT_E_SAFE_DOTDOT', `entry ${shown} contains ..`);
  if (e.generalPurposeBitFlag & FLAG_ENCRYPTED) return bad('HAKIT_E_SAFE_ENCRYPTED', `entry ${shown} is encrypted`);
  const unixMode = (e.versionMadeBy >> 8) === MADE_BY_UNIX ? e.externalFileAttributes >>> 16 : 0;
  const type = unixMode & S_IFMT;
  if (type === S_IFLNK) return bad('HAKIT_E_SAFE_SYMLINK', `entry ${shown} is a symbolic link`);
  if (type !== 0 && type !== S_IFDIR && type !== S_IFREG) return bad('HAKIT_E_SAFE_SPECIAL', `entry ${shown} is a device, fifo or socket (mode ${type.toString(8)})`);
  const dir = name.endsWith('/') || type === S_IFDIR;
  const clean = segments.filter((s) => s !== '' && s !== '.').join('/');
  if (clean === '') return bad('HAKIT_E_SAFE_NAME', `entry ${shown} has an empty path`);
  if (e.uncompressedSize > SAFE_LIMITS.entry_max_bytes) return bad('HAKIT_E_SAFE_ENTRY_TOO_BIG', `entry ${shown} unpacks to ${e.uncompressedSize} bytes, limit ${SAFE_LIMITS.entry_max_bytes}`);
  if (e.uncompressedSize >= SAFE_LIMITS.ratio_floor_bytes && e.uncompressedSize > SAFE_LIMITS.ratio_max * Math.max(e.compressedSize, 1)) {
    return bad('HAKIT_E_SAFE_RATIO', `entry ${shown} expands ${Math.round(e.uncompressedSize / Math.max(e.compressedSize, 1))} times, limit ${SAFE_LIMITS.ratio_max}`);
  }
  return { ok: true, path: clean, dir, executable: (unixMode & 0o111) !== 0 };
}
