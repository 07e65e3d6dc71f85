// Which mounts a crashed engine may have left behind, from /proc/self/mountinfo text. A
// daemon killed while PRIM leaves a dead FUSE mount over the replicated directory (every
// access: ENOTCONN) and bind mounts under work_dir/real; a killed SECOND leaves its binds.
// The next start removes exactly those, deepest first, before mounting anything.

export interface MountEntry {
  /** Position in mountinfo (later = mounted later = on top at the same mount point). */
  readonly index: number;
  /** The mount's id, and its parent's (proc(5)); ids are not reused while a mount lives. */
  readonly id: number;
  readonly parentId: number;
  readonly mountpoint: string;
  /** The mount's root inside its file system ('/' unless it is a bind of a subdirectory). */
  readonly root: string;
  readonly fstype: string;
  readonly source: string;
  /** Minor device number: for FUSE, the connection number under /sys/fs/fuse/connections. */
  readonly minor: number;
}

/** The FUSE fsname the sync capture mounts with. */
export const CAPTURE_FSNAME = 'hakit-mirror';

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 3) continue;
    out.push({
      index: out.length,
      id: Number(f[0]),
      parentId: Number(f[1]),
      root: unescape(f[3] ?? ''),
      mountpoint: unescape(f[4] ?? ''),
      minor: Number((f[2] ?? '').split(':')[1] ?? NaN),
      fstype: f[sep + 1] ?? '',
      source: unescape(f[sep + 2] ?? ''),
    });
  }
  return out;
}

export function isCaptureFuse(m: MountEntry): boolean {
  return (m.fstype === 'fuse' || m.fstype.startsWith('fuse.')) && m.source === CAPTURE_FSNAME;
}

function depth(p: string): number {
  return p.split('/').length;
}

/**
 * Mounts to remove before an engine mounts `dirs` and `real_root`: everything at or below
 * `real_root` (only the engine mounts there), and on each replicated dir itself our FUSE
 * capture or a bind of a subdirectory (the SECOND's read-only self-bind). A file system an
 * administrator mounted at a dir (root '/') is left alone. Deepest first; on one mount
 * point the top mount first.
 */
export function staleEngineMounts(all: readonly MountEntry[], dirs: readonly string[], real_root: string): MountEntry[] {
  const picked = all.filter((m) =>
    m.mountpoint === real_root || m.mountpoint.startsWith(real_root + '/') ||
    (dirs.includes(m.mountpoint) && (isCaptureFuse(m) || m.root !== '/')));
  return picked.sort((a, b) => depth(b.mountpoint) - depth(a.mountpoint) || b.index - a.index);
}
