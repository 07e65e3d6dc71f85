import { PendingSet } from '../../../core/mirror/pure/pending';
import { routeOp, type RouteView, type LinkPhase } from '../../../core/mirror/pure/route';
import { compileExcludes, NO_EXCLUDES } from '../../../core/mirror/pure/exclude';
import { type MirrorOp } from '../../../core/mirror/pure/ops';

const w = (path: string, offset: number, len: number): MirrorOp => ({ kind: 'write', path, offset, data: new Uint8Array(len) });
const view = (phase: LinkPhase, pending = new PendingSet(), busy: string[] = [], rules = NO_EXCLUDES): RouteView => ({ phase, pending, busy: new Set(busy), rules });

test('ALONE: writes become dirty ranges, namespace ops are kept in order and move dirty data', () => {
  const p = new PendingSet();
  p.recordUnshipped(w('/a', 0, 10));
  p.recordUnshipped({ kind: 'rename', from: '/a', to: '/b' });
  p.recordUnshipped(w('/c/d', 8192, 1));
  p.recordUnshipped({ kind: 'rename', from: '/c', to: '/e' });
  p.recordUnshipped({ kind: 'truncate', path: '/e/d', size: 8200 });
  const s = p.snapshot();
  expect(s.ops.map((o) => o.kind)).toEqual(['rename', 'rename', 'truncate']);
  expect(s.dirty).toEqual([{ path: '/b', ranges: [{ start: 0, end: 4096 }] }, { path: '/e/d', ranges: [{ start: 8192, end: 8200 }] }]);
  p.recordUnshipped({ kind: 'unlink', path: '/b' });
  expect(p.hasDirty('/b')).toBe(false);
});

test('routing per phase', () => {
  expect(routeOp(view('alone'), w('/a', 0, 1)).to).toBe('record');
  expect(routeOp(view('alone'), { kind: 'fsync', path: '/a' }).to).toBe('skip');
  expect(routeOp(view('in_sync'), w('/a', 0, 1)).to).toBe('live');
  expect(routeOp(view('walking'), { kind: 'mkdir', path: '/d', mode: 0o755 }).to).toBe('wait');
  expect(routeOp(view('walking'), w('/a', 0, 1)).to).toBe('local');
  const p = new PendingSet();
  p.markDirty('/a', 4096, 8192);
  expect(routeOp(view('syncing', p), w('/a', 0, 100)).to).toBe('live');       // already-synced region
  expect(routeOp(view('syncing', p), w('/a', 5000, 100)).to).toBe('record');  // pending region
  expect(routeOp(view('syncing', p, ['/a']), w('/a', 0, 100)).to).toBe('wait'); // being re-integrated
  expect(routeOp(view('syncing', p, ['/a']), { kind: 'rename', from: '/x', to: '/y' }).to).toBe('live');
});

test('notreplicated: excluded paths are skipped, renames across the boundary import or drop', () => {
  const rules = compileExcludes(['\\.tmp$']);
  expect(routeOp(view('in_sync', undefined, [], rules), w('/a.tmp', 0, 1)).to).toBe('skip');
  expect(routeOp(view('in_sync', undefined, [], rules), { kind: 'rename', from: '/a.tmp', to: '/a' })).toEqual({ to: 'import', path: '/a' });
  expect(routeOp(view('in_sync', undefined, [], rules), { kind: 'rename', from: '/a', to: '/a.tmp' })).toEqual({ to: 'drop', path: '/a' });
});

test('files to compare can be peeked in order and taken one by one; a rename moves the mark', () => {
  const p = new PendingSet();
  for (const f of ['/0/a', '/0/b', '/0/c']) p.markCompare(f);
  expect(p.peekCompare(2)).toEqual(['/0/a', '/0/b']);
  expect(p.compareCount).toBe(3);
  p.noteLiveOp({ kind: 'rename', from: '/0/b', to: '/0/z' });
  expect(p.unmarkCompare('/0/b')).toBe(false);
  expect(p.unmarkCompare('/0/a')).toBe(true);
  expect(p.peekCompare(10)).toEqual(['/0/c', '/0/z']);
});
