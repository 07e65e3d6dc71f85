// One probe: a single check of one target, bounded by its timeout. Probes never throw: any
// failure (refused, timed out, unreadable, killed) is `ok: false` with a short reason.
export interface ProbeResult {
  readonly ok: boolean;
  /** Why, for the module log and `hakit state -v` ("connect ECONNREFUSED", "exit 1", "timeout"). */
  readonly detail: string;
}

export type ProbeFn = (timeout_ms: number) => Promise<ProbeResult>;

/** The other module's state, as the daemon sees it (local) or asks a peer (remote). */
export type ModuleStateQuery = (module: string, at: { readonly addr: string; readonly port: number } | null, timeout_ms: number) => Promise<{ state: string; status: string } | null>;

/** Races a probe against its timeout; the loser's result is ignored. */
export function withTimeout(p: Promise<ProbeResult>, timeout_ms: number, onTimeout?: () => void): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const t = setTimeout(() => {
      if (done) return;
      done = true;
      onTimeout?.();
      resolve({ ok: false, detail: `timeout after ${timeout_ms} ms` });
    }, timeout_ms);
    p.then(
      (r) => {
        if (done) return;
        done = true;
        clearTimeout(t);
        resolve(r);
      },
      (e: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(t);
        resolve({ ok: false, detail: e instanceof Error ? e.message : String(e) });
      },
    );
  });
}
