// Where the SECOND may touch its copy. Op paths come from an authenticated peer, but a peer
// holding the cluster key must still not reach outside the replicated directories: it
// could create a symlink `/0/x -> /etc` and then write `/0/x/shadow`, or ask for the
// signature of a symlink to a secret. Every path is therefore resolved like this:
//   1. it must start with a configured root `/<n>` (n < roots);
//   2. realpath(dirname(real path)) must be that root's realpath or lie below it (no
//      symlinked directory on the way);
//   3. the caller opens the last component with O_NOFOLLOW (or uses a call that does not
//      follow it: lstat, lchown, lutimes, unlink, rename, link, symlink, mkdir, rmdir).
// Only the receiver changes the copy (the application path is a read-only bind), and it
// applies ops one at a time, so nothing swaps a directory between the check and the use.
import fs from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { HakitError } from '../errors/catalogue';

/** Flags for opening an existing last component without following a symlink there. */
export const O_NOFOLLOW = fs.constants.O_NOFOLLOW;

export class CopyRoots {
  constructor(readonly dir: string, readonly roots: number) {}

  /** `/<n>` of a replicated path, or a coded error when it names no configured root. */
  rootOf(rel: string, where: string): string {
    const m = /^\/(\d+)(?:\/|$)/.exec(rel);
    const n = m ? Number(m[1]) : NaN;
    if (!m || !Number.isSafeInteger(n) || n >= this.roots || m[1] !== String(n)) {
      throw new HakitError('HAKIT_E_MIRROR_BAD_PATH', `path ${JSON.stringify(rel)} is not under a replicated directory /0../${this.roots - 1}`, where);
    }
    return `/${n}`;
  }

  /**
   * The absolute path to use for `rel`, after checking that its parent directory resolves
   * inside its root. `allowRoot`: the root itself may be named (metadata ops on the mount's
   * top directory); namespace ops never may.
   */
  async resolve(rel: string, where: string, opts: { allowRoot?: boolean } = {}): Promise<string> {
    const root = this.rootOf(rel, where);
    const abs = path.join(this.dir, rel);
    const rootReal = await fs.realpath(path.join(this.dir, root));
    if (rel === root) {
      if (opts.allowRoot) return rootReal;
      throw new HakitError('HAKIT_E_MIRROR_BAD_PATH', `path ${JSON.stringify(rel)} names a replicated directory itself`, where);
    }
    // A missing parent (or a dangling symlink on the way) rejects with ENOENT, which the
    // op treats like its own ENOENT; nothing is ever created through it.
    const parentReal = await fs.realpath(path.dirname(abs));
    if (parentReal !== rootReal && !parentReal.startsWith(rootReal + '/')) {
      throw new HakitError('HAKIT_E_MIRROR_BAD_PATH', `path ${JSON.stringify(rel)} resolves outside its replicated directory (to ${parentReal})`, where);
    }
    return path.join(parentReal, path.basename(abs));
  }

  /**
   * `resolve` without the thread-pool hops: the receiver applies one op at a time, and two
   * realpath calls through libuv's pool cost ~100 µs each on a loaded 2-core node, per op
   * (a 5 000-file workload was bound by them). realpath of cached dentries takes µs.
   */
  resolveSync(rel: string, where: string, opts: { allowRoot?: boolean } = {}): string {
    const root = this.rootOf(rel, where);
    const abs = path.join(this.dir, rel);
    const rootReal = realpathSync(path.join(this.dir, root));
    if (rel === root) {
      if (opts.allowRoot) return rootReal;
      throw new HakitError('HAKIT_E_MIRROR_BAD_PATH', `path ${JSON.stringify(rel)} names a replicated directory itself`, where);
    }
    const parentReal = realpathSync(path.dirname(abs));
    if (parentReal !== rootReal && !parentReal.startsWith(rootReal + '/')) {
      throw new HakitError('HAKIT_E_MIRROR_BAD_PATH', `path ${JSON.stringify(rel)} resolves outside its replicated directory (to ${parentReal})`, where);
    }
    return path.join(parentReal, path.basename(abs));
  }
}
