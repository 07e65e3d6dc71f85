// Replicated directories: two trees may not overlap, in one module or across modules,
// or one file would be shipped by two engines with two different orders.
import type { ConfigIssue } from './xml-tree';

export function isSameOrInside(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith('/') ? outer : `${outer}/`);
}

export function checkDirsNotNested(dirs: readonly { dir: string; line: number }[], file: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  dirs.forEach((a, i) => {
    dirs.forEach((b, j) => {
      if (j <= i) return;
      if (isSameOrInside(a.dir, b.dir) || isSameOrInside(b.dir, a.dir)) {
        const message = a.dir === b.dir ? `directory replicated twice (also at line ${a.line})` : `nested with ${a.dir} (line ${a.line})`;
        issues.push({ code: a.dir === b.dir ? 'HAKIT_E_CONF_DUPLICATE' : 'HAKIT_E_CONF_DIR_NESTED', where: `${file}:${b.line} <replicated dir="${b.dir}">`, message });
      }
    });
  });
  return issues;
}
