// No false failovers with a witness under loss, late witness replies and early timers
// (the simulated counterpart of the failover benchmark's soak).
import { runSoak } from './soak';

const SEEDS = 10;
const SOAK_MS = 60_000;

describe('simulated soak: nothing fails, nothing changes', () => {
  for (const profile of ['default', 'fast'] as const) {
    it(`${profile} profile, witness, ${SEEDS} seeds x ${SOAK_MS / 1000} s`, () => {
      const bad: string[] = [];
      for (let seed = 1; seed <= SEEDS; seed++) {
        const r = runSoak(seed, profile, SOAK_MS);
        if (!r.setupOk || r.changes.length > 0 || r.leaseLost > 0) bad.push(`seed ${seed}: setup ${r.setupOk ? 'ok' : 'FAILED'}, lease lost ${r.leaseLost}, changes ${r.changes.join('; ')}`);
      }
      expect(bad).toEqual([]);
    });
  }
});
