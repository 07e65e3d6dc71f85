// Small drivers for unit tests of the pure module machine.
import type { PeerModuleView } from '../../../core/membership/pure/types';
import { announcementOf, createMachine, step, type ModuleMachine } from '../../../core/module/pure/machine';
import { defaultPolicy, type ModulePolicy } from '../../../core/module/pure/policy';
import { INITIAL_PERSISTED, type ModuleAnnouncement, type ModuleEffect, type ModuleEvent, type PersistedModuleState } from '../../../core/module/pure/types';

export interface Driver {
  m: ModuleMachine;
  now: number;
  effects: ModuleEffect[];
  send(ev: ModuleEvent, advance_ms?: number): ModuleEffect[];
  /** Completes the script in flight with this exit code. */
  exit(code: number): ModuleEffect[];
  /** Runs scripts to completion (exit 0) until none is in flight. */
  settle(): void;
}

export function driver(node: string, policy: Partial<ModulePolicy> = {}, persisted: Partial<PersistedModuleState> = {}, mode: 'mirror' | 'farm' | 'light' = 'mirror'): Driver {
  const p = defaultPolicy('app', mode, mode === 'mirror' ? ['n1', 'n2'] : mode === 'light' ? ['n1'] : ['n1', 'n2', 'n3'], policy);
  const d: Driver = {
    m: createMachine(node, p, { ...INITIAL_PERSISTED, ...persisted }),
    now: 10_000,
    effects: [],
    send(ev, advance_ms = 0) {
      d.now += advance_ms;
      const r = step(d.m, ev, d.now);
      d.m = r.state;
      d.effects.push(...r.effects);
      return [...r.effects];
    },
    exit(code) {
      const job = d.m.job;
      const run = [...d.effects].reverse().find((e) => e.type === 'RunScript');
      if (job === null || job.run_id === null || run === undefined || run.type !== 'RunScript') throw new Error('no script in flight');
      return d.send({ type: 'ScriptExited', run_id: job.run_id, script: run.script, code, timedOut: false }, 10);
    },
    settle() {
      for (let i = 0; i < 20 && d.m.job !== null && d.m.job.run_id !== null; i++) d.exit(0);
    },
  };
  return d;
}

export function peer(node: string, a: Partial<ModuleAnnouncement> | null, reachable = true): PeerModuleView {
  const base: ModuleAnnouncement = {
    module: 'app',
    mode: 'mirror',
    state: 'WAIT',
    status: 'NotReady',
    serving: false,
    epoch: 0,
    copyComplete: false,
    lastRole: 'none',
    tookOver: false,
    handover: false,
    wantsPrim: false,
    started: true,
  };
  return { node, reachable, lansUp: reachable ? [0, 1] : [], module: a === null ? null : { ...base, ...a } };
}

export function types(effects: readonly ModuleEffect[]): string[] {
  return effects.map((e) => (e.type === 'RunScript' ? `RunScript:${e.script}${e.args.length ? `:${e.args.join(',')}` : ''}` : e.type === 'SetVip' ? `SetVip:${e.present}` : e.type));
}

export { announcementOf };
