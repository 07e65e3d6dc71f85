// Named bounds of the .safe format. A module is a config and a few scripts: these are far
// above any real module and far below what would hurt a node.
export const SAFE_LIMITS = {
  package_max_bytes: 64 * 1024 * 1024,
  entries_max: 1000,
  entry_max_bytes: 32 * 1024 * 1024,
  total_max_bytes: 128 * 1024 * 1024,
  /** Uncompressed/compressed above this is a bomb, for entries of at least ratio_floor_bytes. */
  ratio_max: 200,
  ratio_floor_bytes: 64 * 1024,
  name_max_bytes: 1024,
} as const;

/** Module names: a letter then letters, digits or `_`; at most 32. Safe in paths, nft
 * table names, unit names and log lines. */
export const MODULE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;
