// Pings systemd's watchdog every WatchdogSec/2 while the daemon is healthy: its event loop
// keeps time (no delay above MAX_LOOP_DELAY_MS since the last ping) and the daemon's own
// check passes. A daemon that stops pinging is killed by systemd (WatchdogSignal) and, with
// Restart=on-failure, started again.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { shouldPing } from './pure/notify-env';
import type { SystemdNotifier } from './notifier';

export interface WatchdogOptions {
  readonly notifier: SystemdNotifier;
  readonly interval_ms: number;
  /** The daemon's own health check (it reads its own clock). */
  readonly healthy: () => boolean;
  /** Told when a ping is skipped, with why; called at most once per interval. */
  readonly onSkip?: (why: { loop_delay_max_ms: number; daemon_healthy: boolean }) => void;
}

/** Event-loop delay sampling resolution (Node's default is 10 ms). */
const LOOP_DELAY_RESOLUTION_MS = 20;

/** Starts pinging; the returned function stops it. */
export function startWatchdog(o: WatchdogOptions): () => void {
  const delay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  delay.enable();
  const timer = setInterval(() => {
    const loop_delay_max_ms = delay.max / 1e6;
    delay.reset();
    const daemon_healthy = o.healthy();
    if (shouldPing(loop_delay_max_ms, daemon_healthy)) o.notifier.watchdog();
    else o.onSkip?.({ loop_delay_max_ms, daemon_healthy });
  }, o.interval_ms);
  timer.unref();
  return () => {
    clearInterval(timer);
    delay.disable();
  };
}
