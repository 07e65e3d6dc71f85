// The operations the mirror ships from PRIM to SECOND. Paths are mount-relative, '/'-rooted
// ('/dir/file'), exactly as FUSE gives them; `checkRelPath` refuses anything that could
// escape the replicated directory on the receiving side.
import { HakitError } from '../../errors/catalogue';

export type MirrorOp =
  | { readonly kind: 'write'; readonly path: string; readonly offset: number; readonly data: Uint8Array }
  | { readonly kind: 'truncate'; readonly path: string; readonly size: number }
  | { readonly kind: 'create'; readonly path: string; readonly mode: number }
  | { readonly kind: 'mkdir'; readonly path: string; readonly mode: number }
  | { readonly kind: 'rmdir'; readonly path: string }
  | { readonly kind: 'unlink'; readonly path: string }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string }
  | { readonly kind: 'symlink'; readonly target: string; readonly path: string }
  | { readonly kind: 'link'; readonly from: string; readonly to: string }
  | { readonly kind: 'chmod'; readonly path: string; readonly mode: number }
  | { readonly kind: 'chown'; readonly path: string; readonly uid: number; readonly gid: number }
  | { readonly kind: 'utimens'; readonly path: string; readonly atime_ms: number; readonly mtime_ms: number }
  | { readonly kind: 'fsync'; readonly path: string }
  /** Re-integration only: remove a path of any type, recursively (extra entries on SECOND). */
  | { readonly kind: 'remove'; readonly path: string };

export type OpKind = MirrorOp['kind'];

/** Longest path accepted in an operation (Linux PATH_MAX). */
export const MAX_PATH_BYTES = 4096;

const NAMESPACE_KINDS: ReadonlySet<OpKind> = new Set(['create', 'mkdir', 'rmdir', 'unlink', 'rename', 'symlink', 'link', 'remove']);

/** Namespace operations change which names exist; they are journaled in order. */
export function isNamespaceOp(op: MirrorOp): boolean {
  return NAMESPACE_KINDS.has(op.kind);
}

/** Paths an operation touches (for exclusion checks and dirty-map bookkeeping). */
export function opPaths(op: MirrorOp): string[] {
  switch (op.kind) {
    case 'rename':
    case 'link':
      return [op.from, op.to];
    default:
      return [op.path];
  }
}

/** Bytes the op occupies in flight (for the in-flight bound). */
export function opWeightBytes(op: MirrorOp): number {
  return op.kind === 'write' ? op.data.length + 64 : 128;
}

export function checkRelPath(path: unknown, where: string): string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > MAX_PATH_BYTES || path.includes('\0')) {
    throw new HakitError('HAKIT_E_MIRROR_BAD_PATH', `path ${JSON.stringify(path)} is not a '/'-rooted path`, where);
  }
  const parts = path.split('/');
  if (parts.some((p) => p === '..' || p === '.')) {
    throw new HakitError('HAKIT_E_MIRROR_BAD_PATH', `path ${JSON.stringify(path)} contains "." or ".."`, where);
  }
  if (path === '/') return path;
  return path.replace(/\/+/g, '/').replace(/\/$/, '');
}

function num(v: unknown, name: string, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || !Number.isSafeInteger(Math.floor(v))) {
    throw new HakitError('HAKIT_E_MIRROR_BAD_OP', `${name} must be a non-negative number, got ${JSON.stringify(v)}`, where);
  }
  return v;
}

/** Validates an op decoded from the wire; returns it with normalised paths or throws. */
export function validateOp(raw: unknown, where: string): MirrorOp {
  if (typeof raw !== 'object' || raw === null) throw new HakitError('HAKIT_E_MIRROR_BAD_OP', 'operation is not an object', where);
  const o = raw as Record<string, unknown>;
  const p = (k: string): string => checkRelPath(o[k], `${where}.${k}`);
  switch (o.kind) {
    case 'write': {
      if (!(o.data instanceof Uint8Array)) throw new HakitError('HAKIT_E_MIRROR_BAD_OP', 'write without data', where);
      return { kind: 'write', path: p('path'), offset: num(o.offset, 'offset', where), data: o.data };
    }
    case 'truncate': return { kind: 'truncate', path: p('path'), size: num(o.size, 'size', where) };
    case 'create': return { kind: 'create', path: p('path'), mode: num(o.mode, 'mode', where) };
    case 'mkdir': return { kind: 'mkdir', path: p('path'), mode: num(o.mode, 'mode', where) };
    case 'rmdir': return { kind: 'rmdir', path: p('path') };
    case 'unlink': return { kind: 'unlink', path: p('path') };
    case 'remove': return { kind: 'remove', path: p('path') };
    case 'fsync': return { kind: 'fsync', path: p('path') };
    case 'rename': return { kind: 'rename', from: p('from'), to: p('to') };
    case 'link': return { kind: 'link', from: p('from'), to: p('to') };
    case 'symlink': {
      if (typeof o.target !== 'string' || o.target.length === 0 || o.target.length > MAX_PATH_BYTES || o.target.includes('\0')) {
        throw new HakitError('HAKIT_E_MIRROR_BAD_OP', 'symlink target must be a non-empty string', where);
      }
      return { kind: 'symlink', target: o.target, path: p('path') };
    }
    case 'chmod': return { kind: 'chmod', path: p('path'), mode: num(o.mode, 'mode', where) };
    case 'chown': return { kind: 'chown', path: p('path'), uid: num(o.uid, 'uid', where), gid: num(o.gid, 'gid', where) };
    case 'utimens': return { kind: 'utimens', path: p('path'), atime_ms: num(o.atime_ms, 'atime_ms', where), mtime_ms: num(o.mtime_ms, 'mtime_ms', where) };
    default:
      throw new HakitError('HAKIT_E_MIRROR_BAD_OP', `unknown operation kind ${JSON.stringify(o.kind)}`, where);
  }
}
