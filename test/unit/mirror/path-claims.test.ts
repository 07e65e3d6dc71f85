// PathClaims: which requests wait for which (see core/mirror/fuse/path-claims.ts).
import { PathClaims, atOrBelow } from '../../../core/mirror/fuse/path-claims';

function gate(): { open: () => void; wait: Promise<void> } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { open, wait };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('atOrBelow', () => {
  expect(atOrBelow('/a/b', '/a')).toBe(true);
  expect(atOrBelow('/a', '/a')).toBe(true);
  expect(atOrBelow('/ab', '/a')).toBe(false);
  expect(atOrBelow('/x', '/')).toBe(true);
});

test('a rename of an ancestor waits for the op in progress below it, and the op after it sees the new path', async () => {
  const c = new PathClaims();
  const order: string[] = [];
  const g = gate();
  let where = '/A/etc/passwd';
  const op = c.run('shared', async () => [where] as const, async ([p]) => { order.push(`op on ${p}`); await g.wait; order.push('op done'); });
  await tick();
  const rename = c.run('exclusive', async () => ['/A', '/A2'] as const, async () => { order.push('rename'); where = '/A2/etc/passwd'; });
  await tick();
  // A later shared claim under the waiting rename waits behind it (no starvation) and is
  // resolved again afterwards.
  const later = c.run('shared', async () => [where] as const, async ([p]) => { order.push(`later on ${p}`); });
  await tick();
  expect(order).toEqual(['op on /A/etc/passwd']);
  g.open();
  await Promise.all([op, rename, later]);
  expect(order).toEqual(['op on /A/etc/passwd', 'op done', 'rename', 'later on /A2/etc/passwd']);
  expect(c.size).toBe(0);
});

test('shared claims do not wait for each other; an unlink below a held rename waits; unrelated paths never wait', async () => {
  const c = new PathClaims();
  const g = gate();
  const order: string[] = [];
  const s1 = c.run('shared', async () => ['/d/f'] as const, async () => { await g.wait; order.push('s1'); });
  const s2 = c.run('shared', async () => ['/d/f'] as const, async () => { order.push('s2'); });
  const other = c.run('exclusive', async () => ['/e'] as const, async () => { order.push('rename /e'); });
  await tick();
  expect(order).toEqual(['s2', 'rename /e']);
  const g2 = gate();
  const ren = c.run('exclusive', async () => ['/x'] as const, async () => { await g2.wait; order.push('rename /x'); });
  await tick();
  const unlink = c.run('exclusive', async () => ['/x/y'] as const, async () => { order.push('unlink /x/y'); });
  const parent = c.run('shared', async () => ['/'] as const, async () => { order.push('getattr /'); });
  await tick();
  expect(order).toEqual(['s2', 'rename /e', 'getattr /']);
  g2.open();
  g.open();
  await Promise.all([s1, s2, other, ren, unlink, parent]);
  expect(order.indexOf('unlink /x/y')).toBeGreaterThan(order.indexOf('rename /x'));
});

test('a failing resolution releases nothing it did not hold and wakes no one wrongly', async () => {
  const c = new PathClaims();
  await expect(c.run('exclusive', async () => { throw new Error('ENOENT'); }, async () => 1)).rejects.toThrow('ENOENT');
  expect(await c.run('shared', async () => ['/a'] as const, async () => 2)).toBe(2);
  expect(c.size).toBe(0);
});
