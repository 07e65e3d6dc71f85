// A module to install, as a .safe file: `hakit module install` takes a .safe or a module
// directory, and `--macro NAME=VALUE` sets a macro of its userconfig.xml (a site value such as
// the virtual IP) without editing files by hand. The result is a new .safe in a temp dir;
// the original is never changed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HakitError, isHakitError } from '../../core/errors/catalogue';
import { parseXml, startTagAttributes } from '../../core/config/xml/parse-xml';
import { listModuleFiles, packModule } from './pack';
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

interface MacroTag {
  /** Offsets of the whole start tag in the text. */
  readonly start: number;
  readonly end: number;
  readonly line: number;
}

/**
 * The `<macro …>` start tags of a well-formed XML text, outside comments, CDATA sections,
 * processing instructions and the DOCTYPE: the elements the parser sees, found in the text so
 * that an edit keeps every other byte of the user's file (layout, comments, quoting).
 */
function macroTags(xml: string): MacroTag[] {
  const out: MacroTag[] = [];
  const skipTo = (from: number, close: string): number => {
    const e = xml.indexOf(close, from);
    return e === -1 ? xml.length : e + close.length;
  };
  let i = xml.indexOf('<');
  while (i !== -1 && i < xml.length) {
    let next: number;
    if (xml.startsWith('<!--', i)) next = skipTo(i + 4, '-->');
    else if (xml.startsWith('<![CDATA[', i)) next = skipTo(i + 9, ']]>');
    else if (xml.startsWith('<?', i)) next = skipTo(i + 2, '?>');
    else if (xml.startsWith('<!', i)) next = skipTo(i + 2, '>'); // a bare DOCTYPE (parseXml refuses any other)
    else {
      // A start or end tag: it ends at the first `>` outside a quoted attribute value.
      let j = i + 1;
      let quote: string | null = null;
      for (; j < xml.length; j++) {
        const c = xml[j];
        if (quote !== null) {
          if (c === quote) quote = null;
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>') break;
      }
      next = j + 1;
      if (/^<macro[\s/>]/.test(xml.slice(i, i + 7))) out.push({ start: i, end: next, line: xml.slice(0, i).split('\n').length });
    }
    i = xml.indexOf('<', next);
  }
  return out;
}

/**
 * Sets each NAME=VALUE on the file's `<macro name="NAME" value="…"/>`, whatever the order or
 * quoting of its attributes; a macro in a comment is not one. An unknown macro, or one defined
 * more than once, is an error: setting one of two would leave the file saying two things.
 */
export function setMacros(xml: string, macros: readonly string[]): string {
  let out = xml;
  let parsedOnce = false;
  for (const m of macros) {
    const parts = MACRO_ARG.exec(m);
    if (!parts) throw new HakitError('HAKIT_E_USAGE', `"${m}" is not NAME=VALUE`, '--macro');
    const [, name, value] = parts as unknown as [string, string, string];
    // Only a file the parser accepts is edited: the scan below relies on well-formed XML.
    // Once is enough: an edit only replaces an attribute value with an escaped one.
    if (!parsedOnce) {
      const parsed = parseXml(out, 'userconfig.xml');
      if ('issue' in parsed) throw new HakitError(parsed.issue.code, parsed.issue.message, parsed.issue.where);
      parsedOnce = true;
    }
    const found = macroTags(out).filter((t) => startTagAttributes(out.slice(t.start, t.end)).some((a) => a.name === 'name' && a.value === name));
    const tag = found[0];
    if (tag === undefined) throw new HakitError('HAKIT_E_USAGE', `userconfig.xml has no <macro name="${name}">`, '--macro');
    if (found.length > 1) {
      throw new HakitError('HAKIT_E_CONF_MACRO_DUPLICATE', `userconfig.xml defines <macro name="${name}"> ${found.length} times (lines ${found.map((t) => t.line).join(', ')}); keep one`, '--macro');
    }
    const text = out.slice(tag.start, tag.end);
    const attr = startTagAttributes(text).find((a) => a.name === 'value');
    const set = `value="${escapeAttr(value)}"`;
    // No value attribute yet: add one right after the tag name.
    const edited = attr === undefined ? `<macro ${set}${text.slice('<macro'.length)}` : `${text.slice(0, attr.start)}${set}${text.slice(attr.end)}`;
    out = `${out.slice(0, tag.start)}${edited}${out.slice(tag.end)}`;
  }
  return out;
}

/** An fs error as HAKIT_E_MOD_IO naming the file, never a bare stack (a coded error passes). */
function ioError(e: unknown, what: string, where: string): HakitError {
  if (isHakitError(e)) return e;
  return new HakitError('HAKIT_E_MOD_IO', `${what}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, where);
}

/**
 * Copies the files `module validate` accepts (listModuleFiles: only regular files under conf/
 * and bin/, coded errors for anything else) from a module directory, keeping their modes.
 * Copying only what was listed means a FIFO, socket or device in the directory is refused
 * before anything is read, instead of blocking or failing inside a recursive copy.
 */
function copyModuleDir(source: string, dest: string): void {
  const files = listModuleFiles(source);
  for (const f of files) {
    const from = path.join(source, f.rel);
    try {
      fs.mkdirSync(path.dirname(path.join(dest, f.rel)), { recursive: true, mode: 0o700 });
      fs.copyFileSync(from, path.join(dest, f.rel), fs.constants.COPYFILE_EXCL);
    } catch (e) {
      throw ioError(e, 'cannot copy the module file', from);
    }
  }
}

export async function prepareSafe(source: string, macros: readonly string[]): Promise<PreparedSafe> {
  let isDir: boolean;
  try {
    isDir = fs.statSync(source, { throwIfNoEntry: false })?.isDirectory() === true;
  } catch (e) {
    throw ioError(e, 'cannot read', source);
  }
  if (!isDir && macros.length === 0) return { file: source, dispose: () => undefined };
  let tmp: string;
  try {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-install-'));
  } catch (e) {
    throw ioError(e, 'cannot make a temp directory', os.tmpdir());
  }
  const dispose = (): void => fs.rmSync(tmp, { recursive: true, force: true });
  try {
    const name = path.basename(source, '.safe');
    const dir = path.join(tmp, name);
    if (isDir) copyModuleDir(source, dir);
    else await unpackSafe(source, dir);
    if (macros.length > 0) {
      const conf = path.join(dir, 'conf', 'userconfig.xml');
      // Shown as the user knows it: the directory or package they gave.
      const shown = `${source.replace(/\/+$/, '')}${isDir ? '/' : ':'}conf/userconfig.xml`;
      if (!fs.existsSync(conf)) throw new HakitError('HAKIT_E_MOD_NO_USERCONFIG', 'conf/userconfig.xml is missing: there is no macro to set', shown);
      let text: string;
      try {
        text = fs.readFileSync(conf, 'utf8');
      } catch (e) {
        throw ioError(e, 'cannot read', shown);
      }
      const edited = setMacros(text, macros);
      try {
        fs.writeFileSync(conf, edited);
      } catch (e) {
        throw ioError(e, 'cannot write', shown);
      }
    }
    const file = path.join(tmp, `${name}.safe`);
    await packModule(dir, file);
    return { file, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}
