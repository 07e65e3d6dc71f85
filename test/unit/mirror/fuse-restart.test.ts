// The pure parts of a FUSE mount outliving its daemon (docs/adr/0009-fuse-mount-survives-daemon.md):
// the node table's log and snapshot, file handles that carry the daemon's life, which stale
// mounts are served again, and the descriptors systemd passes back.
import { NodeTable } from '../../../core/mirror/fuse/pure/node-table';
import { applyRecord, encodeRecord, handleDirect, handleGeneration, makeHandle, nextGeneration, MAX_GENERATION, replayLog, rememberRecord, shouldCompact, type NodeLogRecord } from '../../../core/mirror/fuse/pure/node-log';
import { reusableMounts } from '../../../core/mirror/fuse/pure/recovery';
import { connectionOfFdName, fuseFdName } from '../../../core/mirror/fuse/fd-keeper';
import { parseListenFds } from '../../../core/daemon/systemd/pure/listen-fds';
import type { MountEntry } from '../../../core/mirror/pure/mountinfo';

/** A table driven through calls, with the log those calls write. */
function logged(): { t: NodeTable; log: string[]; remember: (p: string, ino?: number, nlink?: number) => number } {
  const t = new NodeTable();
  const log: string[] = [encodeRecord(['S', t.snapshot()])];
  const rec = (r: NodeLogRecord): void => { log.push(encodeRecord(r)); };
  return {
    t, log,
    remember: (p, ino, nlink) => {
      const file = ino === undefined ? undefined : { ino, nlink: nlink ?? 1 };
      const id = t.remember(p, file);
      rec(rememberRecord(p, file));
      return id;
    },
  };
}

describe('node table log', () => {
  it('a replay gives every node id the kernel holds its path back', () => {
    const { t, log, remember } = logged();
    const a = remember('/a');
    const dir = remember('/d');
    const f = remember('/d/f', 11, 1);
    remember('/a'); // a second lookup of /a
    t.rename('/d', '/e'); log.push(encodeRecord(['m', '/d', '/e']));
    t.forget(a, 1); log.push(encodeRecord(['f', a, 1]));
    const g = remember('/e/g', 12, 1);
    t.detach('/e/g'); log.push(encodeRecord(['d', '/e/g']));
    const r = replayLog(log.join(''));
    expect(r.bad_lines).toBe(0);
    expect(r.table.pathOf(a)).toBe('/a'); // one lookup left
    expect(r.table.pathOf(dir)).toBe('/e');
    expect(r.table.pathOf(f)).toBe('/e/f');
    expect(r.table.pathOf(g)).toBeUndefined(); // detached, id still known
    expect(r.table.snapshot()).toEqual(t.snapshot());
    // The next id is the same on both: a successor never hands out an id twice.
    expect(r.table.remember('/new')).toBe(t.remember('/new'));
  });

  it('hard links share one node after a replay too', () => {
    const { t, log, remember } = logged();
    const one = remember('/x', 42, 2);
    const two = remember('/y', 42, 2);
    expect(two).toBe(one);
    const r = replayLog(log.join(''));
    expect(r.table.namesOf(one).sort()).toEqual(['/x', '/y']);
    expect(r.table.snapshot()).toEqual(t.snapshot());
  });

  it('snapshot and restore keep ids, names, lookups and the subtree index', () => {
    const t = new NodeTable();
    const d = t.remember('/d');
    const f = t.remember('/d/sub/f');
    t.remember('/d/sub/f');
    const back = NodeTable.restore(t.snapshot());
    back.rename('/d', '/z');
    expect(back.pathOf(d)).toBe('/z');
    expect(back.pathOf(f)).toBe('/z/sub/f');
    back.forget(f, 1);
    expect(back.pathOf(f)).toBe('/z/sub/f');
    back.forget(f, 1);
    expect(back.pathOf(f)).toBeUndefined();
  });

  it('a torn last line (crash while appending) is skipped, not fatal', () => {
    const { log, remember } = logged();
    const a = remember('/a');
    const text = `${log.join('')}["r","/b`;
    const r = replayLog(text);
    expect(r.bad_lines).toBe(1);
    expect(r.table.pathOf(a)).toBe('/a');
  });

  it('a later snapshot replaces what came before it', () => {
    const t = new NodeTable();
    t.remember('/a');
    const snap = t.snapshot();
    const r = replayLog([encodeRecord(['r', '/zzz']), encodeRecord(['S', snap])].join(''));
    expect(r.table.snapshot()).toEqual(snap);
  });

  it('names that are not valid UTF-8 or hold newlines survive the log', () => {
    const t = new NodeTable();
    const weird = '/a\nb\u00ff\ud800';
    const table = applyRecord(t, ['r', weird]);
    const r = replayLog(encodeRecord(['r', weird]));
    expect(r.table.snapshot()).toEqual(table.snapshot());
  });

  it('compaction waits for many records per node', () => {
    expect(shouldCompact(100, 10)).toBe(false);
    expect(shouldCompact(4096, 10)).toBe(true);
    expect(shouldCompact(4096, 2000)).toBe(false);
    expect(shouldCompact(8000, 2000)).toBe(true);
  });
});

describe('file handles carry the daemon life', () => {
  it('generation and direct bit are read back', () => {
    const h = makeHandle(7, 123, true);
    expect(handleGeneration(h)).toBe(7);
    expect(handleDirect(h)).toBe(true);
    expect(handleDirect(makeHandle(7, 123, false))).toBe(false);
    expect(Number.isSafeInteger(makeHandle(MAX_GENERATION - 1, 2 ** 31 - 1, true))).toBe(true);
  });

  it('the next life never reuses a generation of the one before, nor 0', () => {
    expect(nextGeneration(1)).toBe(2);
    expect(nextGeneration(MAX_GENERATION - 1)).toBe(1);
    expect(nextGeneration(0)).toBe(1);
  });
});

describe('which stale mounts a restarted daemon serves again', () => {
  const m = (index: number, mountpoint: string, fstype: string, minor: number, source = 'x'): MountEntry => ({ index, id: index, parentId: 0, mountpoint, root: '/', fstype, source, minor });
  const stale = [
    m(0, '/var/lib/hakit/mirror/m/real/0', 'ext4', 1),
    m(1, '/srv/data', 'fuse', 44, 'hakit-mirror'),
    m(2, '/var/lib/hakit/mirror/m/real/1', 'ext4', 1),
    m(3, '/srv/logs', 'fuse', 45, 'hakit-mirror'),
  ];
  const sessions = [
    { connection: 44, mountpoint: '/srv/data', private_dir: '/var/lib/hakit/mirror/m/real/0' },
    { connection: 45, mountpoint: '/srv/logs', private_dir: '/var/lib/hakit/mirror/m/real/1' },
  ];

  it('a kept connection keeps its mount and its private bind', () => {
    expect([...reusableMounts(stale, sessions, (c) => c === 44)].sort()).toEqual(['/srv/data', '/var/lib/hakit/mirror/m/real/0']);
  });

  it('a record that names another connection, or a missing bind, is not served again', () => {
    expect(reusableMounts(stale, [{ ...sessions[0]!, connection: 46 }], () => true).size).toBe(0);
    expect(reusableMounts(stale.filter((x) => x.index !== 0), sessions, (c) => c === 44).size).toBe(0);
  });
});

describe('descriptors passed back at start', () => {
  it('reads LISTEN_FDS for this pid only, with names', () => {
    expect(parseListenFds({ LISTEN_PID: '10', LISTEN_FDS: '2', LISTEN_FDNAMES: 'hakit-fuse-44:other' }, 10)).toEqual([{ fd: 3, name: 'hakit-fuse-44' }, { fd: 4, name: 'other' }]);
    expect(parseListenFds({ LISTEN_PID: '11', LISTEN_FDS: '2' }, 10)).toEqual([]);
    expect(parseListenFds({ LISTEN_PID: '10', LISTEN_FDS: 'x' }, 10)).toEqual([]);
    expect(parseListenFds({ LISTEN_PID: '10', LISTEN_FDS: '1' }, 10)).toEqual([{ fd: 3, name: 'unknown' }]);
  });

  it('store names are systemd-valid and map back to the connection', () => {
    expect(fuseFdName(44)).toBe('hakit-fuse-44');
    expect(fuseFdName(44)).not.toContain(':');
    expect(connectionOfFdName('hakit-fuse-44')).toBe(44);
    expect(connectionOfFdName('other')).toBeUndefined();
  });
});
