// Reads the few parts of a systemd service file that say how its process starts (ExecStart,
// Environment, EnvironmentFile) and expands ExecStart the way systemd does, so that the lab
// starts hakitd and hakit-witness from the very unit files the package installs
// (systemd.service(5) "Command lines", systemd.exec(5) "EnvironmentFile=", systemd.unit(5)
// "Specifiers"). Only what hakit's units use is supported; anything else is refused by name.
// Pure: text in, data out.

export interface EnvFileRef {
  readonly path: string;
  /** `EnvironmentFile=-/path`: a missing file is not an error. */
  readonly optional: boolean;
}

export interface ServiceStart {
  readonly execStart: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly environmentFiles: readonly EnvFileRef[];
}

/** The PATH systemd gives services (systemd.exec(5), "Environment variables in spawned processes"). */
export const SERVICE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Specifiers of a system unit (systemd.unit(5)): %S state, %L logs, %t runtime, %%. */
export const SYSTEM_SPECIFIERS: Readonly<Record<string, string>> = { S: '/var/lib', L: '/var/log', t: '/run', '%': '%' };

/** Words of a command line or an Environment= value: blanks split, quotes group, `\x` escapes. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new Error(`unterminated quote in: ${text}`);
  if (inWord) words.push(word);
  return words;
}

/** The [Service] keys that start the process. Throws on a unit with no single ExecStart. */
export function parseServiceStart(unitText: string): ServiceStart {
  let section = '';
  const execStarts: string[] = [];
  const environment: Record<string, string> = {};
  const environmentFiles: EnvFileRef[] = [];
  // A line ending in a backslash continues on the next one.
  const lines = unitText.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = head[1] as string;
      continue;
    }
    if (section !== 'Service') continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === 'ExecStart') execStarts.push(value);
    else if (key === 'EnvironmentFile') environmentFiles.push(value.startsWith('-') ? { path: value.slice(1), optional: true } : { path: value, optional: false });
    else if (key === 'Environment') {
      for (const assignment of splitWords(value)) {
        const at = assignment.indexOf('=');
        if (at > 0) environment[assignment.slice(0, at)] = assignment.slice(at + 1);
      }
    }
  }
  if (execStarts.length !== 1) throw new Error(`the unit has ${execStarts.length} ExecStart= lines; the lab expects exactly one`);
  const execStart = execStarts[0] as string;
  if (/^[-@:+!]/.test(execStart)) throw new Error(`ExecStart prefixes (${execStart[0]}) are not supported by the lab`);
  return { execStart, environment, environmentFiles };
}

/** An EnvironmentFile's assignments: KEY=VALUE lines, `#`/`;` comments, quoted values. */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.replace(/\\\n/g, '').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    const value = (m[2] as string).trim();
    const quoted = /^(["'])(.*)\1$/.exec(value);
    env[m[1] as string] = quoted ? (quoted[2] as string) : value;
  }
  return env;
}

/**
 * ExecStart as argv: `$VAR` alone in a word becomes the variable's words (none when unset or
 * empty), `${VAR}` is replaced inside its word, `%X` specifiers from `specifiers`.
 */
export function expandExecStart(execStart: string, env: Readonly<Record<string, string>>, specifiers: Readonly<Record<string, string>> = SYSTEM_SPECIFIERS): string[] {
  const argv: string[] = [];
  for (const word of splitWords(execStart)) {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
    if (whole) {
      argv.push(...splitWords(env[whole[1] as string] ?? ''));
      continue;
    }
    const withVars = word.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => env[name] ?? '');
    argv.push(
      withVars.replace(/%(.)/g, (_m, s: string) => {
        const v = specifiers[s];
        if (v === undefined) throw new Error(`specifier %${s} is not supported by the lab`);
        return v;
      }),
    );
  }
  if (argv.length === 0 || !(argv[0] as string).startsWith('/')) throw new Error(`ExecStart must start with an absolute path: ${execStart}`);
  return argv;
}
