/** Longest output line kept; longer lines are cut and marked. */
export const MAX_LINE_BYTES = 4096;
/** Output lines kept in a script result. */
export const MAX_TAIL_LINES = 50;
/** Bytes of an unterminated line buffered before it is flushed as a line anyway. */
export const MAX_PARTIAL_BYTES = 64 * 1024;
/** SIGTERM → SIGKILL delay for a timed-out script's process group. */
export const DEFAULT_KILL_GRACE_MS = 3000;
/** After the script exits, how long its already-written output may still arrive. */
export const OUTPUT_DRAIN_MS = 100;
