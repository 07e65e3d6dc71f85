// The incarnation number carried by every heartbeat: it must grow at each daemon start, so
// peers drop packets of a previous life (replays across restarts). The last one is kept in
// the state dir; wall-clock ms is used when larger, so a lost state dir still moves forward
// on a machine whose clock is sane.
import fs from 'node:fs';
import path from 'node:path';
import { HakitError } from '../errors/catalogue';

export const INCARNATION_FILE = 'incarnation';

export function nextIncarnation(state_dir: string, wall_ms: number = Date.now(), file_name: string = INCARNATION_FILE): number {
  const file = path.join(state_dir, file_name);
  let previous = 0;
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    if (Number.isSafeInteger(n) && n > 0) previous = n;
  } catch {
    // First start, or unreadable: fall back to the clock.
  }
  const next = Math.max(previous + 1, Math.floor(wall_ms));
  try {
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, `${next}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    throw new HakitError('HAKIT_E_DAEMON_STATE_DIR', `cannot record the incarnation: ${e instanceof Error ? e.message : String(e)}`, file);
  }
  return next;
}
