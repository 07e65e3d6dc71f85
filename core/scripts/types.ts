// The ProcessRunner port (docs/architecture.md, rule 5). Contract:
//  - `run` never throws for a script problem: a missing or failing script, a timeout, a
//    spawn error are all described in the result (the module runner turns it into an event);
//  - the script runs in its own process group; past `timeout_ms` the whole group gets
//    SIGTERM, then SIGKILL after `kill_grace_ms`;
//  - every output line (stdout and stderr) goes to `onLine` as it comes, cut to a bounded
//    length; the result keeps only the last lines;
//  - the result is given when the script process exits, even if a process it started in the
//    background keeps the output pipe open (start scripts start long-running applications).
export type ScriptStream = 'stdout' | 'stderr';

export interface ScriptRequest {
  /** Logical name, e.g. "start_prim"; echoed in the result. */
  readonly script: string;
  /** Absolute path of the executable. */
  readonly path: string;
  readonly args: readonly string[];
  /** Variables added to the daemon's environment. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly timeout_ms: number;
  readonly kill_grace_ms?: number;
  readonly onLine?: (stream: ScriptStream, line: string) => void;
}

export interface ScriptResult {
  readonly script: string;
  /** Exit code, or null when killed by a signal or never started. */
  readonly code: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly duration_ms: number;
  /** Set when the process could not be started (ENOENT, EACCES...). */
  readonly spawn_error?: string;
  /** The last lines of output, bounded. */
  readonly output_tail: readonly string[];
}

export interface ProcessRunner {
  run(req: ScriptRequest): Promise<ScriptResult>;
  /** Kills every script still running (daemon shutdown); resolves when all have exited. */
  killAll(): Promise<void>;
}
