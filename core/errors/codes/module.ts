// Codes of the .safe package format and of module install/uninstall/rollback (modules/).
export const MODULE_CODES = {
  HAKIT_E_MOD_NAME: 'a module name is not [A-Za-z][A-Za-z0-9_]{0,31}',
  HAKIT_E_MOD_NOT_INSTALLED: 'no module of this name is installed',
  HAKIT_E_MOD_NO_HISTORY: 'there is no earlier applied config to roll back to',
  HAKIT_E_MOD_NO_USERCONFIG: 'the module has no conf/userconfig.xml',
  HAKIT_E_MOD_LAYOUT: 'the module holds a file outside conf/ and bin/, or a bin/ entry that is not a regular file',
  HAKIT_E_MOD_SCRIPT_MISSING: 'a script the config needs is missing from bin/',
  HAKIT_E_MOD_SCRIPT_NOT_EXEC: 'a script in bin/ is not executable',
  HAKIT_E_MOD_IO: 'a file operation on the module store failed',
  HAKIT_E_MOD_RUNNING: 'the module runs on this node (not STOP): stop it before uninstalling it',
  HAKIT_E_MOD_BUSY: 'another install or rollback of the module held the module store too long',
  HAKIT_E_SAFE_READ: 'the package file cannot be read or is larger than the limit',
  HAKIT_E_SAFE_NOT_ZIP: 'the package is not a readable zip file',
  HAKIT_E_SAFE_DOTDOT: 'a package entry path contains ..',
  HAKIT_E_SAFE_ABSOLUTE: 'a package entry path is absolute or has a drive letter or backslash',
  HAKIT_E_SAFE_SYMLINK: 'a package entry is a symbolic link',
  HAKIT_E_SAFE_SPECIAL: 'a package entry is a device, fifo or socket',
  HAKIT_E_SAFE_DUPLICATE: 'two package entries have the same path',
  HAKIT_E_SAFE_ENTRY_TOO_BIG: 'a package entry is larger than the limit',
  HAKIT_E_SAFE_TOO_MANY: 'the package has more entries than the limit',
  HAKIT_E_SAFE_TOTAL_TOO_BIG: 'the package unpacks to more bytes than the limit',
  HAKIT_E_SAFE_RATIO: 'a package entry compresses better than the ratio limit (zip bomb)',
  HAKIT_E_SAFE_NAME: 'a package entry name is not valid UTF-8 or has control characters',
  HAKIT_E_SAFE_ENCRYPTED: 'a package entry is encrypted',
} as const satisfies Record<string, string>;

export type ModuleErrorCode = keyof typeof MODULE_CODES;
