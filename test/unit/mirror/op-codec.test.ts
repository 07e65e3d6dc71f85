import fc from 'fast-check';
import { decodeOp, encodeOp } from '../../../core/mirror/pure/op-codec';
import { type MirrorOp, checkRelPath } from '../../../core/mirror/pure/ops';

const ops: MirrorOp[] = [
  { kind: 'write', path: '/a/b', offset: 2 ** 40 + 5, data: Buffer.from('hello') },
  { kind: 'truncate', path: '/a', size: 0 },
  { kind: 'create', path: '/x', mode: 0o644 },
  { kind: 'rename', from: '/a', to: '/b/c' },
  { kind: 'symlink', target: '../t', path: '/l' },
  { kind: 'utimens', path: '/u', atime_ms: 1, mtime_ms: 2 },
  { kind: 'chown', path: '/o', uid: 1000, gid: 1000 },
];

test.each(ops)('$kind round-trips', (op) => {
  const back = decodeOp(encodeOp(op), 't');
  if (op.kind === 'write' && back.kind === 'write') {
    expect(Buffer.from(back.data).equals(Buffer.from(op.data))).toBe(true);
    expect({ ...back, data: null }).toEqual({ ...op, data: null });
  } else {
    expect(back).toEqual(op);
  }
});

test('paths that could escape are refused with a coded error', () => {
  for (const bad of ['a', '/../x', '/a/../../x', '/a/./b', '/a\0b', 7]) {
    expect(() => checkRelPath(bad, 't')).toThrow(expect.objectContaining({ code: 'HAKIT_E_MIRROR_BAD_PATH' }));
  }
  expect(checkRelPath('/a//b/', 't')).toBe('/a/b');
});

test('random bytes never decode into an op that escapes (property)', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
    try {
      const op = decodeOp(Buffer.from(bytes), 'fuzz');
      const paths = op.kind === 'rename' || op.kind === 'link' ? [op.from, op.to] : [op.path];
      for (const p of paths) expect(p.split('/')).not.toContain('..');
    } catch (e) {
      expect(['HAKIT_E_MIRROR_BAD_OP', 'HAKIT_E_MIRROR_BAD_PATH']).toContain((e as { code?: string }).code);
    }
  }), { numRuns: 2000 });
});
