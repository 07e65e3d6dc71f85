import type { ErrorCode } from '../../errors/catalogue';

// The parsed XML tree every config validator works on. Lines are 1-based and point at the
// `<` of the element's start tag, so messages can say `userconfig.xml:14 <virtual_addr …>`.
export interface XmlNode {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlNode[];
  /** Text directly inside the element, whitespace-trimmed ('' when none). */
  readonly text: string;
  readonly line: number;
}

/** One problem found in a config file; turned into a HakitError at the edge. */
export interface ConfigIssue {
  readonly code: ErrorCode;
  readonly where: string;
  readonly message: string;
}

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: readonly ConfigIssue[] };

export type DeepReadonly<T> = T extends (infer U)[]
  ? ReadonlyArray<DeepReadonly<U>>
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** Attribute shown in a location is kept short so one message stays on one line. */
const SHOWN_VALUE_MAX_CHARS = 60;

/** `userconfig.xml:14 <virtual_addr addr="10.0.0.300">` */
export function whereOf(file: string, node: Pick<XmlNode, 'name' | 'line'>, attr?: string, value?: string): string {
  if (attr === undefined) return `${file}:${node.line} <${node.name}>`;
  const shown = value === undefined ? '' : `="${shorten(value)}"`;
  return `${file}:${node.line} <${node.name} ${attr}${shown}>`;
}

function shorten(value: string): string {
  return value.length <= SHOWN_VALUE_MAX_CHARS ? value : `${value.slice(0, SHOWN_VALUE_MAX_CHARS)}…`;
}

export function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value as DeepReadonly<T>;
}
