// rise/fall, target combination and process matching.
import fc from 'fast-check';
import { combine, observe, RISEFALL_INIT } from '../../../core/checkers/pure/risefall';
import { countOk, procMatches } from '../../../core/checkers/pure/proc-match';

test('rise/fall: the state changes only after rise successes or fall failures in a row', () => {
  let rf = RISEFALL_INIT;
  for (const ok of [false, false]) rf = observe(rf, ok, 2, 3);
  expect(rf.state).toBe('init');
  rf = observe(rf, false, 2, 3);
  expect(rf.state).toBe('down');
  rf = observe(rf, true, 2, 3);
  expect(rf.state).toBe('down');
  rf = observe(rf, true, 2, 3);
  expect(rf.state).toBe('up');
  rf = observe(observe(rf, false, 2, 3), true, 2, 3);
  expect(rf.state).toBe('up');
});

test('property: with fall f, a state change to down needs f failures in a row', () => {
  fc.assert(
    fc.property(fc.array(fc.boolean(), { maxLength: 60 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), (oks, rise, fall) => {
      let rf = RISEFALL_INIT;
      oks.forEach((ok, i) => {
        const next = observe(rf, ok, rise, fall);
        if (next.state === 'down' && rf.state !== 'down') expect(oks.slice(Math.max(0, i - fall + 1), i + 1).every((x) => !x) && i + 1 >= fall).toBe(true);
        if (next.state === 'up' && rf.state !== 'up') expect(oks.slice(Math.max(0, i - rise + 1), i + 1).every((x) => x) && i + 1 >= rise).toBe(true);
        rf = next;
      });
    }),
    { numRuns: 300, seed: 7 },
  );
});

test('combine: any (tcp) and all (ping)', () => {
  expect(combine(['up', 'down'], 'any')).toBe('down');
  expect(combine(['up', 'up'], 'any')).toBe('up');
  expect(combine(['up', 'init'], 'any')).toBe('init');
  expect(combine(['up', 'down'], 'all')).toBe('up');
  expect(combine(['down', 'down'], 'all')).toBe('down');
  expect(combine(['down', 'init'], 'all')).toBe('init');
  expect(combine([], 'any')).toBe('init');
});

test('process matching by comm, argv[0] basename and argregex; atleast/atmost', () => {
  const p = { pid: 1, comm: 'node', cmdline: '/usr/bin/node server.js --port 80' };
  expect(procMatches(p, { name: 'node', argregex: null })).toBe(true);
  expect(procMatches(p, { name: 'node', argregex: /server\.js/ })).toBe(true);
  expect(procMatches(p, { name: 'node', argregex: /worker/ })).toBe(false);
  expect(procMatches(p, { name: 'python3', argregex: null })).toBe(false);
  expect(procMatches({ pid: 2, comm: 'averyveryverylo', cmdline: '' }, { name: 'averyveryverylongname', argregex: null })).toBe(true);
  expect(countOk(1, 1, -1)).toBe(true);
  expect(countOk(0, 1, -1)).toBe(false);
  expect(countOk(3, 1, 2)).toBe(false);
});
