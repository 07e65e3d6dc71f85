// Attribute types of the config schemas. Each parses the raw attribute text into a typed
// value or says, in words an admin understands, why it cannot. The same table feeds the docs.
import type { ConfigErrorCode } from '../../errors/codes/config';

export type AttrValue = string | number | boolean | PortRange | readonly string[];

export interface PortRange {
  readonly first: number;
  readonly last: number;
}

export type AttrType =
  | { readonly kind: 'string'; readonly maxChars?: number }
  | { readonly kind: 'name' }
  | { readonly kind: 'names' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'bool' }
  | { readonly kind: 'int'; readonly min: number; readonly max: number }
  | { readonly kind: 'duration'; readonly bareUnit: 'ms' | 's' | 'h'; readonly min_ms: number; readonly max_ms: number }
  | { readonly kind: 'size'; readonly min_bytes: number; readonly max_bytes: number }
  | { readonly kind: 'ip' }
  | { readonly kind: 'ipv4' }
  | { readonly kind: 'port' }
  | { readonly kind: 'portrange' }
  | { readonly kind: 'abspath' }
  | { readonly kind: 'relpath' }
  | { readonly kind: 'regex' }
  | { readonly kind: 'mac' }
  | { readonly kind: 'witness' };

export type Parsed = { readonly ok: true; readonly value: AttrValue } | { readonly ok: false; readonly code: ConfigErrorCode; readonly message: string };

/** Names of nodes, LANs, heartbeats, checkers, groups: safe in file names and log lines. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const STRING_MAX_CHARS_DEFAULT = 4096;
const PATH_MAX_CHARS = 4095;
const REGEX_MAX_CHARS = 1024;
const MS_PER_UNIT: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };
const BYTES_PER_UNIT: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

const ok = (value: AttrValue): Parsed => ({ ok: true, value });
const bad = (code: ConfigErrorCode, message: string): Parsed => ({ ok: false, code, message });

export function parseAttr(type: AttrType, raw: string): Parsed {
  switch (type.kind) {
    case 'string':
      if (raw.length > (type.maxChars ?? STRING_MAX_CHARS_DEFAULT)) return bad('HAKIT_E_CONF_BAD_VALUE', `longer than ${type.maxChars ?? STRING_MAX_CHARS_DEFAULT} characters`);
      return hasControlChars(raw) ? bad('HAKIT_E_CONF_BAD_VALUE', 'contains control characters') : ok(raw);
    case 'name':
      return NAME_PATTERN.test(raw) ? ok(raw) : bad('HAKIT_E_CONF_BAD_NAME', 'not a name (letters, digits, _ . -, starting with a letter or digit, at most 63)');
    case 'names':
      return parseNames(raw);
    case 'enum':
      return type.values.includes(raw) ? ok(raw) : bad('HAKIT_E_CONF_BAD_ENUM', `not one of ${type.values.join('|')}`);
    case 'bool':
      if (raw === 'on' || raw === 'true' || raw === 'yes') return ok(true);
      if (raw === 'off' || raw === 'false' || raw === 'no') return ok(false);
      return bad('HAKIT_E_CONF_BAD_ENUM', 'not one of on|off');
    case 'int':
      return parseInt10(raw, type.min, type.max);
    case 'duration':
      return parseDuration(raw, type.bareUnit, type.min_ms, type.max_ms);
    case 'size':
      return parseSize(raw, type.min_bytes, type.max_bytes);
    case 'ip':
      return isIPv4(raw) || isIPv6(raw) ? ok(raw) : bad('HAKIT_E_CONF_BAD_ADDR', 'not an IPv4 or IPv6 address');
    case 'ipv4':
      return isIPv4(raw) ? ok(raw) : bad('HAKIT_E_CONF_BAD_ADDR', 'not an IPv4 address');
    case 'port':
      return parsePort(raw);
    case 'portrange':
      return parsePortRange(raw);
    case 'abspath':
      return parseAbsPath(raw);
    case 'relpath':
      return parseRelPath(raw);
    case 'regex':
      return parseRegex(raw);
    case 'mac':
      return /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(raw) ? ok(raw.toLowerCase()) : bad('HAKIT_E_CONF_BAD_VALUE', 'not a MAC address (six hex pairs separated by :)');
    case 'witness':
      return parseWitness(raw);
  }
}

/** One line of text for docs: what an attribute of this type accepts. */
export function describeType(type: AttrType): string {
  switch (type.kind) {
    case 'string': return 'text';
    case 'name': return 'name';
    case 'names': return 'names, space or comma separated';
    case 'enum': return type.values.map((v) => `\`${v}\``).join(' \\| ');
    case 'bool': return '`on` \\| `off`';
    case 'int': return `integer ${type.min}..${type.max}`;
    case 'duration': return `duration (\`700ms\`, \`30s\`, \`5m\`, \`1h\`; bare number = ${type.bareUnit})`;
    case 'size': return 'size in bytes (`512`, `64K`, `10M`, `1G`)';
    case 'ip': return 'IPv4 or IPv6 address';
    case 'ipv4': return 'IPv4 address';
    case 'port': return 'port 1..65535';
    case 'portrange': return 'port or range (`80`, `8000-8010`)';
    case 'abspath': return 'absolute path';
    case 'relpath': return 'relative path';
    case 'regex': return 'regular expression';
    case 'mac': return 'MAC address';
    case 'witness': return '`ADDR` or `ADDR:PORT`';
  }
}

function hasControlChars(raw: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(raw);
}

function parseNames(raw: string): Parsed {
  const names = raw.split(/[\s,]+/).filter((n) => n !== '');
  if (names.length === 0) return bad('HAKIT_E_CONF_BAD_NAME', 'empty list of names');
  const wrong = names.find((n) => !NAME_PATTERN.test(n));
  return wrong === undefined ? ok(names) : bad('HAKIT_E_CONF_BAD_NAME', `"${wrong}" is not a name`);
}

function parseInt10(raw: string, min: number, max: number): Parsed {
  if (!/^-?[0-9]{1,15}$/.test(raw)) return bad('HAKIT_E_CONF_BAD_NUMBER', 'not an integer');
  const n = Number(raw);
  return n < min || n > max ? bad('HAKIT_E_CONF_BAD_NUMBER', `out of range ${min}..${max}`) : ok(n);
}

function parseDuration(raw: string, bareUnit: 'ms' | 's' | 'h', min_ms: number, max_ms: number): Parsed {
  const m = /^([0-9]{1,12})(ms|s|m|min|h)?$/.exec(raw);
  if (!m) return bad('HAKIT_E_CONF_BAD_DURATION', 'not a duration (e.g. 700ms, 30s, 5m)');
  const unitMs = MS_PER_UNIT[m[2] ?? bareUnit] ?? 1;
  const ms = Number(m[1]) * unitMs;
  if (ms < min_ms || ms > max_ms) return bad('HAKIT_E_CONF_BAD_DURATION', `out of range ${min_ms}ms..${max_ms}ms`);
  return ok(ms);
}

function parseSize(raw: string, min_bytes: number, max_bytes: number): Parsed {
  const m = /^([0-9]{1,15})([kKmMgG]?)$/.exec(raw);
  if (!m) return bad('HAKIT_E_CONF_BAD_SIZE', 'not a size (e.g. 512, 64K, 10M, 1G)');
  const bytes = Number(m[1]) * (BYTES_PER_UNIT[(m[2] ?? '').toLowerCase()] ?? 1);
  if (bytes < min_bytes || bytes > max_bytes) return bad('HAKIT_E_CONF_BAD_SIZE', `out of range ${min_bytes}..${max_bytes} bytes`);
  return ok(bytes);
}

export function isIPv4(raw: string): boolean {
  const parts = raw.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

export function isIPv6(raw: string): boolean {
  if (raw.length > 45 || !/^[0-9a-fA-F:.]+$/.test(raw)) return false;
  let head = raw;
  const lastColon = raw.lastIndexOf(':');
  if (raw.includes('.')) {
    // A trailing dotted quad stands for the last two groups.
    if (!isIPv4(raw.slice(lastColon + 1))) return false;
    head = raw.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return false;
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const all = halves.flatMap(groups);
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? all.length <= 7 : all.length === 8;
}

function parsePort(raw: string): Parsed {
  if (!/^[0-9]{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) return bad('HAKIT_E_CONF_BAD_PORT', 'not a port 1..65535');
  return ok(Number(raw));
}

function parsePortRange(raw: string): Parsed {
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(raw);
  const first = m ? Number(m[1]) : NaN;
  const last = m && m[2] !== undefined ? Number(m[2]) : first;
  if (!m || first < 1 || last > 65535 || last < first) return bad('HAKIT_E_CONF_BAD_PORT', 'not a port or port range (80, 8000-8010) within 1..65535');
  return ok({ first, last });
}

function parseAbsPath(raw: string): Parsed {
  if (!raw.startsWith('/')) return bad('HAKIT_E_CONF_BAD_PATH', 'not an absolute path');
  if (raw.length > PATH_MAX_CHARS || hasControlChars(raw)) return bad('HAKIT_E_CONF_BAD_PATH', 'too long or contains control characters');
  if (raw.split('/').some((seg) => seg === '..' || seg === '.')) return bad('HAKIT_E_CONF_BAD_PATH', 'contains . or .. segments');
  const normal = raw.length > 1 ? raw.replace(/\/+/g, '/').replace(/\/$/, '') : raw;
  return normal === '/' ? bad('HAKIT_E_CONF_BAD_PATH', 'is the root directory') : ok(normal);
}

function parseRelPath(raw: string): Parsed {
  if (raw === '' || raw.startsWith('/') || raw.split('/').includes('..') || hasControlChars(raw)) {
    return bad('HAKIT_E_CONF_BAD_PATH', 'not a relative path inside the directory');
  }
  return ok(raw);
}

function parseRegex(raw: string): Parsed {
  const body = raw.startsWith('!') ? raw.slice(1) : raw;
  if (body.length === 0 || body.length > REGEX_MAX_CHARS) return bad('HAKIT_E_CONF_BAD_REGEX', `empty or longer than ${REGEX_MAX_CHARS} characters`);
  try {
    new RegExp(body);
  } catch (e) {
    return bad('HAKIT_E_CONF_BAD_REGEX', `not a regular expression (${e instanceof Error ? e.message : 'invalid'})`);
  }
  return ok(raw);
}

function parseWitness(raw: string): Parsed {
  const m = /^(.*?)(?::([0-9]{1,5}))?$/.exec(raw);
  const host = m?.[1] ?? '';
  const bracketed = /^\[(.*)\]$/.exec(host);
  const addr = bracketed ? (bracketed[1] ?? '') : host;
  if (isIPv4(addr) || (bracketed && isIPv6(addr)) || (!m?.[2] && isIPv6(raw))) {
    if (m?.[2] !== undefined && !parsePort(m[2]).ok) return bad('HAKIT_E_CONF_BAD_PORT', 'not a port 1..65535');
    return ok(raw);
  }
  return bad('HAKIT_E_CONF_BAD_ADDR', 'not ADDR or ADDR:PORT (IPv6 as [ADDR]:PORT)');
}
