// The last lines of a (JSON lines) file, reading at most TAIL_BYTES from its end.
import fs from 'node:fs';
import { lastLines } from '../monitor/pure/format';

export const TAIL_BYTES = 4 * 1024 * 1024;

export function logLineTail(file: string, n: number): string[] {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    return lastLines(buf.toString('utf8'), n).filter((l) => l.trim() !== '');
  } finally {
    fs.closeSync(fd);
  }
}
