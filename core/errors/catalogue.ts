// One catalogue of coded errors (docs/architecture.md, rule 9). Callers and tests match on `code`.
// Each subsystem keeps its codes in codes/<subsystem>.ts; they are merged here so that one
// type names every code and `hakit` can list them all in one place.
import { GENERAL_CODES } from './codes/general';
import { MODULE_STATE_CODES } from './codes/module-state';
import { CONFIG_CODES } from './codes/config';
import { MODULE_CODES } from './codes/module';
import { MIRROR_CODES } from './codes/mirror';
import { DAEMON_CODES } from './codes/daemon';
import { FILTER_CODES } from './codes/filter';
import { CHECKERS_CODES } from './codes/checkers';
import { REPLICATION_CODES } from './codes/replication';
import { FARM_CODES } from './codes/farm';
import { PACKAGE_CODES } from './codes/package';
import { CLUSTER_CODES } from './codes/cluster';
import { API_CODES } from './codes/api';
import { GEO_CODES } from './codes/geo';
import { WHATIF_CODES } from './codes/whatif';

export const ERROR_CODES = {
  ...FILTER_CODES,
  ...GENERAL_CODES,
  ...MODULE_STATE_CODES,
  ...CONFIG_CODES,
  ...MODULE_CODES,
  ...MIRROR_CODES,
  ...DAEMON_CODES,
  ...CHECKERS_CODES,
  ...REPLICATION_CODES,
  ...FARM_CODES,
  ...PACKAGE_CODES,
  ...CLUSTER_CODES,
  ...API_CODES,
  ...GEO_CODES,
  ...WHATIF_CODES,
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
