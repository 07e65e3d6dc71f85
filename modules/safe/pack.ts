// Packs a module directory (conf/ and bin/) into a .safe zip. Entries are sorted and carry a
// fixed time, so packing the same module twice gives the same bytes.
import fs from 'node:fs';
import path from 'node:path';
import yazl from 'yazl';
import { HakitError } from '../../core/errors/catalogue';
import { SAFE_LIMITS } from './limits';
import { applySecretAccess, secretAccess } from '../../core/log/file-access';

const FIXED_MTIME = new Date(Date.UTC(2020, 0, 1));
export const MODULE_TOP_DIRS = ['conf', 'bin'] as const;

/** Every regular file under conf/ and bin/, relative, sorted; anything else is refused. */
export function listModuleFiles(dir: string): { rel: string; executable: boolean }[] {
  const out: { rel: string; executable: boolean }[] = [];
  let top: fs.Stats;
  try {
    top = fs.statSync(dir);
  } catch (e) {
    throw new HakitError('HAKIT_E_MOD_IO', `cannot read the module directory: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, dir);
  }
  if (!top.isDirectory()) throw new HakitError('HAKIT_E_MOD_IO', 'not a directory (a module directory holds conf/ and bin/)', dir);
  // An unreadable entry (EACCES, removed meanwhile) is a coded error naming it, never a stack.
  const io = <T>(rel: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw new HakitError('HAKIT_E_MOD_IO', `cannot read ${rel || 'the module directory'}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, dir);
    }
  };
  const walk = (rel: string): void => {
    const abs = path.join(dir, rel);
    const st = io(rel, () => fs.lstatSync(abs));
    if (st.isDirectory()) {
      for (const name of io(rel, () => fs.readdirSync(abs)).sort()) walk(path.posix.join(rel, name));
    } else if (st.isFile()) {
      out.push({ rel, executable: (st.mode & 0o111) !== 0 });
    } else {
      throw new HakitError('HAKIT_E_MOD_LAYOUT', `${rel} is not a regular file or directory`, dir);
    }
    if (out.length > SAFE_LIMITS.entries_max) throw new HakitError('HAKIT_E_SAFE_TOO_MANY', `more than ${SAFE_LIMITS.entries_max} files`, dir);
  };
  for (const top of io('', () => fs.readdirSync(dir)).sort()) {
    if (!(MODULE_TOP_DIRS as readonly string[]).includes(top)) {
      throw new HakitError('HAKIT_E_MOD_LAYOUT', `${top} is not conf/ or bin/ (a module holds only those)`, dir);
    }
    walk(top);
  }
  return out;
}

export async function packModule(dir: string, outFile: string): Promise<void> {
  const files = listModuleFiles(dir);
  const zip = new yazl.ZipFile();
  for (const f of files) {
    zip.addBuffer(fs.readFileSync(path.join(dir, f.rel)), f.rel, { mtime: FIXED_MTIME, mode: f.executable ? 0o100755 : 0o100644 });
  }
  zip.end();
  const tmp = `${outFile}.tmp-${process.pid}`;
  try {
    await new Promise<void>((resolve, reject) => {
      // The package holds conf/userconfig.xml (its <var> values are often secrets).
      const out = fs.createWriteStream(tmp, { mode: secretAccess().file_mode });
      zip.outputStream.pipe(out).on('close', resolve).on('error', reject);
      zip.outputStream.on('error', reject);
    });
    applySecretAccess(tmp);
    fs.renameSync(tmp, outFile);
  } catch (e) {
    removeQuietly(tmp);
    throw new HakitError('HAKIT_E_MOD_IO', `cannot write the package: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, outFile);
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
