// `<notreplicated regexpath="…"/>` rules. A plain pattern excludes every path it matches
// (a matching directory excludes its whole subtree). A pattern written `!re` is the
// replicate-only form: when any exists, a non-directory is replicated only if it matches
// one of them (directories are always traversed, else nothing below could match).
// Paths are relative to the replicated directory, '/'-separated, without a leading '/'.
import { HakitError } from '../../errors/catalogue';

export interface ExcludeRules {
  readonly exclude: readonly RegExp[];
  readonly only: readonly RegExp[];
  /** The engine replicates several directories of a module under one root, '/<n>/…';
   *  when set, the first segment (the directory index) is not part of the matched path. */
  readonly indexed_roots?: boolean;
}

export const NO_EXCLUDES: ExcludeRules = { exclude: [], only: [] };

export function compileExcludes(patterns: readonly string[], where = 'notreplicated', indexed_roots = false): ExcludeRules {
  const exclude: RegExp[] = [];
  const only: RegExp[] = [];
  patterns.forEach((p, i) => {
    const neg = p.startsWith('!');
    const src = neg ? p.slice(1) : p;
    let re: RegExp;
    try {
      re = new RegExp(src);
    } catch (e) {
      throw new HakitError('HAKIT_E_MIRROR_BAD_PATTERN', `regexpath "${p}" does not compile: ${(e as Error).message}`, `${where}[${i}]`);
    }
    (neg ? only : exclude).push(re);
  });
  return { exclude, only, indexed_roots };
}

/** Converts a mount-relative path ('/a/b' as FUSE gives it) to the rule form 'a/b'. */
export function ruleForm(path: string): string {
  return path.startsWith('/') ? path.slice(1) : path;
}

/** True when `path` (any form) or one of its parent directories is excluded. */
export function isExcluded(rules: ExcludeRules, path: string, is_dir: boolean): boolean {
  let rel = ruleForm(path);
  if (rules.indexed_roots) {
    const slash = rel.indexOf('/');
    if (slash < 0) return false; // a root itself
    rel = rel.slice(slash + 1);
  }
  if (rel === '') return false;
  if (rules.exclude.length > 0) {
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (rules.exclude.some((re) => re.test(prefix))) return true;
    }
  }
  if (!is_dir && rules.only.length > 0) return !rules.only.some((re) => re.test(rel));
  return false;
}
