import { ackPlanStep, DEFAULT_ACK_PLAN, INITIAL_ACK_PLAN, type AckPlanConfig, type AckPlanEffect, type AckPlanEvent, type AckPlanState } from '../../../core/mirror/pure/ack-plan';

function run(events: readonly AckPlanEvent[], cfg: AckPlanConfig = DEFAULT_ACK_PLAN): { state: AckPlanState; effects: AckPlanEffect[] } {
  let state = INITIAL_ACK_PLAN;
  const effects: AckPlanEffect[] = [];
  for (const ev of events) {
    const r = ackPlanStep(state, ev, cfg);
    state = r.state;
    effects.push(r.effect);
  }
  return { state, effects };
}

const write = (queued: number, bytes = 4096): AckPlanEvent => ({ kind: 'applied', sync: false, bytes, queued });
const fsync = (queued: number): AckPlanEvent => ({ kind: 'applied', sync: true, bytes: 0, queued });

describe('ack plan (SECOND, async="none")', () => {
  test('a sync-class op is acknowledged as soon as it is applied, even with ops queued behind it', () => {
    expect(run([write(1), fsync(5)]).effects).toEqual(['none', 'ack']);
  });

  test('a write followed by its fsync in the queue costs one ACK, not two', () => {
    expect(run([write(1), fsync(0)]).effects).toEqual(['none', 'ack']);
  });

  test('a lone write is acknowledged at once with idle_ms 0', () => {
    expect(run([write(0)], { ...DEFAULT_ACK_PLAN, idle_ms: 0 }).effects).toEqual(['ack']);
  });

  test('an op PRIM waits for (ACK_NOW) is acknowledged at once, as a sync op is', () => {
    expect(run([{ kind: 'applied', sync: true, bytes: 100, queued: 0 }]).effects).toEqual(['ack']);
  });

  test('a burst is acknowledged when the queue empties, once', () => {
    const r = run([write(3), write(2), write(1), write(0)], { ...DEFAULT_ACK_PLAN, idle_ms: 0 });
    expect(r.effects).toEqual(['none', 'none', 'none', 'ack']);
    expect(r.state.unacked_ops).toBe(0);
  });

  test('a long queue is acknowledged every every_ops ops and every every_bytes bytes', () => {
    const cfg: AckPlanConfig = { every_ops: 4, every_bytes: 1 << 30, idle_ms: 0 };
    const ops = Array.from({ length: 10 }, () => write(100));
    expect(run(ops, cfg).effects).toEqual(['none', 'none', 'none', 'ack', 'none', 'none', 'none', 'ack', 'none', 'none']);
    const big = Array.from({ length: 5 }, () => write(100, 512 * 1024));
    expect(run(big).effects).toEqual(['none', 'ack', 'none', 'ack', 'none']);
  });

  test('with idle_ms > 0 (the default) a lone write arms one timer, whose firing acknowledges', () => {
    const cfg: AckPlanConfig = DEFAULT_ACK_PLAN;
    expect(cfg.idle_ms).toBeGreaterThan(0);
    const r = run([write(0), write(0), { kind: 'idle_timer' }], cfg);
    expect(r.effects).toEqual(['arm_idle', 'none', 'ack']);
    expect(r.state).toEqual(INITIAL_ACK_PLAN);
    // A sync op before the timer acknowledges everything; the timer then has nothing to do.
    const s = run([write(0), fsync(0), { kind: 'idle_timer' }], cfg);
    expect(s.effects).toEqual(['arm_idle', 'ack', 'none']);
    expect(s.state.idle_armed).toBe(false);
  });

  test('before an answer, whatever was applied is acknowledged; nothing when all is', () => {
    expect(run([write(1), { kind: 'flush' }, { kind: 'flush' }]).effects).toEqual(['none', 'ack', 'none']);
  });

  test('random histories: sync ops and flushes always acknowledge, the bounds hold, a lone op always has a timer', () => {
    const cfg: AckPlanConfig = { every_ops: 8, every_bytes: 64 * 1024, idle_ms: 1 };
    let seed = 42;
    const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    for (let h = 0; h < 100; h++) {
      let state = INITIAL_ACK_PLAN;
      for (let i = 0; i < 100; i++) {
        const k = rnd(10);
        const ev: AckPlanEvent = k === 0 ? { kind: 'idle_timer' } : k === 1 ? { kind: 'flush' } : { kind: 'applied', sync: k === 2, bytes: rnd(32 * 1024), queued: rnd(3) };
        const r = ackPlanStep(state, ev, cfg);
        const bad =
          (ev.kind === 'applied' && ev.sync && r.effect !== 'ack') ||
          (ev.kind === 'flush' && state.unacked_ops > 0 && r.effect !== 'ack') ||
          (r.effect === 'arm_idle' && state.idle_armed) ||
          r.state.unacked_ops >= cfg.every_ops ||
          r.state.unacked_bytes >= cfg.every_bytes ||
          // Something unacknowledged with an empty queue always has a timer to cover it.
          (ev.kind === 'applied' && ev.queued === 0 && r.state.unacked_ops > 0 && !r.state.idle_armed);
        if (bad) throw new Error(`history ${h} step ${i}: ${JSON.stringify({ state, ev, r })}`);
        state = r.state;
      }
    }
  });
});
