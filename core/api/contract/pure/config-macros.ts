// The macros of a module's userconfig.xml (`<macro name="N" value="V"/>`) as the console's
// install form lists them, and the `macros` field of the Configuration routes: NAME=VALUE
// lines, exactly what `hakit module install --macro NAME=VALUE` takes (one per line). The
// server applies them with the CLI's own code (modules/safe/with-macros.ts), so a bad line
// or an unknown macro gets the CLI's coded error. Pure: the console imports it too.

export interface ConfigMacro {
  readonly name: string;
  /** The value userconfig.xml gives it (the default the form shows). */
  readonly value: string;
  /** Line of its `<macro>` element (1-based). */
  readonly line: number;
}

/** A macro name as `--macro` accepts it. */
export const MACRO_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,63}$';
/** Longest value `--macro` accepts. */
export const MACRO_VALUE_MAX_CHARS = 1024;
/** At most this many lines in a `macros` field. */
export const MACROS_MAX = 64;
/** The `macros` field's longest text: MACROS_MAX lines of a name, "=", a value and a newline. */
export const MACROS_FIELD_MAX_CHARS = MACROS_MAX * (64 + 1 + MACRO_VALUE_MAX_CHARS + 1);

const MACRO_ELEMENT = /<macro\s+name="([A-Za-z_][A-Za-z0-9_]{0,63})"\s+value="([^"]*)"/g;

function unescapeXml(v: string): string {
  return v.replace(/&(quot|lt|gt|apos|amp);/g, (_all, e: string) => ({ quot: '"', lt: '<', gt: '>', apos: "'", amp: '&' })[e] ?? '');
}

/** The macros of a userconfig.xml text in file order, in the `name`-then-`value` form `--macro` can set; comments are skipped. */
export function macrosOf(xml: string): ConfigMacro[] {
  // Comments blanked out, their newlines kept so that lines still count right.
  const text = xml.replace(/<!--[\s\S]*?-->/g, (c) => c.replace(/[^\n]/g, ' '));
  const out: ConfigMacro[] = [];
  const seen = new Set<string>();
  for (const m of text.matchAll(MACRO_ELEMENT)) {
    const name = m[1] as string;
    if (seen.has(name)) continue; // defined twice: the check reports it (HAKIT_E_CONF_MACRO_DUPLICATE)
    seen.add(name);
    let line = 1;
    for (let i = text.indexOf('\n'); i !== -1 && i < (m.index ?? 0); i = text.indexOf('\n', i + 1)) line++;
    out.push({ name, value: unescapeXml(m[2] as string), line });
  }
  return out;
}

/** Why a value cannot be sent as `--macro NAME=VALUE` in a line, or null when it can. */
export function macroValueProblem(value: string): string | null {
  if (value.length > MACRO_VALUE_MAX_CHARS) return `longer than ${MACRO_VALUE_MAX_CHARS} characters`;
  if (/[\r\n]/.test(value)) return 'has a line break';
  return null;
}

/** The `macros` field for the values that differ from the defaults (in the defaults' order). */
export function macrosField(defaults: readonly ConfigMacro[], values: Readonly<Record<string, string>>): string {
  return defaults
    .filter((d) => Object.prototype.hasOwnProperty.call(values, d.name) && values[d.name] !== d.value)
    .map((d) => `${d.name}=${values[d.name] ?? ''}`)
    .join('\n');
}

/** The lines of a `macros` field (empty lines left out), each a `--macro` argument. */
export function macroLines(field: string): string[] {
  return field
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l !== '');
}
