// Where the API's TLS material lives (docs/api.md "TLS"): <conf>/tls/
//   ca.crt    the cluster CA certificate (every node; peers are verified against it)
//   ca.key    the CA's private key, 0600 (the node that ran `hakit cluster init`)
//   node.crt  this node's certificate (PEM; may hold the chain after the leaf)
//   node.key  this node's private key, 0600
// An admin installs their own certificate by replacing node.crt/node.key (and ca.crt by the
// CA that signed the other nodes' certificates, so nodes still verify each other).
import path from 'node:path';

export const TLS_FOLDER = 'tls';
export const CA_CERT = 'ca.crt';
export const CA_KEY = 'ca.key';
export const NODE_CERT = 'node.crt';
export const NODE_KEY = 'node.key';

export function tlsDir(conf_dir: string): string {
  return path.join(conf_dir, TLS_FOLDER);
}
