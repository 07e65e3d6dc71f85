// Codes of the mirror engine as hakitd runs it (core/module/runner/replication-*.ts,
// core/daemon/mirror-*.ts): placement of the replication stream and the rfs* commands.
export const REPLICATION_CODES = {
  HAKIT_E_REPL_NOT_PRIM: 'rfsverify, rfsdiff and fullsync run on the node where the mirror module is PRIM or ALONE',
  HAKIT_E_REPL_NOT_MIRROR: 'the module replicates nothing (not a mirror module, or no <rfs> directory)',
  HAKIT_E_REPL_NO_PEER: 'the mirror module names no peer node or no replication address for it in cluster.xml',
  HAKIT_E_REPL_PORT_CLASH: 'two mirror modules map to the same replication TCP port',
  HAKIT_E_REPL_START: 'the mirror engine could not start (mount, listen, journal): the application is not started',
} as const;
