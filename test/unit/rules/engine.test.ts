// The failover rules engine: resources, role gating, handle_time, actions, maxloop, wait.
import fc from 'fast-check';
import { ACT_RETRY_MS, initRules, roleActive, stepRules } from '../../../core/rules/pure/engine';
import type { ResourceSpec, RulesConfig, RulesEffect, RulesEvent, RulesState } from '../../../core/rules/pure/types';

const R = (name: string, action: ResourceSpec['action'], role: ResourceSpec['role'] = 'prim', rule: string | null = null): ResourceSpec => ({
  name,
  class: name.split('.')[0] as ResourceSpec['class'],
  role,
  action,
  rule,
});

function cfg(resources: ResourceSpec[], over: Partial<RulesConfig> = {}): RulesConfig {
  return { module: 'm', handle_time_ms: 0, maxloop: 3, loop_interval_ms: 60_000, resources, waitVia: 'stop', ...over };
}

/** Runs events at given times; returns the final state and every effect. */
function run(s0: RulesState, evs: Array<[number, RulesEvent]>): { s: RulesState; fx: RulesEffect[] } {
  let s = s0;
  const fx: RulesEffect[] = [];
  for (const [t, e] of evs) {
    const r = stepRules(s, e, t);
    s = r.state;
    fx.push(...r.effects);
  }
  return { s, fx };
}

const PRIM_READY: RulesEvent = { type: 'Module', view: { state: 'PRIM', status: 'Ready' } };
const TRANSIENT: RulesEvent = { type: 'Module', view: { state: 'PRIM', status: 'Transient' } };
const down = (resource: string, source: 'checker' | 'operator' = 'checker'): RulesEvent => ({ type: 'Resource', resource, state: 'down', source });
const up = (resource: string): RulesEvent => ({ type: 'Resource', resource, state: 'up', source: 'checker' });
const acts = (fx: RulesEffect[]) => fx.filter((f) => f.type === 'Act').map((f) => (f.type === 'Act' ? `${f.action}:${f.resource}` : ''));

describe('role gating', () => {
  test('roles map onto module states; only pre and always run while scripts run', () => {
    expect(roleActive('prim', { state: 'PRIM', status: 'Ready' })).toBe(true);
    expect(roleActive('prim', { state: 'UP', status: 'Ready' })).toBe(true);
    expect(roleActive('prim', { state: 'SECOND', status: 'Ready' })).toBe(false);
    expect(roleActive('prim', { state: 'PRIM', status: 'Transient' })).toBe(false);
    expect(roleActive('second', { state: 'SECOND', status: 'Ready' })).toBe(true);
    expect(roleActive('both', { state: 'SECOND', status: 'Ready' })).toBe(true);
    expect(roleActive('pre', { state: 'WAIT', status: 'Transient' })).toBe(true);
    expect(roleActive('pre', { state: 'STOP', status: 'NotReady' })).toBe(false);
    expect(roleActive('always', null)).toBe(true);
  });

  test('checkers run only in their role, and resources of stopped checkers go back to init', () => {
    const { s, fx } = run(initRules(cfg([R('errd.app', 'restart'), R('ping.gw', 'wait', 'both')])), [
      [0, PRIM_READY],
      [10, up('errd.app')],
      [20, { type: 'Module', view: { state: 'SECOND', status: 'Ready' } }],
    ]);
    const active = fx.filter((f) => f.type === 'Active').map((f) => (f.type === 'Active' ? f.resources.join(',') : ''));
    expect(active).toEqual(['errd.app,ping.gw', 'ping.gw']);
    expect(s.values['errd.app']?.state).toBe('init');
  });

  test('a report of an inactive checker is ignored', () => {
    const { s } = run(initRules(cfg([R('errd.app', 'restart')])), [[0, down('errd.app')]]);
    expect(s.values['errd.app']?.state).toBe('init');
  });
});

describe('actions', () => {
  test('a resource down acts once; the next action waits until the module settled', () => {
    const s0 = initRules(cfg([R('errd.app', 'restart')]));
    const { fx, s } = run(s0, [
      [0, PRIM_READY],
      [1, down('errd.app')],
      [2, { type: 'Tick' }],
      [3, { type: 'Tick' }],
    ]);
    expect(acts(fx)).toEqual(['restart:errd.app']);
    expect(s.lastRule).toMatchObject({ resource: 'errd.app', action: 'restart' });
    const after = run(s, [
      [4, TRANSIENT],
      [5, PRIM_READY],
      [6, down('errd.app')],
    ]);
    expect(acts(after.fx)).toEqual(['restart:errd.app']);
  });

  test('handle_time: a resource must stay down that long', () => {
    const s0 = initRules(cfg([R('tcp.web', 'restart')], { handle_time_ms: 1_000 }));
    const early = run(s0, [
      [0, PRIM_READY],
      [100, down('tcp.web')],
      [900, { type: 'Tick' }],
      [950, up('tcp.web')],
      [2_000, { type: 'Tick' }],
    ]);
    expect(acts(early.fx)).toEqual([]);
    const late = run(s0, [
      [0, PRIM_READY],
      [100, down('tcp.web')],
      [1_099, { type: 'Tick' }],
      [1_100, { type: 'Tick' }],
    ]);
    expect(acts(late.fx)).toEqual(['restart:tcp.web']);
  });

  test('the most severe action wins when several resources are down', () => {
    const { fx } = run(initRules(cfg([R('errd.a', 'restart'), R('tcp.b', 'stopstart'), R('custom.c', 'stop')])), [
      [0, PRIM_READY],
      [0, { type: 'Switch', what: 'checkers', on: false }],
      [1, down('errd.a')],
    ]);
    expect(acts(fx)).toEqual(['restart:errd.a']);
    const both = run(initRules(cfg([R('errd.a', 'restart'), R('tcp.b', 'stopstart')], { handle_time_ms: 10 })), [
      [0, PRIM_READY],
      [1, down('errd.a')],
      [2, down('tcp.b')],
      [20, { type: 'Tick' }],
    ]);
    expect(acts(both.fx)).toEqual(['stopstart:tcp.b']);
  });

  test('more than maxloop restarts within loop_interval become stop', () => {
    let s = initRules(cfg([R('errd.app', 'restart')], { maxloop: 2, loop_interval_ms: 10_000 }));
    const all: string[] = [];
    for (let i = 0; i < 3; i++) {
      const t = i * 100;
      const r = run(s, [
        [t, PRIM_READY],
        [t + 1, down('errd.app')],
        [t + 2, TRANSIENT],
      ]);
      s = r.s;
      all.push(...acts(r.fx));
      expect(r.fx.some((f) => f.type === 'Log' && f.code === 'HAKIT_E_RULE_MAXLOOP')).toBe(i === 2);
    }
    expect(all).toEqual(['restart:errd.app', 'restart:errd.app', 'stop:errd.app']);
  });

  test('restarts older than loop_interval do not count', () => {
    let s = initRules(cfg([R('errd.app', 'restart')], { maxloop: 1, loop_interval_ms: 1_000 }));
    const all: string[] = [];
    for (const t of [0, 5_000, 10_000]) {
      const r = run(s, [
        [t, PRIM_READY],
        [t + 1, down('errd.app')],
        [t + 2, TRANSIENT],
      ]);
      s = r.s;
      all.push(...acts(r.fx));
    }
    expect(all).toEqual(['restart:errd.app', 'restart:errd.app', 'restart:errd.app']);
  });

  test('a refused action lets the rules act again, after ACT_RETRY_MS (no busy loop)', () => {
    const { s } = run(initRules(cfg([R('errd.app', 'restart')])), [
      [0, PRIM_READY],
      [1, down('errd.app')],
    ]);
    expect(s.acting).not.toBeNull();
    const r = run(s, [
      [2, { type: 'ActRefused', message: 'busy' }],
      [2 + ACT_RETRY_MS - 1, { type: 'Tick' }],
    ]);
    expect(acts(r.fx)).toEqual([]);
    expect(acts(run(r.s, [[2 + ACT_RETRY_MS, { type: 'Tick' }]]).fx)).toEqual(['restart:errd.app']);
  });

  test('errd off: errd resources go to init and no rule acts; other checkers keep running', () => {
    const { s, fx } = run(initRules(cfg([R('errd.app', 'restart'), R('tcp.web', 'restart')])), [
      [0, PRIM_READY],
      [1, { type: 'Switch', what: 'errd', on: false }],
      [2, down('errd.app')],
    ]);
    expect(acts(fx)).toEqual([]);
    expect(s.values['errd.app']?.state).toBe('init');
    const last = fx.filter((f) => f.type === 'Active').pop();
    expect(last).toEqual({ type: 'Active', resources: ['tcp.web'] });
  });

  test('operator set down acts like a checker; unknown resources are ignored with a log', () => {
    const { fx, s } = run(initRules(cfg([R('custom.c', 'stopstart')])), [
      [0, PRIM_READY],
      [1, down('custom.c', 'operator')],
      [2, down('custom.nope', 'operator')],
    ]);
    expect(acts(fx)).toEqual(['stopstart:custom.c']);
    expect(s.values['custom.c']?.source).toBe('operator');
    expect(fx.some((f) => f.type === 'Log' && f.msg.includes('custom.nope'))).toBe(true);
  });

  test('action none is shown only', () => {
    const { fx, s } = run(initRules(cfg([R('splitbrain.w', 'none', 'always')])), [[0, down('splitbrain.w')]]);
    expect(acts(fx)).toEqual([]);
    expect(s.values['splitbrain.w']?.state).toBe('down');
  });
});

describe('wait', () => {
  test('waitVia stop: the module is stopped, the resource stays watched, and the module starts again when it is up', () => {
    const s0 = initRules(cfg([R('ping.gw', 'wait', 'both')]));
    const a = run(s0, [
      [0, PRIM_READY],
      [1, down('ping.gw')],
    ]);
    expect(acts(a.fx)).toEqual(['stop:ping.gw']);
    const b = run(a.s, [
      [2, { type: 'Module', view: { state: 'PRIM', status: 'Transient' } }],
      [3, { type: 'Module', view: { state: 'STOP', status: 'NotReady' } }],
      [4, { type: 'Tick' }],
    ]);
    expect(acts(b.fx)).toEqual([]);
    expect(b.s.held).toEqual(['ping.gw']);
    expect(b.s.values['ping.gw']?.state).toBe('down');
    const c = run(b.s, [[5, up('ping.gw')]]);
    expect(acts(c.fx)).toEqual(['start:']);
    expect(c.s.held).toEqual([]);
  });

  test('waitVia machine: Hold effects carry the held set to the module machine', () => {
    const s0 = initRules(cfg([R('ping.gw', 'wait', 'both')], { waitVia: 'machine' }));
    const { fx } = run(s0, [
      [0, { type: 'Module', view: { state: 'UP', status: 'Ready' } }],
      [1, down('ping.gw')],
      [2, { type: 'Module', view: { state: 'WAIT', status: 'Ready' } }],
      [3, up('ping.gw')],
    ]);
    expect(fx.filter((f) => f.type === 'Hold')).toEqual([
      { type: 'Hold', resources: ['ping.gw'] },
      { type: 'Hold', resources: [] },
    ]);
    expect(acts(fx)).toEqual([]);
  });
});

describe('properties', () => {
  const names = ['errd.a', 'tcp.b', 'ping.c'];
  const evArb: fc.Arbitrary<RulesEvent> = fc.oneof(
    fc.record({ type: fc.constant('Resource' as const), resource: fc.constantFrom(...names, 'x.unknown'), state: fc.constantFrom('up' as const, 'down' as const), source: fc.constantFrom('checker' as const, 'operator' as const) }),
    fc.record({ type: fc.constant('Module' as const), view: fc.record({ state: fc.constantFrom('STOP', 'WAIT', 'PRIM', 'SECOND', 'ALONE', 'UP'), status: fc.constantFrom('NotReady' as const, 'Transient' as const, 'Ready' as const) }) }),
    fc.constant({ type: 'Tick' as const }),
    fc.record({ type: fc.constant('Switch' as const), what: fc.constantFrom('errd' as const, 'checkers' as const), on: fc.boolean() }),
    fc.constant({ type: 'ActRefused' as const, message: 'no' }),
  );

  test('never more than one action until the module settled or refused; maxloop bounds restarts; inactive resources are init', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000 }), evArb), { maxLength: 120 }), fc.constantFrom<'stop' | 'machine'>('stop', 'machine'), (steps, waitVia) => {
        let s = initRules(cfg([R('errd.a', 'restart'), R('tcp.b', 'stopstart', 'both'), R('ping.c', 'wait', 'both')], { handle_time_ms: 500, maxloop: 2, loop_interval_ms: 20_000, waitVia }));
        let now = 0;
        const restarts: number[] = [];
        for (const [dt, ev] of steps) {
          now += dt;
          const before = s.acting;
          const r = stepRules(s, ev, now);
          const a = r.effects.filter((f) => f.type === 'Act');
          expect(a.length).toBeLessThanOrEqual(1);
          if (a.length === 1 && before !== null) expect(ev.type === 'Module').toBe(true);
          if (ev.type === 'ActRefused') expect(a).toEqual([]);
          for (const f of a) if (f.type === 'Act' && (f.action === 'restart' || f.action === 'stopstart')) restarts.push(now);
          s = r.state;
          const inWindow = restarts.filter((t) => now - t < 20_000).length;
          expect(inWindow).toBeLessThanOrEqual(2);
          for (const spec of s.config.resources) {
            const on = spec.class === 'errd' ? s.errdOn : s.checkersOn;
            const active = on && (roleActive(spec.role, s.module) || s.held.includes(spec.name));
            if (!active) expect(s.values[spec.name]?.state).toBe('init');
          }
        }
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});
