// The fake beside ProcessRunner: scripted results, records every request.
import type { ProcessRunner, ScriptRequest, ScriptResult } from './types';

export type FakeScriptBehaviour = Partial<Pick<ScriptResult, 'code' | 'timedOut' | 'spawn_error'>> & { readonly delay_ms?: number };

export class FakeProcessRunner implements ProcessRunner {
  readonly requests: ScriptRequest[] = [];
  private readonly behaviours = new Map<string, FakeScriptBehaviour>();

  /** Sets what `script` does from now on (default: exits 0 at once). */
  behave(script: string, b: FakeScriptBehaviour): void {
    this.behaviours.set(script, b);
  }

  async run(req: ScriptRequest): Promise<ScriptResult> {
    this.requests.push(req);
    const b = this.behaviours.get(req.script) ?? {};
    if (b.delay_ms) await new Promise((r) => setTimeout(r, b.delay_ms));
    return {
      script: req.script,
      code: b.spawn_error ? null : (b.code ?? 0),
      signal: null,
      timedOut: b.timedOut ?? false,
      duration_ms: b.delay_ms ?? 0,
      output_tail: [],
      ...(b.spawn_error ? { spawn_error: b.spawn_error } : {}),
    };
  }

  async killAll(): Promise<void> {}
}
