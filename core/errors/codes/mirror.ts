// Codes of the mirror replication engine (core/mirror). Messages name the module, the path
// inside the replicated directory and the peer where it matters.
export const MIRROR_CODES = {
  HAKIT_E_MIRROR_BAD_PATH: 'a replicated path is absolute-escaping, contains "..", or is not inside the replicated directory',
  HAKIT_E_MIRROR_BAD_OP: 'a replication operation is malformed',
  HAKIT_E_MIRROR_BAD_FRAME: 'a replication frame is malformed, too large or out of order',
  HAKIT_E_MIRROR_AUTH: 'the replication peer failed authentication (wrong cluster key or forged frame)',
  HAKIT_E_MIRROR_HANDSHAKE_TIMEOUT: 'the replication handshake did not finish in time',
  HAKIT_E_MIRROR_PEER_LOST: 'the replication peer closed the connection or stopped answering',
  HAKIT_E_MIRROR_APPLY: 'the SECOND could not apply an operation to its copy (disk full, permissions, ...)',
  HAKIT_E_MIRROR_JOURNAL: 'the dirty-region journal is corrupt or could not be written',
  HAKIT_E_MIRROR_BAD_PATTERN: 'a notreplicated regular expression does not compile',
  HAKIT_E_MIRROR_MOUNT: 'the bind mount or the FUSE mount of a replicated directory failed',
  HAKIT_E_MIRROR_FUSE: 'the FUSE capture met trouble that is no application error (a reply the kernel refused, a failed read of /dev/fuse); logged, the mount goes on',
  HAKIT_E_MIRROR_WATCH: 'the watch-mode capture hit a watcher error or overflow and rescans the tree',
  HAKIT_E_MIRROR_STOPPED: 'the mirror engine was stopped while an operation was pending',
  HAKIT_E_MIRROR_FENCE_REFUSED: 'a sync call made while the application stopped, after the replication link had left the SECOND behind, failed (EIO): the peer may take over, or already serves, without what it covers, so it cannot be acknowledged (docs/mirror.md, "The ALONE fence")',
  HAKIT_E_MIRROR_FENCE_WAIT: 'the PRIM has held its applications\' sync calls for a long time because the peer still announces a complete copy while the PRIM writes without it (docs/mirror.md, "The ALONE fence"); they return once the peer marks its copy out of date or is declared lost',
  HAKIT_E_MIRROR_BUSY: 'the replication receiver refused a connection: a handshake from that address is already in progress, or the peer holds the most connections allowed',
  HAKIT_E_MIRROR_NOT_PEER: 'the replication receiver closed a connection from an address that is not one of the peer node\'s cluster.xml addresses',
  HAKIT_E_MIRROR_PROTECTION: 'the two ends of a replication link have different rfs encrypt settings (one encrypts frames, the other only authenticates them): refused',
} as const satisfies Record<string, string>;
