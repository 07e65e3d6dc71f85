// Wire form of one operation. Writes are binary (tag, path, offset, raw bytes) because they
// are nearly all of the traffic; every other op is a small JSON object. Decoding validates.
import { HakitError } from '../../errors/catalogue';
import { type MirrorOp, validateOp } from './ops';

const TAG_WRITE = 1;
const TAG_JSON = 2;
const WRITE_HEADER_BYTES = 1 + 2 + 8;

export function encodeOp(op: MirrorOp): Buffer {
  return Buffer.concat(encodeOpParts(op));
}

/** The op as buffers to send back to back; a write's data is not copied. */
export function encodeOpParts(op: MirrorOp): Buffer[] {
  if (op.kind === 'write') {
    const path = Buffer.from(op.path, 'utf8');
    const head = Buffer.allocUnsafe(WRITE_HEADER_BYTES + path.length);
    head.writeUInt8(TAG_WRITE, 0);
    head.writeUInt16BE(path.length, 1);
    head.writeDoubleBE(op.offset, 3);
    path.copy(head, WRITE_HEADER_BYTES);
    const data = Buffer.isBuffer(op.data) ? op.data : Buffer.from(op.data.buffer, op.data.byteOffset, op.data.length);
    return [head, data];
  }
  return [Buffer.from([TAG_JSON]), Buffer.from(JSON.stringify(op), 'utf8')];
}

export function decodeOp(buf: Buffer, where: string): MirrorOp {
  if (buf.length < 1) throw new HakitError('HAKIT_E_MIRROR_BAD_OP', 'empty operation', where);
  const tag = buf.readUInt8(0);
  if (tag === TAG_WRITE) {
    if (buf.length < WRITE_HEADER_BYTES) throw new HakitError('HAKIT_E_MIRROR_BAD_OP', 'short write header', where);
    const pathLen = buf.readUInt16BE(1);
    const offset = buf.readDoubleBE(3);
    if (buf.length < WRITE_HEADER_BYTES + pathLen) throw new HakitError('HAKIT_E_MIRROR_BAD_OP', 'short write path', where);
    const path = buf.toString('utf8', WRITE_HEADER_BYTES, WRITE_HEADER_BYTES + pathLen);
    const data = buf.subarray(WRITE_HEADER_BYTES + pathLen);
    return validateOp({ kind: 'write', path, offset, data }, where);
  }
  if (tag === TAG_JSON) {
    let raw: unknown;
    try {
      raw = JSON.parse(buf.toString('utf8', 1));
    } catch {
      throw new HakitError('HAKIT_E_MIRROR_BAD_OP', 'operation is not valid JSON', where);
    }
    if (typeof raw === 'object' && raw !== null && (raw as { kind?: unknown }).kind === 'write') {
      throw new HakitError('HAKIT_E_MIRROR_BAD_OP', 'write must use the binary form', where);
    }
    return validateOp(raw, where);
  }
  throw new HakitError('HAKIT_E_MIRROR_BAD_OP', `unknown operation tag ${tag}`, where);
}
