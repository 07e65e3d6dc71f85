// The port through which a FUSE connection outlives the daemon that serves it: the
// /dev/fuse descriptor of each capture mount is handed to a keeper outside hakitd (systemd's
// file descriptor store of hakitd.service; fd-holder in the lab), and a restarted daemon
// takes it back to go on serving the mount (docs/adr/0009-fuse-mount-survives-daemon.md).
// The daemon installs the real keeper at start (core/daemon/systemd/fd-store.ts); without
// one (tests, a daemon not run by systemd) nothing is kept and a daemon death ends the mount.

export interface FuseFdKeeper {
  /** Where sessions write what a successor needs (a tmpfs of this boot); undefined: nothing is kept. */
  readonly state_dir: string | undefined;
  /** Hands a duplicate of `fd` to the keeper under `name` (replacing one of that name). */
  keep(name: string, fd: number): Promise<void>;
  /** The keeper forgets `name` (the mount is gone). */
  drop(name: string): Promise<void>;
  /** True when the previous daemon's keeper gave back a descriptor named `name`. */
  has(name: string): boolean;
  /** Takes that descriptor (once); the caller owns it from then on. */
  take(name: string): number | undefined;
}

export const NO_KEEPER: FuseFdKeeper = {
  state_dir: undefined,
  keep: () => Promise.resolve(),
  drop: () => Promise.resolve(),
  has: () => false,
  take: () => undefined,
};

let current: FuseFdKeeper = NO_KEEPER;

export function setFuseFdKeeper(k: FuseFdKeeper): void {
  current = k;
}

export function fuseFdKeeper(): FuseFdKeeper {
  return current;
}

/** The store name of a capture connection: systemd's FDNAME rules (no ':', printable). */
export function fuseFdName(connection: number): string {
  return `hakit-fuse-${connection}`;
}

/** The connection number back from a store name, or undefined for another name. */
export function connectionOfFdName(name: string): number | undefined {
  const m = /^hakit-fuse-(\d{1,10})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
