export const GENERAL_CODES = {
  HAKIT_E_USAGE: 'the command line is wrong',
  HAKIT_E_NOT_ROOT: 'this command needs root',
  HAKIT_E_INTERNAL: 'an internal invariant was broken',
} as const satisfies Record<string, string>;
