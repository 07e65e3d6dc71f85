// The small JSON Schema subset the API's bodies, queries and path parameters are written in.
// The same objects are (a) published in /api/v1/openapi.json and (b) enforced by validate()
// below, so the document and the checks cannot drift apart. Unknown fields are refused.

export type JsonSchema =
  | { readonly type: 'string'; readonly pattern?: string; readonly minLength?: number; readonly maxLength: number; readonly enum?: readonly string[]; readonly description?: string }
  | { readonly type: 'integer'; readonly minimum: number; readonly maximum: number; readonly description?: string }
  | { readonly type: 'boolean'; readonly description?: string }
  | {
      readonly type: 'object';
      readonly properties: Readonly<Record<string, JsonSchema>>;
      readonly required: readonly string[];
      readonly additionalProperties: false;
      readonly description?: string;
    };

export interface SchemaIssue {
  /** JSON pointer of the offending value ("" for the root). */
  readonly at: string;
  readonly message: string;
}

/** Nesting this deep is refused before any recursion (bodies are shallow by design). */
export const MAX_SCHEMA_DEPTH = 8;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : typeof v;
}

function check(s: JsonSchema, v: unknown, at: string, depth: number, out: SchemaIssue[]): void {
  if (depth > MAX_SCHEMA_DEPTH) {
    out.push({ at, message: 'nested too deep' });
    return;
  }
  switch (s.type) {
    case 'string': {
      if (typeof v !== 'string') return void out.push({ at, message: `must be a string, not ${describe(v)}` });
      if (v.length > s.maxLength) return void out.push({ at, message: `longer than ${s.maxLength} characters` });
      if (s.minLength !== undefined && v.length < s.minLength) return void out.push({ at, message: `shorter than ${s.minLength} characters` });
      if (s.enum && !s.enum.includes(v)) return void out.push({ at, message: `must be one of ${s.enum.join(', ')}` });
      if (s.pattern !== undefined && !new RegExp(s.pattern).test(v)) return void out.push({ at, message: `does not match ${s.pattern}` });
      return;
    }
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) return void out.push({ at, message: `must be an integer, not ${describe(v)}` });
      if (v < s.minimum || v > s.maximum) out.push({ at, message: `must be ${s.minimum}..${s.maximum}` });
      return;
    case 'boolean':
      if (typeof v !== 'boolean') out.push({ at, message: `must be true or false, not ${describe(v)}` });
      return;
    case 'object': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return void out.push({ at, message: `must be an object, not ${describe(v)}` });
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) {
        if (!Object.prototype.hasOwnProperty.call(s.properties, k)) out.push({ at: `${at}/${k}`, message: 'unknown field' });
      }
      for (const r of s.required) if (!Object.prototype.hasOwnProperty.call(o, r)) out.push({ at: `${at}/${r}`, message: 'missing' });
      for (const [k, sub] of Object.entries(s.properties)) {
        if (Object.prototype.hasOwnProperty.call(o, k)) check(sub, o[k], `${at}/${k}`, depth + 1, out);
      }
      return;
    }
  }
}

/** Every issue of `value` against `schema` (empty: valid). */
export function validate(schema: JsonSchema, value: unknown): SchemaIssue[] {
  const out: SchemaIssue[] = [];
  check(schema, value, '', 0, out);
  return out;
}

/** A query string's values are strings: integers are converted first, then validated. */
export function coerceQuery(schema: JsonSchema, q: Readonly<Record<string, unknown>>): Record<string, unknown> {
  if (schema.type !== 'object') return { ...q };
  // No prototype: a key named __proto__ is a field like any other (and refused as unknown).
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(q)) {
    const p = schema.properties[k];
    if (p?.type === 'integer' && typeof v === 'string' && /^-?\d{1,15}$/.test(v)) out[k] = Number(v);
    else if (p?.type === 'boolean' && (v === 'true' || v === 'false')) out[k] = v === 'true';
    else out[k] = v;
  }
  return out;
}

// ---------------------------------------------------------------- shared pieces

/** Module names as the daemon accepts them (core/daemon/module-loader.ts): no path tricks possible. */
export const MODULE_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_]{0,31}$';
/** Node, resource and user names: cluster.xml's "name" kind. */
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$';
export const USER_NAME_PATTERN = '^[a-z][a-z0-9_.-]{0,31}$';
export const RESOURCE_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$';
/** Passwords: at least 12 characters (an admin may choose longer); bounded so hashing is bounded. */
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

export const S = {
  module: { type: 'string', pattern: MODULE_NAME_PATTERN, maxLength: 32 },
  node: { type: 'string', pattern: NAME_PATTERN, maxLength: 63 },
  resource: { type: 'string', pattern: RESOURCE_PATTERN, maxLength: 128 },
  user: { type: 'string', pattern: USER_NAME_PATTERN, maxLength: 32 },
  role: { type: 'string', enum: ['admin', 'control', 'monitor'], maxLength: 16 },
  password: { type: 'string', minLength: 1, maxLength: PASSWORD_MAX },
  newPassword: { type: 'string', minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX },
  lines: { type: 'integer', minimum: 1, maximum: 10_000 },
} as const satisfies Record<string, JsonSchema>;

export function obj(properties: Record<string, JsonSchema>, required: readonly string[] = Object.keys(properties)): JsonSchema {
  return { type: 'object', properties, required, additionalProperties: false };
}
export const EMPTY = obj({});
