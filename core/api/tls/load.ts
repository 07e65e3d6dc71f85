// Reads this node's TLS material for the API server. Missing material is not an error to
// crash on: the daemon then serves no API and says why (HAKIT_E_API_NO_TLS).
import fs from 'node:fs';
import path from 'node:path';
import { HakitError } from '../../errors/catalogue';
import { CA_CERT, NODE_CERT, NODE_KEY, tlsDir } from './files';

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** The CA that signed the peers' certificates; null: verify peers against the system store. */
  readonly ca: string | null;
  readonly dir: string;
}

const MAX_PEM_BYTES = 256 * 1024;

function readPem(file: string, secret: boolean): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new HakitError('HAKIT_E_API_NO_TLS', 'missing (run `hakit cluster init`, or install your own certificate: docs/api.md)', file);
  }
  if (!st.isFile() || st.size > MAX_PEM_BYTES) throw new HakitError('HAKIT_E_API_TLS', 'not a PEM file of sensible size', file);
  if (secret && (st.mode & 0o077) !== 0) throw new HakitError('HAKIT_E_API_TLS', `private key readable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`, file);
  return fs.readFileSync(file, 'utf8');
}

export function loadTlsMaterial(conf_dir: string): TlsMaterial {
  const dir = tlsDir(conf_dir);
  const key = readPem(path.join(dir, NODE_KEY), true);
  const cert = readPem(path.join(dir, NODE_CERT), false);
  let ca: string | null = null;
  if (fs.existsSync(path.join(dir, CA_CERT))) ca = readPem(path.join(dir, CA_CERT), false);
  return { cert, key, ca, dir };
}
