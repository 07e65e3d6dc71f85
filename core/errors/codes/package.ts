// Codes of the Debian package's maintainer scripts (installers/deb/). The scripts are shell;
// they print these codes, and this entry keeps them in the one catalogue and docs/errors.md.
export const PACKAGE_CODES = {
  HAKIT_E_PKG_UNSUPPORTED: 'the hakit package is being installed on a system it does not support (not Debian 12 or later or a derivative, or another architecture)',
} as const satisfies Record<string, string>;
