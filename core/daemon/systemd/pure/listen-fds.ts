// Descriptors systemd (or the lab's fd-holder) passed to this process at start
// (sd_listen_fds_with_names(3)): fds 3..3+LISTEN_FDS-1, named by LISTEN_FDNAMES, meant for
// us only when LISTEN_PID is our pid (else they were meant for a parent that exec'ed us).

export const SD_LISTEN_FDS_START = 3;
/** Names systemd sets with passed descriptors; children must not inherit them. */
export const SYSTEMD_LISTEN_NAMES = ['LISTEN_FDS', 'LISTEN_FDNAMES', 'LISTEN_PID'] as const;
/** More than this is not a store we filled (FileDescriptorStoreMax= of hakitd.service). */
export const MAX_LISTEN_FDS = 4096;

export interface ListenFd {
  readonly fd: number;
  readonly name: string;
}

export function parseListenFds(env: Readonly<Record<string, string | undefined>>, pid: number): ListenFd[] {
  if (Number(env['LISTEN_PID']) !== pid) return [];
  const n = Number(env['LISTEN_FDS']);
  if (!Number.isSafeInteger(n) || n <= 0 || n > MAX_LISTEN_FDS) return [];
  const names = (env['LISTEN_FDNAMES'] ?? '').split(':');
  const out: ListenFd[] = [];
  for (let i = 0; i < n; i++) out.push({ fd: SD_LISTEN_FDS_START + i, name: names[i] || 'unknown' });
  return out;
}
