// What a crashed engine left mounted is found in mountinfo and removed deepest first; a file
// system an administrator mounted on the directory is not touched.
import { parseMountinfo, staleEngineMounts } from '../../../core/mirror/pure/mountinfo';

const INFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '90 22 8:1 /srv/web/data /var/lib/hakit/mirror/web/real/0 rw,relatime - ext4 /dev/sda1 rw',
  '91 22 0:55 / /srv/web/data rw,nosuid,nodev,relatime - fuse hakit-mirror rw,user_id=0,group_id=0',
  '92 22 8:1 /srv/other /srv/other rw - ext4 /dev/sda1 rw',
  '93 22 8:2 / /srv/web/logs rw - ext4 /dev/sdb1 rw',
  '94 22 8:1 /srv/web/logs /srv/web/logs ro,relatime - ext4 /dev/sda1 rw',
  '95 90 0:40 / /var/lib/hakit/mirror/web/real/0/sp\\040ace rw - tmpfs tmpfs rw',
].join('\n');

test('mountinfo is parsed with escapes and FUSE connection numbers', () => {
  const m = parseMountinfo(INFO);
  expect(m).toHaveLength(7);
  expect(m[2]).toMatchObject({ id: 91, parentId: 22, mountpoint: '/srv/web/data', fstype: 'fuse', source: 'hakit-mirror', minor: 55 });
  expect(m[6]!.mountpoint).toBe('/var/lib/hakit/mirror/web/real/0/sp ace');
});

test('stale engine mounts: FUSE capture, binds under real/, read-only self-bind; deepest and topmost first', () => {
  const picked = staleEngineMounts(parseMountinfo(INFO), ['/srv/web/data', '/srv/web/logs'], '/var/lib/hakit/mirror/web/real');
  expect(picked.map((m) => m.mountpoint)).toEqual([
    '/var/lib/hakit/mirror/web/real/0/sp ace',
    '/var/lib/hakit/mirror/web/real/0',
    '/srv/web/logs', // the self-bind (root /srv/web/logs), not the sdb1 file system under it
    '/srv/web/data',
  ]);
  expect(picked.find((m) => m.mountpoint === '/srv/web/logs')!.root).toBe('/srv/web/logs');
});
