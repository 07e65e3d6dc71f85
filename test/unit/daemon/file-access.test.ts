// Modes of files that may hold secrets (issue 15 item 5): 0640 with the hakit group when the
// host has one, else 0600.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { groupId, secretAccess } from '../../../core/log/file-access';

it('finds the hakit group in a group file, or none', () => {
  expect(groupId('root:x:0:\nhakit:x:997:nagios,zabbix\n')).toBe(997);
  expect(groupId('root:x:0:\nhakitd:x:5:\n')).toBeNull();
  expect(groupId('')).toBeNull();
});

it('uses 0640/0750 with the group when it exists, 0600/0700 without', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-fa-'));
  try {
    const with_group = path.join(dir, 'g1');
    fs.writeFileSync(with_group, 'hakit:x:997:\n');
    const without = path.join(dir, 'g2');
    fs.writeFileSync(without, 'root:x:0:\n');
    expect(secretAccess(with_group)).toEqual({ file_mode: 0o640, dir_mode: 0o750, gid: 997 });
    expect(secretAccess(without)).toEqual({ file_mode: 0o600, dir_mode: 0o700, gid: null });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
