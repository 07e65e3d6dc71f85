// The cluster key authenticates heartbeats. It is a file readable by root only; its bytes
// (without a trailing newline) are the HMAC key.
import fs from 'node:fs';
import { HakitError } from '../errors/catalogue';
import { MIN_KEY_BYTES } from '../membership/wire/limits';

export const MAX_KEY_FILE_BYTES = 4096;

export function readClusterKey(file: string): Buffer {
  let buf: Buffer;
  try {
    const st = fs.statSync(file);
    if (!st.isFile() || st.size > MAX_KEY_FILE_BYTES) throw new Error(st.isFile() ? `${st.size} bytes, more than ${MAX_KEY_FILE_BYTES}` : 'not a regular file');
    if ((st.mode & 0o077) !== 0) throw new Error(`mode ${(st.mode & 0o777).toString(8)}: the key must not be readable by group or others (chmod 600)`);
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new HakitError('HAKIT_E_WIRE_BAD_KEY', e instanceof Error ? e.message : String(e), file);
  }
  let end = buf.length;
  while (end > 0 && (buf[end - 1] === 0x0a || buf[end - 1] === 0x0d)) end--;
  const key = buf.subarray(0, end);
  if (key.length < MIN_KEY_BYTES) throw new HakitError('HAKIT_E_WIRE_BAD_KEY', `the key has ${key.length} bytes, at least ${MIN_KEY_BYTES} are needed`, file);
  return key;
}
