// Which capture mounts a restarted daemon serves again instead of removing them
// (docs/adr/0009-fuse-mount-survives-daemon.md): the FUSE mount of a connection whose
// /dev/fuse descriptor the fd keeper gave back and whose session record names that very
// mount point, and every mount its passthrough goes through (the private bind of the real
// directory, and anything above it under the engine's root). Everything else an earlier
// engine left is stale, as before.
import type { MountEntry } from '../../pure/mountinfo';

export interface KeptSession {
  readonly connection: number;
  readonly mountpoint: string;
  readonly private_dir: string;
}

function atOrAbove(mountpoint: string, p: string): boolean {
  return p === mountpoint || p.startsWith(mountpoint.endsWith('/') ? mountpoint : `${mountpoint}/`);
}

/** Mount points of `stale` to leave in place; `kept`: connection numbers given back. */
export function reusableMounts(stale: readonly MountEntry[], sessions: readonly KeptSession[], kept: (connection: number) => boolean): Set<string> {
  const out = new Set<string>();
  for (const s of sessions) {
    if (!kept(s.connection)) continue;
    const fuse = stale.find((m) => m.mountpoint === s.mountpoint && m.minor === s.connection && m.fstype.startsWith('fuse'));
    // The private bind must still be there, or the passthrough would serve an empty directory.
    const bind = stale.find((m) => m.mountpoint === s.private_dir);
    if (!fuse || !bind) continue;
    out.add(fuse.mountpoint);
    for (const m of stale) if (!m.fstype.startsWith('fuse') && atOrAbove(m.mountpoint, s.private_dir)) out.add(m.mountpoint);
  }
  return out;
}
