// Installing cluster.xml and creating the cluster key. Both write a temp file next to the
// target and rename it, so a crash leaves the old file or the new one, never half of one.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { HakitError } from '../errors/catalogue';
import { MIN_KEY_BYTES } from '../membership/wire/limits';
import { ConfigIssuesError, loadClusterConfig } from './load';
import { clusterXmlPath, confDir } from './paths';
import type { DeepReadonlyClusterConfig } from './pure/types-frozen';

export const CLUSTER_KEY_BYTES = 32;

/** Validates FILE as cluster.xml; throws every issue. */
export function confcheckCluster(file: string, env: NodeJS.ProcessEnv = process.env): DeepReadonlyClusterConfig {
  const r = loadClusterConfig(file, path.basename(file), confDir(env));
  if (!r.ok) throw new ConfigIssuesError(r.errors);
  return r.value;
}

/** Validates then installs FILE as `<conf>/cluster.xml` (the previous one kept as cluster.xml.prev). */
export function installCluster(file: string, env: NodeJS.ProcessEnv = process.env): { path: string; config: DeepReadonlyClusterConfig } {
  const config = confcheckCluster(file, env);
  const target = clusterXmlPath(env);
  const tmp = `${target}.tmp-${process.pid}`;
  try {
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
    fs.copyFileSync(file, tmp);
    fs.chmodSync(tmp, 0o644);
    syncFile(tmp);
    if (fs.existsSync(target)) fs.copyFileSync(target, `${target}.prev`);
    fs.renameSync(tmp, target);
  } catch (e) {
    removeQuietly(tmp);
    throw new HakitError('HAKIT_E_CLUSTER_INSTALL', `cannot install: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, target);
  }
  return { path: target, config };
}

export function genKey(file: string, force: boolean): void {
  if (fs.existsSync(file) && !force) throw new HakitError('HAKIT_E_CLUSTER_KEY_EXISTS', 'the key file exists; use --force to replace it (then copy it to every node)', file);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeSync(fd, crypto.randomBytes(CLUSTER_KEY_BYTES));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    removeQuietly(tmp);
    throw new HakitError('HAKIT_E_CLUSTER_INSTALL', `cannot write the key: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, file);
  }
}

/** Reads the cluster key; refuses a key of the wrong size or readable by group/others. */
/** Longest key file accepted (a key is 32 random bytes; text keys may be longer). */
export const MAX_KEY_FILE_BYTES = 4096;

/** Reads the cluster key: a regular file (not a link) owned by this user, mode 600; its bytes
 * without a trailing newline are the key. The one reader for the daemon, the witness and the CLI. */
export function readKey(file: string): Buffer {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    throw new HakitError('HAKIT_E_CLUSTER_KEY_BAD', `cannot read the key: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, file);
  }
  const uid = process.getuid?.() ?? 0;
  if (!st.isFile()) throw new HakitError('HAKIT_E_CLUSTER_KEY_BAD', 'not a regular file (a link or a directory is refused)', file);
  if (st.uid !== uid) throw new HakitError('HAKIT_E_CLUSTER_KEY_BAD', `owned by uid ${st.uid}, not by uid ${uid} that runs hakit; chown it`, file);
  if ((st.mode & 0o077) !== 0) throw new HakitError('HAKIT_E_CLUSTER_KEY_BAD', `mode ${(st.mode & 0o777).toString(8)} lets others read it; chmod 600`, file);
  if (st.size > MAX_KEY_FILE_BYTES) throw new HakitError('HAKIT_E_CLUSTER_KEY_BAD', `${st.size} bytes, more than ${MAX_KEY_FILE_BYTES}`, file);
  const buf = fs.readFileSync(file);
  let end = buf.length;
  while (end > 0 && (buf[end - 1] === 0x0a || buf[end - 1] === 0x0d)) end--;
  if (end < MIN_KEY_BYTES) throw new HakitError('HAKIT_E_CLUSTER_KEY_BAD', `the key has ${end} bytes, at least ${MIN_KEY_BYTES} are needed`, file);
  return buf.subarray(0, end);
}

function syncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Cleanup after a failure must not hide the failure with an error of its own. */
function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // the original error is what the caller reports
  }
}
