// TLS material of the API: the cluster CA, node certificates, loading. See docs/api.md.
export { tlsDir, CA_CERT, CA_KEY, NODE_CERT, NODE_KEY } from './files';
export { createClusterCa, issueNodeCert, installNodeCert, readCaCert, type NodeCertPems } from './openssl-ca';
export { loadTlsMaterial, type TlsMaterial } from './load';
