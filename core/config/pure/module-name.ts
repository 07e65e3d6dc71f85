// The module name rule, and which character breaks it. A module name is used as a folder,
// an nft table, a systemd unit and a log file name, so the rule stays narrow: a letter, then
// letters, digits or `_`, at most 32. The explanation names the first wrong character and
// its position (1-based), so a SafeKit user renaming `my-app` sees at once what to change.

export const MODULE_NAME_MAX_CHARS = 32;
export const MODULE_NAME_RULE = 'a letter, then letters, digits or _; at most 32';

const LETTER = /^[A-Za-z]$/;
const NAME_CHAR = /^[A-Za-z0-9_]$/;

function shown(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  // Invisible or control characters are named by their code point, not printed.
  return cp < 0x21 || (cp >= 0x7f && cp < 0xa1) || ch.trim() === '' ? `U+${cp.toString(16).toUpperCase().padStart(4, '0')}` : JSON.stringify(ch);
}

/** null when `name` is a valid module name; otherwise what is wrong and where. */
export function moduleNameProblem(name: string): string | null {
  const chars = [...name];
  if (chars.length === 0) return 'the name is empty';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (i === 0 && !LETTER.test(ch)) return `character 1 (${shown(ch)}) must be a letter`;
    if (i > 0 && !NAME_CHAR.test(ch)) return `character ${i + 1} (${shown(ch)}) is not a letter, digit or _`;
  }
  if (chars.length > MODULE_NAME_MAX_CHARS) return `${chars.length} characters, at most ${MODULE_NAME_MAX_CHARS}`;
  // Names are keys of plain objects in several places (the witness's records, views by
  // module): one that names a member every object inherits would read that member instead.
  if (name in Object.prototype) return `${JSON.stringify(name)} is reserved (a member of every JavaScript object)`;
  return null;
}

/** The whole message of HAKIT_E_MOD_NAME for `name`. */
export function moduleNameMessage(name: string): string {
  const why = moduleNameProblem(name) ?? 'valid';
  return `${JSON.stringify(name.slice(0, 64))} is not a module name: ${why} (${MODULE_NAME_RULE})`;
}
