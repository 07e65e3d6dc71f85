// A module to install, as a .safe file: `hakit module install` takes a .safe or a module
// directory, and `--macro NAME=VALUE` sets a macro of its userconfig.xml (a site value such as
// the virtual IP) without editing files by hand. The result is a new .safe in a temp dir;
// the original is never changed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HakitError } from '../../core/errors/catalogue';
import { packModule } from './pack';
import { unpackSafe } from './unpack';

const MACRO_ARG = /^([A-Za-z_][A-Za-z0-9_]{0,63})=(.{0,1024})$/s;

export interface PreparedSafe {
  readonly file: string;
  /** Removes the temp copy (a no-op when the original .safe was used as it is). */
  dispose(): void;
}

function escapeAttr(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** Sets each NAME=VALUE on an existing `<macro name="NAME" value="…"/>`; an unknown macro is an error. */
export function setMacros(xml: string, macros: readonly string[]): string {
  let out = xml;
  for (const m of macros) {
    const parts = MACRO_ARG.exec(m);
    if (!parts) throw new HakitError('HAKIT_E_USAGE', `"${m}" is not NAME=VALUE`, '--macro');
    const re = new RegExp(`(<macro\\s+name="${parts[1]}"\\s+value=")[^"]*(")`);
    if (!re.test(out)) throw new HakitError('HAKIT_E_USAGE', `userconfig.xml has no <macro name="${parts[1]}">`, '--macro');
    out = out.replace(re, (_all, a: string, b: string) => `${a}${escapeAttr(parts[2]!)}${b}`);
  }
  return out;
}

export async function prepareSafe(source: string, macros: readonly string[]): Promise<PreparedSafe> {
  const isDir = fs.statSync(source, { throwIfNoEntry: false })?.isDirectory() === true;
  if (!isDir && macros.length === 0) return { file: source, dispose: () => undefined };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-install-'));
  const dispose = (): void => fs.rmSync(tmp, { recursive: true, force: true });
  try {
    const name = path.basename(source, '.safe');
    const dir = path.join(tmp, name);
    if (isDir) fs.cpSync(source, dir, { recursive: true });
    else await unpackSafe(source, dir);
    const conf = path.join(dir, 'conf', 'userconfig.xml');
    if (macros.length > 0) fs.writeFileSync(conf, setMacros(fs.readFileSync(conf, 'utf8'), macros));
    const file = path.join(tmp, `${name}.safe`);
    await packModule(dir, file);
    return { file, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}
