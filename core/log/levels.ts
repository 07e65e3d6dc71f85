import { HakitError } from '../errors/catalogue';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function parseLogLevel(s: string, where = 'log level'): LogLevel {
  const l = s.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(l)) return l as LogLevel;
  throw new HakitError('HAKIT_E_BAD_LOG_LEVEL', `"${s}" is not one of ${LOG_LEVELS.join(', ')}`, where);
}
