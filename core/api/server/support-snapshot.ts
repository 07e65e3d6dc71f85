// A support snapshot of this node, as a zip in memory, for the console's download button:
// what `hakit snapshot -m M` writes (logs, cluster.xml, the modules' conf/ and bin/, their
// state and resources) with the same rules on secrets (core/monitor/pure/redact.ts: secret
// file names left out, <var> values masked), for one module or every installed one. Files
// are cut to their last SNAPSHOT_FILE_TAIL_BYTES so that the answer stays under the
// inter-node answer bound (peers.ts) when a peer forwards it.
import fs from 'node:fs';
import path from 'node:path';
import yazl from 'yazl';
import { isHakitError } from '../../errors/catalogue';
import { clusterXmlPath, moduleDir } from '../../config/paths';
import { DAEMON_LOG_FILE, moduleLogPath } from '../../log/logs';
import { isSecretFileName, redactUserconfig } from '../../monitor/pure/redact';
import type { ApiBackend } from './backend';

export const SNAPSHOT_FILE_TAIL_BYTES = 1024 * 1024;
/** Modules in one snapshot: each adds its log tail, so the zip stays bounded. */
export const SNAPSHOT_MODULES_MAX = 4;
/** Each state/resources question to hakitd gets this long. */
export const SNAPSHOT_CALL_TIMEOUT_MS = 2_000;

export interface SnapshotDeps {
  readonly backend: ApiBackend;
  readonly env: NodeJS.ProcessEnv;
  readonly modules: readonly string[];
  readonly product_version: string;
  readonly now_ms: () => number;
}

function readTail(file: string, max_bytes: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, max_bytes);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

function addFile(zip: yazl.ZipFile, file: string, name: string, skipped: string[]): void {
  if (isSecretFileName(path.basename(file))) {
    skipped.push(`${name} (secret)`);
    return;
  }
  try {
    if (!fs.statSync(file).isFile()) return;
    const bytes = readTail(file, SNAPSHOT_FILE_TAIL_BYTES);
    zip.addBuffer(path.basename(file) === 'userconfig.xml' ? Buffer.from(redactUserconfig(bytes.toString('utf8'))) : bytes, name);
  } catch {
    skipped.push(`${name} (unreadable or absent)`);
  }
}

function addTree(zip: yazl.ZipFile, dir: string, prefix: string, skipped: string[]): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const n of names) {
    const full = path.join(dir, n);
    const st = fs.lstatSync(full);
    if (st.isDirectory()) addTree(zip, full, `${prefix}/${n}`, skipped);
    else if (st.isFile()) addFile(zip, full, `${prefix}/${n}`, skipped);
  }
}

async function answerOf(backend: ApiBackend, cmd: string, args: Record<string, unknown>): Promise<Buffer> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = await Promise.race([
      backend.call(cmd, args),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${SNAPSHOT_CALL_TIMEOUT_MS} ms`)), SNAPSHOT_CALL_TIMEOUT_MS);
      }),
    ]);
    return Buffer.from(JSON.stringify(r, null, 2));
  } catch (e) {
    return Buffer.from(JSON.stringify({ error: { code: isHakitError(e) ? e.code : 'error', message: e instanceof Error ? e.message : String(e) } }, null, 2));
  } finally {
    clearTimeout(timer);
  }
}

export async function buildSupportSnapshot(d: SnapshotDeps): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const skipped: string[] = [];
  const node = d.backend.node;
  const modules = d.modules.slice(0, SNAPSHOT_MODULES_MAX);
  if (d.modules.length > modules.length) skipped.push(`modules ${d.modules.slice(SNAPSHOT_MODULES_MAX).join(', ')} (at most ${SNAPSHOT_MODULES_MAX} per snapshot; ask for each with ?module=)`);
  addFile(zip, clusterXmlPath(d.env), 'conf/cluster.xml', skipped);
  addFile(zip, path.join(d.backend.log_dir, DAEMON_LOG_FILE), `log/${DAEMON_LOG_FILE}`, skipped);
  zip.addBuffer(await answerOf(d.backend, 'state', {}), 'state.json');
  for (const m of modules) {
    addFile(zip, moduleLogPath(d.backend.log_dir, m), `log/${m}.log`, skipped);
    addTree(zip, path.join(moduleDir(m, d.env), 'conf'), `modules/${m}/conf`, skipped);
    addTree(zip, path.join(moduleDir(m, d.env), 'bin'), `modules/${m}/bin`, skipped);
    zip.addBuffer(await answerOf(d.backend, 'resources', { module: m }), `modules/${m}/resources.json`);
  }
  const readme = [
    `hakit support snapshot of node ${node}, ${new Date(d.now_ms()).toISOString()}, hakit ${d.product_version}`,
    `modules: ${modules.join(', ') || 'none installed'}`,
    `files are cut to their last ${SNAPSHOT_FILE_TAIL_BYTES} bytes; <var> values of userconfig.xml are masked`,
    `left out: ${skipped.join(', ') || 'nothing'}`,
    '',
  ].join('\n');
  zip.addBuffer(Buffer.from(readme), 'README.txt');
  zip.end();
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve());
    zip.outputStream.on('error', reject);
  });
  return Buffer.concat(chunks);
}
