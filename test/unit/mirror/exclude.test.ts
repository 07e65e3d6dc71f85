import { compileExcludes, isExcluded } from '../../../core/mirror/pure/exclude';
import { isHakitError } from '../../../core/errors/catalogue';

test('plain patterns exclude matching paths and whole subtrees', () => {
  const r = compileExcludes(['\\.tmp$', '^cache$']);
  expect(isExcluded(r, '/a/b.tmp', false)).toBe(true);
  expect(isExcluded(r, '/a/b.txt', false)).toBe(false);
  expect(isExcluded(r, '/cache', true)).toBe(true);
  expect(isExcluded(r, '/cache/x/y', false)).toBe(true);
  expect(isExcluded(r, '/notcache/x', false)).toBe(false);
});

test('the ! form replicates only matching files, directories stay traversed', () => {
  const r = compileExcludes(['!\\.db$']);
  expect(isExcluded(r, '/data/x.db', false)).toBe(false);
  expect(isExcluded(r, '/data/x.log', false)).toBe(true);
  expect(isExcluded(r, '/data', true)).toBe(false);
});

test('indexed roots: the directory index is not part of the matched path', () => {
  const r = compileExcludes(['^logs$'], 'x', true);
  expect(isExcluded(r, '/0/logs/a', false)).toBe(true);
  expect(isExcluded(r, '/1/logs', true)).toBe(true);
  expect(isExcluded(r, '/0', true)).toBe(false);
  expect(isExcluded(r, '/0/data/logs.txt', false)).toBe(false);
});

test('a bad regular expression is a coded error naming the pattern', () => {
  try {
    compileExcludes(['ok', '(unclosed'], 'module m notreplicated');
    throw new Error('no error');
  } catch (e) {
    expect(isHakitError(e) && e.code).toBe('HAKIT_E_MIRROR_BAD_PATTERN');
    expect((e as Error).message).toContain('module m notreplicated[1]');
  }
});
