// The narrow logging port every adapter takes. pino loggers satisfy it; tests pass a
// recorder. Keeping adapters on this port means they never import pino themselves.
export interface LogSink {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** A sink that drops everything (for tools and tests that do not care). */
export const SILENT_LOG: LogSink = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};

export interface RecordedLine {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly obj: object;
  readonly msg: string | undefined;
}

/** A sink that keeps lines in memory, for tests. */
export class RecordingLog implements LogSink {
  readonly lines: RecordedLine[] = [];
  error(obj: object, msg?: string): void {
    this.lines.push({ level: 'error', obj, msg });
  }
  warn(obj: object, msg?: string): void {
    this.lines.push({ level: 'warn', obj, msg });
  }
  info(obj: object, msg?: string): void {
    this.lines.push({ level: 'info', obj, msg });
  }
  debug(obj: object, msg?: string): void {
    this.lines.push({ level: 'debug', obj, msg });
  }
}
