// Generic schema check of an XML tree: known elements only, counts, known attributes,
// required attributes, typed values with defaults. Collects every issue instead of stopping.
import type { AttrValue } from './attr-types';
import { parseAttr } from './attr-types';
import type { ElementSpec, Schema } from './schema';
import type { ConfigIssue, XmlNode } from './xml-tree';
import { whereOf } from './xml-tree';

/** An element that passed the schema check, with typed attributes (defaults filled in). */
export interface CheckedElement {
  readonly spec: string;
  readonly name: string;
  readonly line: number;
  readonly attrs: Readonly<Record<string, AttrValue>>;
  /** Which attributes were written in the file (the rest come from defaults). */
  readonly given: ReadonlySet<string>;
  readonly children: readonly CheckedElement[];
}

export function validateTree(schema: Schema, root: XmlNode, file: string): { element: CheckedElement | undefined; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const rootSpec = schema.elements[schema.root];
  if (!rootSpec || root.name !== rootSpec.name) {
    issues.push({ code: 'HAKIT_E_CONF_ROOT', where: whereOf(file, root), message: `the root element must be <${rootSpec?.name ?? schema.root}>` });
    return { element: undefined, issues };
  }
  return { element: checkElement(schema, schema.root, rootSpec, root, file, issues), issues };
}

function checkElement(schema: Schema, specKey: string, spec: ElementSpec, node: XmlNode, file: string, issues: ConfigIssue[]): CheckedElement {
  const attrs: Record<string, AttrValue> = {};
  const given = new Set<string>();
  for (const [name, raw] of Object.entries(node.attrs)) {
    const attrSpec = spec.attrs.find((a) => a.name === name);
    if (!attrSpec) {
      const known = spec.attrs.map((a) => a.name).join(', ') || 'none';
      issues.push({ code: 'HAKIT_E_CONF_UNKNOWN_ATTR', where: whereOf(file, node, name, raw), message: `unknown attribute (known: ${known})` });
      continue;
    }
    const parsed = parseAttr(attrSpec.type, raw);
    if (parsed.ok) {
      attrs[name] = parsed.value;
      given.add(name);
    } else {
      issues.push({ code: parsed.code, where: whereOf(file, node, name, raw), message: parsed.message });
    }
  }
  for (const attrSpec of spec.attrs) {
    if (attrSpec.name in node.attrs) continue;
    if (attrSpec.default !== undefined) {
      const parsed = parseAttr(attrSpec.type, attrSpec.default);
      if (!parsed.ok) throw new Error(`schema default of ${spec.name}@${attrSpec.name} does not parse`);
      attrs[attrSpec.name] = parsed.value;
    } else if (attrSpec.required) {
      issues.push({ code: 'HAKIT_E_CONF_MISSING_ATTR', where: whereOf(file, node), message: `attribute ${attrSpec.name} is required` });
    }
  }
  if (node.text !== '') {
    issues.push({ code: 'HAKIT_E_CONF_TEXT', where: whereOf(file, node), message: 'text is not allowed here (use attributes)' });
  }
  const children: CheckedElement[] = [];
  const counts = new Map<string, number>();
  for (const child of node.children) {
    const childRef = spec.children.find((c) => schema.elements[c.spec]?.name === child.name);
    const childSpec = childRef ? schema.elements[childRef.spec] : undefined;
    if (!childRef || !childSpec) {
      const allowed = spec.children.map((c) => `<${schema.elements[c.spec]?.name ?? c.spec}>`).join(' ') || 'no elements';
      issues.push({ code: 'HAKIT_E_CONF_UNKNOWN_ELEMENT', where: whereOf(file, child), message: `not allowed inside <${spec.name}> (allowed: ${allowed})` });
      continue;
    }
    const seen = (counts.get(childRef.spec) ?? 0) + 1;
    counts.set(childRef.spec, seen);
    if (seen > childRef.max) {
      issues.push({ code: 'HAKIT_E_CONF_TOO_MANY', where: whereOf(file, child), message: `at most ${childRef.max} <${child.name}> inside <${spec.name}>` });
      continue;
    }
    children.push(checkElement(schema, childRef.spec, childSpec, child, file, issues));
  }
  for (const childRef of spec.children) {
    if ((counts.get(childRef.spec) ?? 0) < childRef.min) {
      const name = schema.elements[childRef.spec]?.name ?? childRef.spec;
      issues.push({ code: 'HAKIT_E_CONF_MISSING_ELEMENT', where: whereOf(file, node), message: `needs at least ${childRef.min} <${name}>` });
    }
  }
  return { spec: specKey, name: spec.name, line: node.line, attrs, given, children };
}

// Small typed accessors for builders: the schema guarantees the types, these only narrow.
export function str(el: CheckedElement, attr: string): string {
  const v = el.attrs[attr];
  return typeof v === 'string' ? v : '';
}
export function optStr(el: CheckedElement, attr: string): string | null {
  const v = el.attrs[attr];
  return typeof v === 'string' ? v : null;
}
export function num(el: CheckedElement, attr: string): number {
  const v = el.attrs[attr];
  return typeof v === 'number' ? v : 0;
}
export function optNum(el: CheckedElement, attr: string): number | null {
  const v = el.attrs[attr];
  return typeof v === 'number' ? v : null;
}
export function bool(el: CheckedElement, attr: string): boolean {
  return el.attrs[attr] === true;
}
export function list(el: CheckedElement, attr: string): readonly string[] | null {
  const v = el.attrs[attr];
  return Array.isArray(v) ? (v as readonly string[]) : null;
}
export function kids(el: CheckedElement | undefined, name: string): readonly CheckedElement[] {
  return el ? el.children.filter((c) => c.name === name) : [];
}
export function kid(el: CheckedElement | undefined, name: string): CheckedElement | undefined {
  return el?.children.find((c) => c.name === name);
}
