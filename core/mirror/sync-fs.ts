// syncfs(2) of the file system holding a directory, through coreutils' `sync -f` (Node has no
// binding). Used where everything written there must be on disk before going on: the end of a
// re-integration pass on PRIM, and SECOND's copy at a clean stop or a takeover when SECOND
// acknowledged sync calls from its page cache (docs/mirror.md "Durability contract").
import { execFile } from 'node:child_process';

/** Bound of one syncfs (a stuck disk must not hold the caller forever). */
export const SYNCFS_TIMEOUT_MS = 30_000;

/** Resolves true once synced, false when `sync` failed or timed out (never rejects). */
export function syncFileSystem(dir: string, timeout_ms = SYNCFS_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('sync', ['-f', dir], { timeout: timeout_ms }, (err) => resolve(!err));
  });
}
