// Runs one probe of one target every interval (first one at once), never two at a time, each
// bounded by the target's timeout.
import type { ProbeTiming } from './pure/types';
import { withTimeout, type ProbeFn, type ProbeResult } from './probes/types';

export interface TargetRunner {
  start(report: (r: ProbeResult) => void): void;
  stop(): void;
}

export class IntervalRunner implements TargetRunner {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  constructor(
    private readonly probe: ProbeFn,
    private readonly timing: ProbeTiming,
  ) {}

  start(report: (r: ProbeResult) => void): void {
    const once = (): void => {
      if (this.running || this.stopped) return;
      this.running = true;
      void withTimeout(this.probe(this.timing.timeout_ms), this.timing.timeout_ms).then((r) => {
        this.running = false;
        if (!this.stopped) report(r);
      });
    };
    once();
    this.timer = setInterval(once, this.timing.interval_ms);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
