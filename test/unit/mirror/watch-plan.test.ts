import { planEntry, matchRenames, pathsUnder, type WatchEntry } from '../../../core/mirror/pure/watch-plan';

const file = (size: number, hashes: bigint[], mode = 0o644): WatchEntry => ({ type: 'f', mode, size, mtime_ms: 1, hashes });

test('a new file is created, sized, and all its blocks are compared against nothing', () => {
  const p = planEntry('/a', undefined, file(10, []));
  expect(p.before).toEqual([{ kind: 'create', path: '/a', mode: 0o644 }, { kind: 'truncate', path: '/a', size: 10 }]);
  expect(p.compare_blocks).toBe(true);
  expect(p.prev_hashes).toEqual([]);
});

test('a changed file keeps its previous hashes; size and mode changes become ops', () => {
  const p = planEntry('/a', file(10, [1n]), file(20, [1n, 2n], 0o600));
  expect(p.before).toEqual([{ kind: 'chmod', path: '/a', mode: 0o600 }, { kind: 'truncate', path: '/a', size: 20 }]);
  expect(p.prev_hashes).toEqual([1n]);
});

test('a type change removes first; a symlink retarget replaces it; an unchanged dir ships nothing', () => {
  expect(planEntry('/a', file(1, [1n]), { type: 'd', mode: 0o755, size: 0, mtime_ms: 1 }).before)
    .toEqual([{ kind: 'remove', path: '/a' }, { kind: 'mkdir', path: '/a', mode: 0o755 }]);
  const l = (target: string): WatchEntry => ({ type: 'l', mode: 0o777, size: 0, mtime_ms: 1, target });
  expect(planEntry('/l', l('x'), l('y')).before).toEqual([{ kind: 'remove', path: '/l' }, { kind: 'symlink', path: '/l', target: 'y' }]);
  expect(planEntry('/l', l('x'), l('x')).before).toEqual([]);
  expect(planEntry('/d', { type: 'd', mode: 0o755, size: 0, mtime_ms: 1 }, { type: 'd', mode: 0o755, size: 0, mtime_ms: 2 }).before).toEqual([]);
});

test('renames pair removed and added files with identical non-empty content, once each', () => {
  const removed = new Map([['/old', file(5, [7n])], ['/empty', file(0, [])], ['/other', file(5, [8n])]]);
  const added = new Map([['/new', file(5, [7n])], ['/new2', file(5, [7n])], ['/e2', file(0, [])]]);
  expect(matchRenames(removed, added)).toEqual([{ from: '/old', to: '/new' }]);
});

test('pathsUnder matches the directory itself and its subtree only', () => {
  expect(pathsUnder(['/a', '/a/b', '/ab', '/c'], '/a')).toEqual(['/a', '/a/b']);
});
