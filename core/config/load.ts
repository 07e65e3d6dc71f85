// The one pipeline for config files: read (bounded) → parse with lines → pure validation →
// frozen typed object, or every issue as coded errors. Used by the CLI, the daemon and tests.
import fs from 'node:fs';
import { HakitError } from '../errors/catalogue';
import { buildClusterConfig } from './pure/cluster-build';
import type { DeepReadonlyClusterConfig, DeepReadonlyUserConfig } from './pure/types-frozen';
import { buildUserConfig } from './pure/userconfig-build';
import type { Checked, ConfigIssue } from './pure/xml-tree';
import { parseXml } from './xml/parse-xml';
import { confDir } from './paths';

/** A config file larger than this is refused before parsing. */
export const CONFIG_FILE_MAX_BYTES = 1024 * 1024;

export function readConfigText(file: string, shownAs: string): { text: string } | { issue: ConfigIssue } {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { issue: { code: 'HAKIT_E_CONF_READ', where: shownAs, message: 'not a regular file' } };
    if (st.size > CONFIG_FILE_MAX_BYTES) return { issue: { code: 'HAKIT_E_CONF_TOO_BIG', where: shownAs, message: `${st.size} bytes, limit ${CONFIG_FILE_MAX_BYTES}` } };
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const n = fs.readSync(fd, buf, got, st.size - got, got);
      if (n === 0) break;
      got += n;
    }
    return { text: buf.subarray(0, got).toString('utf8') };
  } catch (e) {
    return { issue: { code: 'HAKIT_E_CONF_READ', where: shownAs, message: (e as NodeJS.ErrnoException).code ?? String(e) } };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export function parseUserConfigText(text: string, shownAs = 'userconfig.xml'): Checked<DeepReadonlyUserConfig> {
  const parsed = parseXml(text, shownAs);
  if ('issue' in parsed) return { ok: false, errors: [parsed.issue] };
  return buildUserConfig(parsed.root, shownAs);
}

export function parseClusterText(text: string, shownAs = 'cluster.xml', dir = confDir()): Checked<DeepReadonlyClusterConfig> {
  const parsed = parseXml(text, shownAs);
  if ('issue' in parsed) return { ok: false, errors: [parsed.issue] };
  return buildClusterConfig(parsed.root, shownAs, dir);
}

export function loadUserConfig(file: string, shownAs = 'userconfig.xml'): Checked<DeepReadonlyUserConfig> {
  const read = readConfigText(file, shownAs);
  return 'issue' in read ? { ok: false, errors: [read.issue] } : parseUserConfigText(read.text, shownAs);
}

export function loadClusterConfig(file: string, shownAs = 'cluster.xml', dir = confDir()): Checked<DeepReadonlyClusterConfig> {
  const read = readConfigText(file, shownAs);
  return 'issue' in read ? { ok: false, errors: [read.issue] } : parseClusterText(read.text, shownAs, dir);
}

/** Every issue, one per line, as the CLI prints them: `CODE: where: message`. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((i) => `${i.code}: ${i.where}: ${i.message}`).join('\n');
}

/** A HakitError carrying every issue; its code and message are the first issue's. */
export class ConfigIssuesError extends HakitError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    const first = issues[0] ?? { code: 'HAKIT_E_INTERNAL' as const, where: '', message: 'no issue given' };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    super(first.code, `${first.message}${more}`, first.where);
    this.issues = issues;
  }
}

export function issuesToError(issues: readonly ConfigIssue[]): ConfigIssuesError {
  return new ConfigIssuesError(issues);
}

export function unwrap<T>(checked: Checked<T>): T {
  if (checked.ok) return checked.value;
  throw issuesToError(checked.errors);
}
