// The cluster CA and node certificates, made with the `openssl` command (Debian's openssl
// package): X.509 signing is not in Node's crypto, and the CLI is the reference
// implementation every admin can also run by hand. Keys are ECDSA P-256; CA 10 years, node
// certificates 5 years (renewed by issuing again). Called by `hakit cluster init/join` and
// tests; never by the daemon's hot path.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HakitError } from '../../errors/catalogue';
import { CA_CERT, CA_KEY, NODE_CERT, NODE_KEY, tlsDir } from './files';
import { sanList } from './sans';

export const OPENSSL_TIMEOUT_MS = 20_000;
export const CA_DAYS = 3650;
export const NODE_CERT_DAYS = 1825;

export interface NodeCertPems {
  readonly cert: string;
  readonly key: string;
}

function openssl(args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', [...args], { cwd, timeout: OPENSSL_TIMEOUT_MS, maxBuffer: 1024 * 1024 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the openssl command is missing (apt-get install openssl)' : String(stderr).trim().split('\n').slice(-2).join(' ') || err.message;
      reject(new HakitError('HAKIT_E_API_TLS', `openssl ${args[0]} failed: ${why}`, 'TLS material'));
    });
  });
}

async function inTemp<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-tls-'));
  try {
    return await f(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes atomically (temp + rename) with the given mode. */
export function writeSecure(file: string, text: string, mode: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeSync(fd, text);
    fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/**
 * Creates the cluster CA in <conf>/tls (ca.crt 0644, ca.key 0600). Refuses to replace an
 * existing CA unless `force` (every node certificate it signed would stop being trusted).
 */
export async function createClusterCa(conf_dir: string, cluster_name: string, force = false): Promise<{ cert_file: string }> {
  const dir = tlsDir(conf_dir);
  const cert_file = path.join(dir, CA_CERT);
  if (!force && fs.existsSync(cert_file)) throw new HakitError('HAKIT_E_API_TLS', 'a cluster CA exists already (force to replace it: every node certificate must then be issued again)', cert_file);
  const cn = `hakit cluster CA ${cluster_name}`.replace(/[^A-Za-z0-9 _.-]/g, '_').slice(0, 60);
  await inTemp(async (tmp) => {
    await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], tmp);
    await openssl(
      ['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', String(CA_DAYS), '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'ca.crt'],
      tmp,
    );
    writeSecure(path.join(dir, CA_KEY), fs.readFileSync(path.join(tmp, 'ca.key'), 'utf8'), 0o600);
    writeSecure(cert_file, fs.readFileSync(path.join(tmp, 'ca.crt'), 'utf8'), 0o644);
  });
  return { cert_file };
}

/**
 * Issues a certificate for a node, signed by the CA of <conf>/tls (which needs ca.key):
 * CN = node name, SANs = the name, `localhost`, 127.0.0.1 and the node's addresses (from
 * cluster.xml). Usable as server and client certificate. Returns the PEMs; the caller
 * installs them where they belong (installNodeCert here, or on the joining node).
 */
export async function issueNodeCert(conf_dir: string, node: string, addresses: readonly string[]): Promise<NodeCertPems> {
  const dir = tlsDir(conf_dir);
  const sans = sanList(node, addresses);
  return inTemp(async (tmp) => {
    fs.writeFileSync(path.join(tmp, 'ext.cnf'), `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyAgreement\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${sans}\n`);
    await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'node.key'], tmp);
    await openssl(['req', '-new', '-key', 'node.key', '-subj', `/CN=${node}`, '-out', 'node.csr'], tmp);
    await openssl(
      ['x509', '-req', '-in', 'node.csr', '-CA', path.join(dir, CA_CERT), '-CAkey', path.join(dir, CA_KEY), '-set_serial', `0x${Date.now().toString(16)}${process.pid.toString(16)}`, '-sha256', '-days', String(NODE_CERT_DAYS), '-extfile', 'ext.cnf', '-out', 'node.crt'],
      tmp,
    );
    return { cert: fs.readFileSync(path.join(tmp, 'node.crt'), 'utf8'), key: fs.readFileSync(path.join(tmp, 'node.key'), 'utf8') };
  });
}

/** Installs this node's certificate and key (node.crt 0644, node.key 0600), and the CA certificate when given. */
export function installNodeCert(conf_dir: string, pems: NodeCertPems, ca_cert?: string): void {
  const dir = tlsDir(conf_dir);
  if (ca_cert !== undefined) writeSecure(path.join(dir, CA_CERT), ca_cert, 0o644);
  writeSecure(path.join(dir, NODE_KEY), pems.key, 0o600);
  writeSecure(path.join(dir, NODE_CERT), pems.cert, 0o644);
}

/** The CA certificate's PEM (to hand to a joining node), or null. */
export function readCaCert(conf_dir: string): string | null {
  try {
    return fs.readFileSync(path.join(tlsDir(conf_dir), CA_CERT), 'utf8');
  } catch {
    return null;
  }
}
