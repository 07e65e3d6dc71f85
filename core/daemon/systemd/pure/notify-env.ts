// What systemd asks of a Type=notify service, read from the environment it set
// (sd_notify(3), sd_watchdog_enabled(3)), and the decision to ping the watchdog.

/** systemd's settings for this process; nulls when it does not ask for them. */
export interface NotifySettings {
  /** $NOTIFY_SOCKET: a socket path or an abstract name starting with '@'. */
  readonly socket: string | null;
  /** How often to ping: half of $WATCHDOG_USEC, as sd_watchdog_enabled(3) advises. */
  readonly watchdog_interval_ms: number | null;
}

/** Names systemd sets for the main process; a daemon's children must not inherit them. */
export const SYSTEMD_NOTIFY_NAMES = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

/** A watchdog shorter than this is a configuration error: no ping rhythm would survive a GC pause. */
export const MIN_WATCHDOG_INTERVAL_MS = 100;

export function parseNotifySettings(env: Readonly<Record<string, string | undefined>>, pid: number): NotifySettings {
  const raw = env['NOTIFY_SOCKET'];
  const socket = raw && (raw.startsWith('/') || (raw.startsWith('@') && raw.length > 1)) ? raw : null;
  return { socket, watchdog_interval_ms: socket ? watchdogInterval(env, pid) : null };
}

function watchdogInterval(env: Readonly<Record<string, string | undefined>>, pid: number): number | null {
  const usec = Number(env['WATCHDOG_USEC']);
  if (!Number.isSafeInteger(usec) || usec <= 0) return null;
  // WATCHDOG_PID names the process the watchdog is for; another pid means it was meant for
  // a parent that exec'ed us without clearing it.
  const for_pid = env['WATCHDOG_PID'];
  if (for_pid !== undefined && for_pid !== '' && Number(for_pid) !== pid) return null;
  return Math.max(MIN_WATCHDOG_INTERVAL_MS, Math.floor(usec / 2000));
}

/** One notification line: a STATUS text loses its line breaks (each line is one datagram). */
export function statusLine(text: string): string {
  return `STATUS=${text.replace(/[\r\n]+/g, ' ')}`;
}

/** The event loop is late by more than this: the daemon is not healthy enough to ping. */
export const MAX_LOOP_DELAY_MS = 2_000;

/** Ping only when the event loop keeps time and the daemon says it is healthy. */
export function shouldPing(loop_delay_max_ms: number, daemon_healthy: boolean): boolean {
  return daemon_healthy && loop_delay_max_ms <= MAX_LOOP_DELAY_MS;
}
