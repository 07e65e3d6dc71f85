// `<macro name value>` expansion: every `%NAME%` in every attribute value is replaced before
// the schema check, so typed checks see the expanded text. `%%` stands for a literal `%`.
import type { ConfigIssue, XmlNode } from './xml-tree';
import { whereOf } from './xml-tree';
import { NAME_PATTERN } from './attr-types';

/** Bounds the work a hostile file can cause: values grow by at most this factor. */
const EXPANDED_VALUE_MAX_CHARS = 8192;

export function expandMacros(root: XmlNode, file: string): { root: XmlNode; macros: Record<string, string>; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const macros: Record<string, string> = {};
  for (const child of root.children) {
    if (child.name !== 'macro') continue;
    const name = child.attrs['name'];
    const value = child.attrs['value'];
    if (name === undefined || value === undefined || !NAME_PATTERN.test(name)) continue; // the schema check reports it
    if (Object.prototype.hasOwnProperty.call(macros, name)) {
      issues.push({ code: 'HAKIT_E_CONF_MACRO_DUPLICATE', where: whereOf(file, child, 'name', name), message: 'macro defined twice' });
      continue;
    }
    macros[name] = value;
  }
  const expandNode = (node: XmlNode): XmlNode => {
    if (node.name === 'macro' && node !== root) return node;
    const attrs: Record<string, string> = {};
    for (const [key, raw] of Object.entries(node.attrs)) attrs[key] = expandValue(raw, macros, file, node, key, issues);
    return { ...node, attrs, children: node.children.map(expandNode) };
  };
  return { root: expandNode(root), macros, issues };
}

function expandValue(raw: string, macros: Readonly<Record<string, string>>, file: string, node: XmlNode, key: string, issues: ConfigIssue[]): string {
  if (!raw.includes('%')) return raw;
  let failed = false;
  const out = raw.replace(/%([^%]*)%/g, (whole, name: string) => {
    if (name === '') return '%';
    if (Object.prototype.hasOwnProperty.call(macros, name)) return macros[name] ?? '';
    issues.push({ code: 'HAKIT_E_CONF_MACRO_UNDEFINED', where: whereOf(file, node, key, raw), message: `macro %${name}% is not defined` });
    failed = true;
    return whole;
  });
  if (!failed && out.length > EXPANDED_VALUE_MAX_CHARS) {
    issues.push({ code: 'HAKIT_E_CONF_BAD_VALUE', where: whereOf(file, node, key, raw), message: `longer than ${EXPANDED_VALUE_MAX_CHARS} characters after macro expansion` });
  }
  return out;
}
