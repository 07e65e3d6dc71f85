// The data-path simulation as a test (test/sim/datapath/): the real link machine
// (core/mirror/pure/link.ts) runs PRIM's side of a pair over in-memory file systems and a
// fake connection while faults hit both; invariants 14-16 of docs/invariants.md are checked
// after every event. A failure prints the seed and the replay command.
import { datapathReplayCommand, runDatapathSeed, type DatapathOptions, type FaultSet } from './datapath/run';
import { DatapathWorld } from './datapath/world';
import type { JournalModel } from './datapath/prim';

const CONFIGS: readonly { readonly name: string; readonly seeds: number; readonly faults: FaultSet; readonly fence?: 'daemon'; readonly sync_secondary?: false; readonly async?: 'second' }[] = [
  { name: 'all faults', seeds: 120, faults: 'all' },
  { name: 'all faults, without sync_secondary (the product default: SECOND acknowledges once written)', seeds: 60, faults: 'all', sync_secondary: false },
  { name: 'power cuts and hakitd restarts, without sync_secondary', seeds: 60, faults: 'power', sync_secondary: false },
  { name: 'all faults, the fence answered by heartbeats as hakitd does', seeds: 60, faults: 'all', fence: 'daemon' },
  { name: 'link faults (cuts, resets, stalls, garbage, SECOND disk full, hakitd restarts)', seeds: 60, faults: 'link' },
  { name: 'power cuts and hakitd restarts (failovers)', seeds: 60, faults: 'power' },
  { name: 'all faults, async="second" (SECOND acknowledges on receipt; sync calls wait for that ACK, no fsync op)', seeds: 40, faults: 'all', async: 'second' },
  { name: 'power cuts and hakitd restarts, async="second"', seeds: 40, faults: 'power', async: 'second' },
  { name: "disks full (PRIM's, its data and journal; SECOND's) with resets, cuts, hakitd restarts and power cuts", seeds: 60, faults: 'disk' },
];
const FAULTS_MS = 15_000;

/**
 * hakitd on PRIM dies while the link is in sync and the network is cut (its journal, last
 * rewritten "in sync", is not trusted: a full comparison is owed), comes back ALONE, dies again
 * and comes back; then the network heals. Returns the violations, or 'converged'.
 */
function twoDaemonCrashes(journal: JournalModel, seed: number): string {
  const w = new DatapathWorld({ seed, journal });
  w.start();
  w.runUntil(w.now + 10_000, () => w.nodes.n1.prim?.route === 'in_sync');
  w.runUntil(w.now + 200);
  w.cutNetwork();
  w.runUntil(w.now + 300);
  w.daemonCrash('n1', 100);
  w.runUntil(w.now + 1000);
  w.daemonCrash('n1', 100);
  w.runUntil(w.now + 1000);
  w.healNetwork();
  w.app.stop();
  const converged = w.runUntil(w.now + 30_000, () => w.converged());
  return w.violations.length > 0 ? w.violations.map((v) => `${v.invariant} ${v.what}`).join('; ') : converged ? 'converged' : 'no convergence';
}

function failures(opts: Omit<DatapathOptions, 'seed'>, from: number, to: number): string[] {
  const out: string[] = [];
  for (let seed = from; seed <= to; seed++) {
    const run: DatapathOptions = { ...opts, seed };
    const r = runDatapathSeed(run);
    if (!r.ok) out.push(`seed ${seed}: ${r.violations.map((v) => `t=${v.t} ${v.invariant} ${v.what}`).join('; ')}\n  replay: ${datapathReplayCommand(run)}`);
  }
  return out;
}

describe('data-path simulation', () => {
  for (const c of CONFIGS) {
    it(`${c.name}: ${c.seeds} seeds`, () => {
      expect(failures({ faults_ms: FAULTS_MS, faults: c.faults, ...(c.fence ? { fence: c.fence, fence_ms: 500 } : {}), ...(c.sync_secondary === false ? { sync_secondary: false } : {}), ...(c.async ? { async: c.async } : {}) }, 1, c.seeds)).toEqual([]);
    });
  }

  it('replays a seed exactly', () => {
    const run: DatapathOptions = { seed: 7, faults_ms: 8000 };
    expect(runDatapathSeed(run).trace).toEqual(runDatapathSeed(run).trace);
  });

  // The checker is only worth something if it catches a broken link: each test-only fault of
  // the runner (datapath/prim.ts PrimBugs) must be caught, with a readable trace and the seed.
  it('catches an fsync completed before SECOND acknowledged it (I1), with the seed and a trace', () => {
    const run: DatapathOptions = { seed: 1, faults_ms: FAULTS_MS, bugs: { fsync_before_ack: true } };
    const r = runDatapathSeed(run);
    expect(r.ok).toBe(false);
    expect(r.violations[0]?.invariant).toBe('I1');
    expect(r.violations[0]?.what).toMatch(/may take over but its disk lacks an acknowledged write of \/0\/\w+: word \d+ holds .*, acknowledged write #\d+ of file \d+/);
    expect(r.trace.some((l) => l.includes('VIOLATION I1'))).toBe(true);
    expect(datapathReplayCommand(run)).toBe('npm run sim -- --datapath only --seed 1 --datapath-faults-ms 15000 --datapath-faults all --bug fsync-before-ack --verbose');
  });

  it("catches an activity record that cools a file before it is synced (I3: the returning PRIM's stale copy of it is never compared)", () => {
    const run: DatapathOptions = { seed: 1, faults_ms: 20_000, faults: 'power' };
    const r = runDatapathSeed({ ...run, bugs: { activity_cools_unsynced: true } });
    expect(r.violations[0]?.invariant).toBe('I3');
    expect(r.violations[0]?.what).toMatch(/PRIM n2 link in_sync, app idle, trees: \/0\/\w+: content differs/);
    expect(r.trace.some((l) => /activity pass compares \d+ of \d+ files/.test(l))).toBe(true);
    expect(datapathReplayCommand({ ...run, bugs: { activity_cools_unsynced: true } })).toBe('npm run sim -- --datapath only --seed 1 --datapath-faults-ms 20000 --datapath-faults power --bug activity-cools-unsynced --verbose');
    expect(runDatapathSeed(run).ok).toBe(true);
  });

  it('catches unacknowledged ops lost when PRIM goes ALONE (I1: neither on SECOND nor journaled)', () => {
    const bad = failures({ faults_ms: FAULTS_MS, bugs: { drop_go_alone_ops: true } }, 25, 40);
    expect(bad.length).toBeGreaterThan(0);
    expect(bad[0]).toMatch(/I1 acknowledged write #\d+ .* is neither on SECOND .* nor in PRIM's journal\/pending set/);
  });

  // Bugs the simulation found (the last one, fixed in receiver.ts start() after a review, it
  // catches since it models async="second"), all fixed: each test re-injects the old
  // behaviour, proves the invariant catches it, and that the fixed one passes.
  describe('bugs found by the simulation (see docs/invariants.md 14)', () => {
    it('fixed: WELCOME named the last op received, not applied: a resume completed an fsync SECOND had not applied', () => {
      const r = runDatapathSeed({ seed: 57, faults_ms: FAULTS_MS, welcome: 'received' });
      expect(r.violations[0]?.invariant).toBe('I1');
      expect(r.violations[0]?.what).toMatch(/may take over but its disk lacks an acknowledged write/);
      expect(runDatapathSeed({ seed: 57, faults_ms: FAULTS_MS }).ok).toBe(true);
    });

    it('fixed: an untrusted journal was rewritten trusted-looking; a second hakitd crash forgot the full comparison it owed', () => {
      expect(twoDaemonCrashes('today', 2)).toMatch(/^I1 acknowledged write #\d+ .* is neither on SECOND .* nor in PRIM's journal\/pending set; PRIM link syncing/);
      for (let seed = 1; seed <= 5; seed++) expect(twoDaemonCrashes('fixed', seed)).toBe('converged');
    });

    it('fixed: the journal stayed "alone" during a pass; a hakitd crash then left it trusted without the live ops in flight', () => {
      const r = runDatapathSeed({ seed: 13, faults_ms: 20_000, faults: 'link', journal: 'today' });
      expect(r.violations[0]?.invariant).toBe('I1');
      // A journal trusted without the live ops: an acknowledged write neither on SECOND nor
      // journaled (the form depends on the history: extent records changed it).
      expect(r.violations[0]?.what).toMatch(/acknowledged write .*(neither on SECOND .* nor in PRIM's journal|may take over but its disk lacks)/);
      expect(runDatapathSeed({ seed: 13, faults_ms: 20_000, faults: 'link' }).ok).toBe(true);
    });

    it('fixed: sync calls returned local-only before SECOND heard that PRIM is ALONE (the fence holds them now)', () => {
      const r = runDatapathSeed({ seed: 4, faults_ms: FAULTS_MS, fence: 'daemon', fence_ms: 500, bugs: { no_fence: true } });
      expect(r.violations[0]?.invariant).toBe('I1');
      expect(r.violations[0]?.what).toMatch(/may take over but its disk lacks an acknowledged write .*PRIM link alone/);
      expect(runDatapathSeed({ seed: 4, faults_ms: FAULTS_MS, fence: 'daemon', fence_ms: 500 }).ok).toBe(true);
    });

    it('without sync_secondary: a SECOND back from a reboot stayed eligible with acknowledged writes lost from its page cache (told "incomplete" at start now)', () => {
      const run: DatapathOptions = { seed: 7, faults_ms: 20_000, faults: 'power', sync_secondary: false };
      const r = runDatapathSeed({ ...run, bugs: { second_keeps_complete: true } });
      expect(r.violations[0]?.invariant).toBe('I1');
      expect(r.violations[0]?.what).toMatch(/may take over but its copy lacks an acknowledged write/);
      expect(runDatapathSeed(run).ok).toBe(true);
    });

    it('with async="second": a SECOND whose hakitd died stayed complete and trusted, though ops it had acknowledged died with its apply queue', () => {
      const run: DatapathOptions = { seed: 7, faults_ms: 20_000, async: 'second' };
      const r = runDatapathSeed({ ...run, receiver_start: 'boot' });
      expect(r.violations[0]?.invariant).toBe('I1');
      expect(r.violations[0]?.what).toMatch(/may take over but its copy lacks an acknowledged write/);
      expect(datapathReplayCommand({ ...run, receiver_start: 'boot' })).toBe('npm run sim -- --datapath only --seed 7 --datapath-faults-ms 20000 --datapath-faults all --async second --receiver-start boot --verbose');
      expect(runDatapathSeed(run).ok).toBe(true);
    });

    it("fixed: a pass on a live connection (a range PRIM's full disk made divergent) left SECOND complete; an fsync returned with a write SECOND lacked", () => {
      const run: DatapathOptions = { seed: 14, faults_ms: 20_000, faults: 'disk' };
      const r = runDatapathSeed({ ...run, bugs: { pass_keeps_second_complete: true } });
      expect(r.violations[0]?.invariant).toBe('I1');
      expect(r.violations[0]?.what).toMatch(/may take over but its disk lacks an acknowledged write .*PRIM link syncing/);
      expect(runDatapathSeed(run).ok).toBe(true);
    });

    it('fixed: an in_sync handled after PRIM gave its session up made SECOND complete, while PRIM had released sync calls on its older "incomplete" (PRIM announces its session now)', () => {
      const run: DatapathOptions = { seed: 135, faults_ms: 20_000 };
      const r = runDatapathSeed({ ...run, bugs: { second_completes_stale: true } });
      expect(r.violations[0]?.invariant).toBe('I1');
      expect(r.violations[0]?.what).toMatch(/may take over but its disk lacks an acknowledged write .*PRIM link alone/);
      expect(datapathReplayCommand({ ...run, bugs: { second_completes_stale: true } })).toBe('npm run sim -- --datapath only --seed 135 --datapath-faults-ms 20000 --datapath-faults all --bug second-completes-stale --verbose');
      const fixed = runDatapathSeed(run);
      expect(fixed.ok).toBe(true);
      expect(fixed.trace.some((l) => l.includes('in_sync held: PRIM announces no session'))).toBe(true);
    });

    it("fixed: a journal record PRIM's full disk refused was lost while the journal stayed trusted (journal.ts empties itself now)", () => {
      const run: DatapathOptions = { seed: 384, faults_ms: 20_000, faults: 'disk' };
      const r = runDatapathSeed({ ...run, bugs: { journal_drops_refused: true } });
      expect(r.violations[0]?.invariant).toBe('I1');
      expect(datapathReplayCommand({ ...run, bugs: { journal_drops_refused: true } })).toBe('npm run sim -- --datapath only --seed 384 --datapath-faults-ms 20000 --datapath-faults disk --bug journal-drops-refused --verbose');
      expect(runDatapathSeed(run).ok).toBe(true);
    });
  });
});
