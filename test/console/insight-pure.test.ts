// The insight views' pure parts: the bucket map's legend (colour and letter per owner, gaps
// and overlaps marked), times after the fault, and which timeline entries are notified.
import { afterFault, bucketCell, entryKey, mapIssues, newSince, notificationText, ownerLegend } from '../../webconsole/pure/insight';

test('legend: owners sorted, each a letter and a colour, known owners without buckets listed', () => {
  const owners = ['n2', 'n1', 'n1', '', 'n1+n2', 'n3'];
  const l = ownerLegend(owners, ['n4']);
  expect(l.map((k) => [k.owner, k.letter, k.colour, k.count])).toEqual([
    ['n1', 'A', 0, 2],
    ['n2', 'B', 1, 1],
    ['n3', 'C', 2, 1],
    ['n4', 'D', 3, 0],
  ]);
  expect(bucketCell(0, 'n2', l)).toEqual({ cls: 'b o-1 striped', label: 'B', title: 'bucket 0: n2' });
  expect(bucketCell(3, '', l).label).toBe('·');
  expect(bucketCell(4, 'n1+n2', l)).toMatchObject({ label: '!', cls: 'b overlap' });
  expect(mapIssues(owners)).toEqual({ none: 1, overlap: 1 });
});

test('times after the fault', () => {
  expect(afterFault(0)).toBe('+0 s');
  expect(afterFault(2750)).toBe('+2.75 s');
  expect(afterFault(3000)).toBe('+3 s');
});

test('notifications: nothing on the first look, then only what arrived since', () => {
  const e = (at: string) => ({ at, node: 'n1', module: 'm', from: 'PRIM (Ready)', to: 'ALONE (Ready)' });
  const all = [e('1'), e('2'), e('3')];
  expect(newSince(all, null)).toEqual([]);
  expect(newSince(all, entryKey(e('2')))).toEqual([e('3')]);
  expect(newSince(all, entryKey(e('3')))).toEqual([]);
  // The entry seen last dropped out of the bounded timeline: everything is new.
  expect(newSince(all, entryKey(e('0')))).toHaveLength(3);
  expect(notificationText(e('1'))).toEqual({ title: 'hakit: m on n1', body: 'PRIM (Ready) → ALONE (Ready)' });
});
