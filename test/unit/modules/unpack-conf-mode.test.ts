// A conf/ file always gets the secret access on unpack, even when its zip entry carries the
// exec bit (review finding: conf/userconfig.xml at 0o100755 was installed 0755, world-readable).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yazl from 'yazl';
import { unpackSafe } from '../../../modules/safe/unpack';
import { secretAccess } from '../../../core/log/file-access';
import { USERCONFIG_OK } from './raw-zip';

let tmp = '';
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-unpack-mode-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function zipOf(entries: { name: string; data: Buffer; mode: number }[], out: string): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addBuffer(e.data, e.name, { mode: e.mode });
  zip.end();
  return new Promise((resolve, reject) => {
    zip.outputStream.pipe(fs.createWriteStream(out)).on('close', () => resolve()).on('error', reject);
  });
}

test('conf/userconfig.xml with the exec bit in the zip is unpacked with the secret mode', async () => {
  const file = path.join(tmp, 'web.safe');
  await zipOf(
    [
      { name: 'conf/userconfig.xml', data: USERCONFIG_OK, mode: 0o100755 },
      { name: 'conf/extra/secret.txt', data: Buffer.from('pw\n'), mode: 0o100775 },
      { name: 'bin/start_prim', data: Buffer.from('#!/bin/sh\n'), mode: 0o100755 },
    ],
    file,
  );
  const dest = path.join(tmp, 'out');
  fs.mkdirSync(dest, { mode: 0o700 });
  await unpackSafe(file, dest);
  const mode = (rel: string): number => fs.statSync(path.join(dest, rel)).mode & 0o777;
  const secret = secretAccess().file_mode;
  expect(mode('conf/userconfig.xml')).toBe(secret);
  expect(mode('conf/extra/secret.txt')).toBe(secret);
  expect(mode('conf/userconfig.xml') & 0o007).toBe(0); // never readable by others
  expect(mode('bin/start_prim')).toBe(0o755); // scripts keep their exec bit
});
