// One catalogue of coded errors (STYLE.md rule 9). Callers and tests match on `code`.
// Each subsystem adds its codes here so that `hakit` can list them all in one place.

export const ERROR_CODES = {
  HAKIT_E_USAGE: 'the command line is wrong',
  HAKIT_E_NOT_ROOT: 'this command needs root',
  HAKIT_E_INTERNAL: 'an internal invariant was broken',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a catalogue code and a message that says what is wrong and where. */
export class HakitError extends Error {
  readonly code: ErrorCode;
  readonly where: string | undefined;

  constructor(code: ErrorCode, message: string, where?: string) {
    super(where ? `${where}: ${message}` : message);
    this.name = 'HakitError';
    this.code = code;
    this.where = where;
  }
}

export function isHakitError(e: unknown): e is HakitError {
  return e instanceof HakitError;
}
