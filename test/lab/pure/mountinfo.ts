// Parses /proc/PID/mountinfo (proc(5)) into the few fields the lab needs.

export interface MountEntry {
  readonly id: number;
  readonly parentId: number;
  /** st_dev "major:minor"; for FUSE the minor is the connection number under fusectl. */
  readonly majorMinor: string;
  readonly mountPoint: string;
  readonly fsType: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
export function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (sep < 0 || fields.length < sep + 2) continue;
    entries.push({
      id: Number(fields[0]),
      parentId: Number(fields[1]),
      majorMinor: fields[2] ?? '',
      mountPoint: unescapeMountPath(fields[4] ?? ''),
      fsType: fields[sep + 1] ?? '',
    });
  }
  return entries;
}

export function isFuse(e: MountEntry): boolean {
  return e.fsType === 'fuse' || e.fsType === 'fuseblk' || e.fsType.startsWith('fuse.');
}

/** FUSE connection number (fusectl directory name) of a FUSE mount. */
export function fuseConnection(e: MountEntry): string | undefined {
  const minor = e.majorMinor.split(':')[1];
  return minor !== undefined && /^\d+$/.test(minor) ? minor : undefined;
}

/** Mounts made after the baseline, children before parents (the order to unmount them). */
export function mountsSince(entries: readonly MountEntry[], baseline: readonly number[]): MountEntry[] {
  const base = new Set(baseline);
  return entries.filter((e) => !base.has(e.id)).reverse();
}
