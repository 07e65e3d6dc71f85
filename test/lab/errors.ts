// The lab's own coded errors (test/lab, docs/lab.md): the test harness is not the product, so
// its codes live here and not in the product catalogue (core/errors/, docs/errors.md). They
// keep the HAKIT_E_LAB_ prefix; tests match on `code` as for product errors.
import { isHakitError, type HakitError } from '../../core/errors/catalogue';

export const LAB_CODES = {
  HAKIT_E_LAB_EXISTS: 'a lab with this name already exists',
  HAKIT_E_LAB_NONE: 'no lab with this name exists',
  HAKIT_E_LAB_BAD_SPEC: 'the lab size or name is not acceptable',
  HAKIT_E_LAB_UNKNOWN_HOST: 'the host is not part of the lab',
  HAKIT_E_LAB_BAD_LAN: 'the LAN is not part of the lab',
  HAKIT_E_LAB_COMMAND: 'a system command the lab ran failed',
  HAKIT_E_LAB_STATE: 'the lab state file cannot be read or is damaged',
  HAKIT_E_LAB_FULL: 'every lab index (subnet block) is taken',
  HAKIT_E_LAB_LOCK: 'the lab lock could not be taken in time',
  HAKIT_E_LAB_KILL: 'processes of a host were still alive after the power cut wait',
  HAKIT_E_LAB_DELAY: 'the delay line could not be built or started',
  HAKIT_E_LAB_NAMESPACE_TAKEN: 'a namespace the lab needs exists already but was not made by this lab',
  HAKIT_E_LAB_PACKAGE: 'the packaged layout cannot be used: the package tree cannot be staged, or a unit file or its environment file is missing',
} as const satisfies Record<string, string>;

export type LabCode = keyof typeof LAB_CODES;

/** A lab failure with a lab code and a message that says what is wrong and where. */
export class LabError extends Error {
  readonly code: LabCode;
  readonly where: string | undefined;

  constructor(code: LabCode, message: string, where?: string) {
    super(where ? `${where}: ${message}` : message);
    this.name = 'LabError';
    this.code = code;
    this.where = where;
  }
}

export function isLabError(e: unknown): e is LabError {
  return e instanceof LabError;
}

/** A coded error of the lab or of the product code it runs. */
export function isCodedError(e: unknown): e is LabError | HakitError {
  return isLabError(e) || isHakitError(e);
}
