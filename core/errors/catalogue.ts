// One catalogue of coded errors (STYLE.md rule 9). Callers and tests match on `code`.
// Each subsystem keeps its codes in codes/<subsystem>.ts; they are merged here so that one
// type names every code and `hakit` can list them all in one place.
import { GENERAL_CODES } from './codes/general';

export const ERROR_CODES = {
  ...GENERAL_CODES,
} as const;

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
