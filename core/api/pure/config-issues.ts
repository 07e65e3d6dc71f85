// A module's problems, as the config loader and the package checks word them
// ("NAME/conf/userconfig.xml:12 <vip>: message", "upload.safe: message"), turned into the
// API's {code, file, line, message}: the file inside the module and the line apart, so the
// console can mark the line in its editor.
import type { ConfigIssueInfo } from '../contract/pure/config-types';

export interface RawIssue {
  readonly code: string;
  /** Where the problem is: "FILE[:LINE][ <element>]" or "" when unknown. */
  readonly where: string;
  readonly message: string;
}

const WHERE = /^([^\s:]*)(?::(\d+))?\s*(.*)$/;

/**
 * `module` is the name the loader prefixed file names with; `package_name` the name the
 * uploaded file was unpacked under (problems of the zip itself have no file inside the module).
 */
export function issueInfo(raw: RawIssue, module: string, package_name: string): ConfigIssueInfo {
  const m = WHERE.exec(raw.where) ?? ['', raw.where, undefined, ''];
  let file = m[1] ?? '';
  if (file === module || file === package_name) file = '';
  else if (file.startsWith(`${module}/`)) file = file.slice(module.length + 1);
  const line = m[2] !== undefined ? Number(m[2]) : null;
  const context = (m[3] ?? '').trim();
  return { code: raw.code, file, line, message: context ? `${context}: ${raw.message}` : raw.message };
}

/** A HakitError's message carries "WHERE: " in front; the issue keeps it apart. */
export function messageWithoutWhere(message: string, where: string | undefined): string {
  return where && message.startsWith(`${where}: `) ? message.slice(where.length + 2) : message;
}
