// The Configuration routes' data (docs/api.md, "Configuration"): a module package travels
// base64-encoded inside JSON, so that every route keeps one body format, one validator and
// the signed one-hop forwarding between nodes.
import type { ConfigMacro } from './config-macros';

/** A .safe sent to the API is at most this big (decoded). Real modules are a few KiB. */
export const CONFIG_PACKAGE_MAX_BYTES = 8 * 1024 * 1024;
/** Base64 characters of the biggest package accepted. */
export const CONFIG_PACKAGE_MAX_B64_CHARS = Math.ceil(CONFIG_PACKAGE_MAX_BYTES / 3) * 4;
/** userconfig.xml edited in the browser: the config loader's own limit (HAKIT_E_CONF_TOO_BIG). */
export const CONFIG_USERCONFIG_MAX_CHARS = 1024 * 1024;
/** Bodies of the routes that carry a package: the package, a userconfig and the JSON around them. */
export const CONFIG_PACKAGE_BODY_MAX_BYTES = CONFIG_PACKAGE_MAX_B64_CHARS + CONFIG_USERCONFIG_MAX_CHARS * 2 + 64 * 1024;
/** Bodies of the route that replaces a userconfig.xml (JSON escaping may double it). */
export const CONFIG_USERCONFIG_BODY_MAX_BYTES = CONFIG_USERCONFIG_MAX_CHARS * 2 + 64 * 1024;
/** Earlier configurations kept per module and node, besides the applied one (SafeKit keeps 3). */
export const CONFIG_HISTORY_KEEP = 3;

/** One problem of a module, where it is. `line` is null when the problem is not in a file's text. */
export interface ConfigIssueInfo {
  readonly code: string;
  /** The file inside the module ("conf/userconfig.xml", "bin/start_prim") or the package itself (""). */
  readonly file: string;
  readonly line: number | null;
  readonly message: string;
}

/** An error answer about a module's contents: the first problem as `error`, all of them as `issues`. */
export interface ConfigErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly issues?: readonly ConfigIssueInfo[] };
}

/** POST /modules/:module/check: nothing changes; every problem found. */
export interface ConfigCheck {
  readonly module: string;
  readonly ok: boolean;
  /** Which node checked it (against its cluster.xml and its other modules). */
  readonly checked_by: string;
  readonly mode: string | null;
  readonly issues: readonly ConfigIssueInfo[];
  /** conf/userconfig.xml as it is in the package (after the `userconfig` and the `macros` given), null when absent or unreadable. */
  readonly userconfig: string | null;
  /** The package's files, for the console's listing. */
  readonly files: readonly string[];
  /** The macros its userconfig.xml defines, with the values it gives them (before the `macros` field); absent from older nodes. */
  readonly macros?: readonly ConfigMacro[];
}

export interface ConfigNodeResult {
  readonly node: string;
  readonly ok: boolean;
  /** The release now applied on that node. */
  readonly release: number | null;
  /** hakitd's note ("the module waits for …"), or why the node failed. */
  readonly detail: string;
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** POST /modules/:module/install: one result per node chosen. */
export interface ConfigInstallOutcome {
  readonly module: string;
  readonly results: readonly ConfigNodeResult[];
}

/** PUT …/userconfig and POST …/rollback: the release applied on that node. */
export interface ConfigApplied {
  readonly node: string;
  readonly module: string;
  readonly release: number;
  readonly detail: string;
}

export interface UserconfigText {
  readonly node: string;
  readonly module: string;
  readonly release: number;
  readonly text: string;
}

export interface ConfigRelease {
  readonly release: number;
  readonly applied: boolean;
  /** When the release was staged on that node (ISO 8601). */
  readonly installed_at: string;
  readonly userconfig_sha256: string | null;
  readonly mode: string | null;
}

/** GET …/history: the applied release and up to CONFIG_HISTORY_KEEP earlier ones, newest first. */
export interface ConfigHistory {
  readonly node: string;
  readonly module: string;
  readonly releases: readonly ConfigRelease[];
}

/** A file to save: a module package or a support snapshot. */
export interface FileDownload {
  readonly node: string;
  readonly file_name: string;
  readonly media_type: string;
  readonly size_bytes: number;
  readonly content_b64: string;
}
