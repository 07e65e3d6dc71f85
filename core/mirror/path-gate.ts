// Mutual exclusion between captured operations and the re-integrator. Captured ops hold a
// shared claim on their path(s) from the routing decision until their frame has a sequence
// number; the re-integrator holds one file exclusively while it reads pending data and
// queues its frames, and namespace ops wait for it (a rename under its feet would send its
// data to a name that no longer exists). The re-integrator's request has priority, so a
// busy application cannot starve it.
export class PathGate {
  private readonly shared = new Map<string, number>();
  private nsActive = 0;
  private wanted: string | undefined;
  private held: string | undefined;
  private waiters: Array<() => void> = [];

  /** The file the re-integrator holds or is waiting for (routing sends ops on it to 'wait'). */
  get busy(): ReadonlySet<string> {
    const s = new Set<string>();
    if (this.wanted) s.add(this.wanted);
    if (this.held) s.add(this.held);
    return s;
  }

  get reintegratorActive(): boolean { return this.wanted !== undefined || this.held !== undefined; }

  enterShared(paths: readonly string[], namespace: boolean): void {
    for (const p of paths) this.shared.set(p, (this.shared.get(p) ?? 0) + 1);
    if (namespace) this.nsActive++;
  }

  leaveShared(paths: readonly string[], namespace: boolean): void {
    for (const p of paths) {
      const n = (this.shared.get(p) ?? 1) - 1;
      if (n <= 0) this.shared.delete(p);
      else this.shared.set(p, n);
    }
    if (namespace) this.nsActive--;
    this.wake();
  }

  async acquire(path: string): Promise<void> {
    this.wanted = path;
    while ((this.shared.get(path) ?? 0) > 0 || this.nsActive > 0) await this.changed();
    this.wanted = undefined;
    this.held = path;
  }

  release(): void {
    this.held = undefined;
    this.wanted = undefined;
    this.wake();
  }

  /** Resolves at the next change of any claim (callers re-check their condition). */
  changed(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}
