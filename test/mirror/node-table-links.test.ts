// Hard links share one node in the FUSE session's node table (pure): every name of a file
// maps to the same node id, the node keeps a name while any is left, and an inode number is
// trusted only while its node still has a name.
import fc from 'fast-check';
import { NodeTable } from '../../core/mirror/fuse/pure/node-table';

const linked = (ino: number, nlink = 2): { ino: number; nlink: number } => ({ ino, nlink });

test('a second name of a regular file (link count 2) is the same node', () => {
  const t = new NodeTable();
  const a = t.remember('/a', linked(7, 1));
  const b = t.remember('/b', linked(7, 2));
  expect(b).toBe(a);
  expect(t.namesOf(a).sort()).toEqual(['/a', '/b']);
  expect(t.remember('/b', linked(7, 2))).toBe(a); // by path now
});

test('removing one name leaves the node named by the other; the last one detaches it', () => {
  const t = new NodeTable();
  const a = t.remember('/d/a', linked(9, 1));
  t.remember('/b', linked(9, 2));
  t.detach('/d/a');
  expect(t.pathOf(a)).toBe('/b');
  t.detach('/b');
  expect(t.pathOf(a)).toBeUndefined();
  // The inode number of a node without names is not trusted: a new file is a new node.
  expect(t.remember('/c', linked(9, 2))).not.toBe(a);
});

test('a rename moves one name of the node; removing a directory drops the names below it', () => {
  const t = new NodeTable();
  const a = t.remember('/d/a', linked(3, 1));
  t.remember('/top', linked(3, 2));
  t.rename('/top', '/e/moved');
  expect(t.namesOf(a).sort()).toEqual(['/d/a', '/e/moved']);
  t.detach('/d');
  expect(t.pathOf(a)).toBe('/e/moved');
});

test('a file with one link never joins another node, whatever its inode number', () => {
  const t = new NodeTable();
  const a = t.remember('/a', linked(5, 1));
  expect(t.remember('/b', linked(5, 1))).not.toBe(a);
  expect(t.remember('/dir')).not.toBe(a);
});

test('forgetting a node frees all its names', () => {
  const t = new NodeTable();
  const a = t.remember('/a', linked(4, 1));
  t.remember('/b', linked(4, 2));
  t.forget(a, 2);
  expect(t.pathOf(a)).toBeUndefined();
  expect(t.remember('/b', linked(4, 2))).not.toBe(a);
});

test('random links, renames, unlinks and forgets: a path names one node, and every name of a node maps back to it', () => {
  const paths = ['/a', '/b', '/d/c', '/d/e', '/f'];
  fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom('remember', 'rename', 'detach', 'forget'), fc.constantFrom(...paths), fc.constantFrom(...paths), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })), { maxLength: 80 }), (steps) => {
    const t = new NodeTable();
    const ids: number[] = [];
    for (const [kind, p, q, ino, nlink] of steps) {
      if (kind === 'remember') ids.push(t.remember(p, { ino, nlink }));
      else if (kind === 'rename' && p !== q) t.rename(p, q);
      else if (kind === 'detach') t.detach(p);
      else if (kind === 'forget' && ids.length > 0) t.forget(ids[ids.length - 1]!, 1);
    }
    const owner = new Map<string, number>();
    for (const id of new Set(ids)) {
      const names = t.namesOf(id);
      const p = t.pathOf(id);
      if (p === undefined) { expect(names).toEqual([]); continue; }
      expect(names).toContain(p);
      for (const n of names) {
        expect(owner.has(n)).toBe(false);
        owner.set(n, id);
        expect(t.remember(n)).toBe(id);
      }
    }
  }), { numRuns: 300 });
});
