// A strict parser of the Prometheus text exposition format 0.0.4, for tests: every line must
// be a HELP, a TYPE (before the family's samples, once), a comment, or a sample whose name
// belongs to the last TYPE'd family; label values must be properly escaped; no duplicate
// series; values must be Go-parsable floats. Throws on the first violation, with the line.
export interface ParsedSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}
export interface ParsedFamily {
  readonly name: string;
  type: string;
  help: string;
  readonly samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(s: string, line: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad value "${s}" in: ${line}`);
  return Number(s);
}

function parseLabels(src: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let s = src;
  if (!s.startsWith('{')) return { labels, rest: s };
  s = s.slice(1);
  while (!s.startsWith('}')) {
    const m = LABEL.exec(s);
    if (!m) throw new Error(`bad label name in: ${line}`);
    const name = m[0];
    s = s.slice(name.length);
    if (!s.startsWith('="')) throw new Error(`expected =" after ${name} in: ${line}`);
    s = s.slice(2);
    let v = '';
    for (;;) {
      const c = s[0];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === '"') {
        s = s.slice(1);
        break;
      }
      if (c === '\\') {
        const n = s[1];
        if (n === '\\') v += '\\';
        else if (n === '"') v += '"';
        else if (n === 'n') v += '\n';
        else throw new Error(`bad escape \\${n ?? ''} in: ${line}`);
        s = s.slice(2);
        continue;
      }
      if (c === '\n') throw new Error(`raw newline in label value: ${line}`);
      v += c;
      s = s.slice(1);
    }
    if (Object.prototype.hasOwnProperty.call(labels, name)) throw new Error(`duplicate label ${name} in: ${line}`);
    labels[name] = v;
    if (s.startsWith(',')) s = s.slice(1);
    else if (!s.startsWith('}')) throw new Error(`expected , or } in: ${line}`);
  }
  return { labels, rest: s.slice(1) };
}

export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, ParsedFamily>();
  const series = new Set<string>();
  let current: ParsedFamily | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      if (!m) {
        if (line.startsWith('# HELP') || line.startsWith('# TYPE')) throw new Error(`bad ${line.slice(2, 6)} line: ${line}`);
        continue;
      }
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      let f = families.get(name);
      if (!f) {
        f = { name, type: 'untyped', help: '', samples: [] };
        families.set(name, f);
      } else if (f.samples.length > 0) throw new Error(`${kind} for ${name} after its samples: ${line}`);
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) throw new Error(`bad type ${rest}: ${line}`);
        if (f.type !== 'untyped') throw new Error(`second TYPE for ${name}`);
        f.type = rest;
      } else f.help = rest;
      current = f;
      continue;
    }
    const nm = NAME.exec(line);
    if (!nm) throw new Error(`bad metric name: ${line}`);
    const name = nm[0];
    const { labels, rest } = parseLabels(line.slice(name.length), line);
    const parts = rest.trim().split(/\s+/);
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`bad sample: ${line}`);
    const value = parseValue(parts[0] as string, line);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`bad timestamp: ${line}`);
    if (!current || (name !== current.name && !name.startsWith(`${current.name}_`))) throw new Error(`sample ${name} outside its family: ${line}`);
    if (current.type === 'counter' && (value < 0 || Number.isNaN(value))) throw new Error(`negative counter: ${line}`);
    const key = `${name}{${Object.entries(labels).sort().map(([k, v]) => `${k}=${v}`).join(',')}}`;
    if (series.has(key)) throw new Error(`duplicate series ${key}`);
    series.add(key);
    current.samples.push({ name, labels, value });
  }
  return families;
}
