// The cluster key authenticates heartbeats, replication and the witness. One reader serves
// the CLI, the daemon and the witness: core/config/cluster-store.ts.
export { readKey as readClusterKey, MAX_KEY_FILE_BYTES } from '../config/cluster-store';
