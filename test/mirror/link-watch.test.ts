// The link's timing machine (core/mirror/pure/link-watch.ts), pure: time is an input.
import fc from 'fast-check';
import { INITIAL_LINK_TIMES, watchStep as linkStep, mayConnect, type WatchEvent as LinkEvent, type LinkTimes } from '../../core/mirror/pure/link-watch';

const CFG = { ack_timeout_ms: 5000, idle_ping_ms: 1000, apply_retry_ms: 1000, apply_retry_max_ms: 60_000 };

function run(events: ReadonlyArray<[LinkEvent, number]>): { state: LinkTimes; effects: string[] } {
  let state = INITIAL_LINK_TIMES;
  const effects: string[] = [];
  for (const [e, now] of events) {
    const r = linkStep(state, e, now, CFG);
    state = r.state;
    for (const x of r.effects) effects.push(x.kind === 'close' ? `close:${x.message}` : 'ping');
  }
  return { state, effects };
}

test('ops in flight without ACK progress for the ack timeout close the link; progress keeps it', () => {
  const t0 = 1_000_000;
  const base: Array<[LinkEvent, number]> = [[{ kind: 'attached' }, t0], [{ kind: 'first_in_flight' }, t0 + 10]];
  expect(run([...base, [{ kind: 'frame' }, t0 + 5000], [{ kind: 'tick', in_flight_ops: 3 }, t0 + 5011]]).effects).toEqual(['close:no acknowledgement for 5000 ms (stream stalled)']);
  // Kept (the PING is the keepalive SECOND's silence bound counts on, sent whatever flows).
  expect(run([...base, [{ kind: 'ack_progress' }, t0 + 4000], [{ kind: 'frame' }, t0 + 4500], [{ kind: 'tick', in_flight_ops: 3 }, t0 + 5011]]).effects).toEqual(['ping']);
});

test('silence closes the link after the ack timeout; an idle link is pinged after idle_ping_ms', () => {
  const t0 = 50;
  expect(run([[{ kind: 'attached' }, t0], [{ kind: 'tick', in_flight_ops: 0 }, t0 + 500]]).effects).toEqual([]);
  expect(run([[{ kind: 'attached' }, t0], [{ kind: 'tick', in_flight_ops: 0 }, t0 + 1500]]).effects).toEqual(['ping']);
  expect(run([[{ kind: 'attached' }, t0], [{ kind: 'tick', in_flight_ops: 0 }, t0 + 5001]]).effects).toEqual(['close:SECOND silent for 5000 ms']);
});

test('apply errors back off, doubling up to the maximum; in sync forgets it; retry_now connects at once', () => {
  let s = INITIAL_LINK_TIMES;
  const seen: number[] = [];
  for (let i = 0; i < 9; i++) {
    s = linkStep(s, { kind: 'closed', apply_error: true }, 1000, CFG).state;
    seen.push(s.applyBackoff_ms);
  }
  expect(seen).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  expect(mayConnect(s, 1000 + 59_999)).toBe(false);
  expect(mayConnect(s, 1000 + 60_000)).toBe(true);
  expect(mayConnect(linkStep(s, { kind: 'retry_now' }, 1000, CFG).state, 1000)).toBe(true);
  expect(linkStep(s, { kind: 'in_sync' }, 1000, CFG).state.applyBackoff_ms).toBe(0);
  expect(linkStep(INITIAL_LINK_TIMES, { kind: 'closed', apply_error: false }, 5, CFG).state).toEqual(INITIAL_LINK_TIMES);
});

test('only elapsed monotonic time matters: the same history shifted by any offset gives the same effects', () => {
  const ev = fc.oneof(
    fc.constant<LinkEvent>({ kind: 'attached' }), fc.constant<LinkEvent>({ kind: 'frame' }), fc.constant<LinkEvent>({ kind: 'ack_progress' }),
    fc.constant<LinkEvent>({ kind: 'first_in_flight' }), fc.integer({ min: 0, max: 3 }).map((n): LinkEvent => ({ kind: 'tick', in_flight_ops: n })),
  );
  fc.assert(fc.property(fc.array(fc.tuple(ev, fc.integer({ min: 0, max: 3000 })), { maxLength: 40 }), fc.integer({ min: -3_600_000, max: 3_600_000 }), (steps, offset) => {
    let now = 10_000_000;
    const a: Array<[LinkEvent, number]> = [[{ kind: 'attached' }, now]];
    for (const [e, dt] of steps) { now += dt; a.push([e, now]); }
    const b = a.map(([e, t]): [LinkEvent, number] => [e, t + offset]);
    expect(run(b).effects).toEqual(run(a).effects);
  }), { numRuns: 300 });
});
