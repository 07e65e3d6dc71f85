// Claims on the paths of the requests in progress. We act by path, as root, and a request
// may wait (for SECOND, for re-integration of its file) between resolving its path and
// acting on it. Without claims, a rename of an ancestor plus a symlink put in its place
// during that wait would make us act on whatever the symlink points to (a chown of
// /etc/passwd), and an op would be replicated under a name a rename is taking away.
//   shared    (every op that acts on or replicates under a path): excludes renames and
//             unlinks of that path or of an ancestor;
//   exclusive (rename, unlink, rmdir): excludes every claim at or below its paths, and
//             other exclusive claims above them.
// A waiting exclusive claim holds back new shared ones on its paths (so a steady writer
// cannot starve a rename). Paths are resolved again after every wait: a rename that ran
// meanwhile may have moved them.

export type ClaimMode = 'shared' | 'exclusive';

interface Claim { mode: ClaimMode; paths: string[]; done: Promise<void> }

/** `p` is `anc` or lies below it. */
export function atOrBelow(p: string, anc: string): boolean {
  if (p === anc) return true;
  return anc === '/' ? p.startsWith('/') : p.startsWith(`${anc}/`);
}

function blocks(held: Claim, mode: ClaimMode, paths: readonly string[]): boolean {
  for (const h of held.paths) {
    for (const w of paths) {
      if (held.mode === 'exclusive' && mode === 'exclusive' && (atOrBelow(h, w) || atOrBelow(w, h))) return true;
      if (held.mode === 'exclusive' && mode === 'shared' && atOrBelow(w, h)) return true;
      if (held.mode === 'shared' && mode === 'exclusive' && atOrBelow(h, w)) return true;
    }
  }
  return false;
}

export class PathClaims {
  private readonly held = new Set<Claim>();
  private readonly waiting = new Set<Claim>();

  get size(): number { return this.held.size; }

  private blocker(mode: ClaimMode, paths: readonly string[], self: Claim): Promise<void> | undefined {
    for (const c of this.held) if (blocks(c, mode, paths)) return c.done;
    if (mode === 'shared') for (const c of this.waiting) if (c !== self && blocks(c, mode, paths)) return c.done;
    return undefined;
  }

  /** Runs `f` with the paths `resolve` gives (undefined entries are not claimed). */
  async run<P extends ReadonlyArray<string | undefined>, T>(mode: ClaimMode, resolve: () => Promise<P>, f: (paths: P) => Promise<T>): Promise<T> {
    let release!: () => void;
    const claim: Claim = { mode, paths: [], done: new Promise<void>((r) => (release = r)) };
    let paths: P;
    try {
      for (;;) {
        paths = await resolve();
        claim.paths = paths.filter((p): p is string => p !== undefined);
        const wait = this.blocker(mode, claim.paths, claim);
        if (!wait) break;
        if (mode === 'exclusive') this.waiting.add(claim);
        await wait;
      }
    } catch (e) {
      this.waiting.delete(claim);
      release();
      throw e;
    }
    this.waiting.delete(claim);
    this.held.add(claim);
    try {
      return await f(paths);
    } finally {
      this.held.delete(claim);
      release();
    }
  }
}
