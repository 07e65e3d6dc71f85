// The lab's questions about mounts, over the project's mountinfo parser
// (core/mirror/pure/mountinfo.ts: escapes, ids, minor numbers).
import type { MountEntry } from '../../../core/mirror/pure/mountinfo';

export { parseMountinfo, type MountEntry } from '../../../core/mirror/pure/mountinfo';

export function isFuse(e: MountEntry): boolean {
  return e.fstype === 'fuse' || e.fstype === 'fuseblk' || e.fstype.startsWith('fuse.');
}

/** FUSE connection number (fusectl directory name) of a FUSE mount: its minor device number. */
export function fuseConnection(e: MountEntry): string | undefined {
  return Number.isInteger(e.minor) ? String(e.minor) : undefined;
}

/** Mounts made after the baseline, children before parents (the order to unmount them). */
export function mountsSince(entries: readonly MountEntry[], baseline: readonly number[]): MountEntry[] {
  const base = new Set(baseline);
  return entries.filter((e) => !base.has(e.id)).reverse();
}
