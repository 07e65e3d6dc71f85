// Access to files that may hold secrets: logs (scripts print what they like) and module
// configs (userconfig.xml <var> values). Owner read/write; the `hakit` group, when it exists,
// may read (monitoring users join it: `hakit logview`, `hakit log`, Nagios); nobody else.
// Without that group the files are 0600. One rule for the daemon, the CLI and the installer.
import fs from 'node:fs';

/** Members of this group may read logs and module configs. */
export const MONITOR_GROUP = 'hakit';

export interface SecretAccess {
  readonly file_mode: number;
  readonly dir_mode: number;
  /** The `hakit` group's id, or null when it does not exist. */
  readonly gid: number | null;
}

/** The `hakit` group id from a group(5) file's text, or null. */
export function groupId(group_file_text: string, name = MONITOR_GROUP): number | null {
  for (const line of group_file_text.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return null;
}

let cached: SecretAccess | undefined;

/** Modes and group for secret-holding files on this host (read once per process). */
export function secretAccess(group_file = '/etc/group'): SecretAccess {
  if (cached !== undefined && group_file === '/etc/group') return cached;
  let gid: number | null = null;
  try {
    gid = groupId(fs.readFileSync(group_file, 'utf8'));
  } catch {
    // No group file: no group to share with.
  }
  const access = gid === null ? { file_mode: 0o600, dir_mode: 0o700, gid } : { file_mode: 0o640, dir_mode: 0o750, gid };
  if (group_file === '/etc/group') cached = access;
  return access;
}

/**
 * Gives an existing file (or directory) the secret access: mode, and the `hakit` group when it
 * exists (group only: the owner stays). Errors are left to the caller.
 */
export function applySecretAccess(target: string, access: SecretAccess = secretAccess(), dir = false): void {
  if (access.gid !== null) fs.chownSync(target, fs.statSync(target).uid, access.gid);
  fs.chmodSync(target, dir ? access.dir_mode : access.file_mode);
}
