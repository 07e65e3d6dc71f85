// The what-if engine against cases the simulation and the lab established: a mirror PRIM
// lost (its SECOND becomes ALONE after the heartbeat timeout), a farm node lost (its buckets
// go to the survivors), a LAN cut with a witness (the witness keeps the lease holder's side).
import { BUCKET_COUNT, bucketOwners } from '../../../filters/buckets';
import { HEARTBEAT_PROFILES, defaultPolicy } from '../../../core/module/pure/policy';
import type { ModuleAnnouncement, ModuleMode, ModuleStateName, SubStatus } from '../../../core/module/pure/types';
import { predict } from '../../../core/whatif/pure/predict';
import { makeScenario, type WhatIfQuestion } from '../../../core/whatif/pure/scenario';
import type { WhatIfCluster, WhatIfPrediction } from '../../../core/whatif/pure/types';

function ann(module: string, mode: ModuleMode, state: ModuleStateName, status: SubStatus, over: Partial<ModuleAnnouncement> = {}): ModuleAnnouncement {
  const serving = state === 'PRIM' || state === 'ALONE';
  return {
    module,
    mode,
    state,
    status,
    serving,
    epoch: 3,
    copyComplete: state !== 'STOP' && state !== 'WAIT',
    lastRole: state === 'PRIM' ? 'PRIM' : state === 'ALONE' ? 'ALONE' : state === 'SECOND' ? 'SECOND' : 'none',
    tookOver: false,
    handover: false,
    wantsPrim: false,
    started: state !== 'STOP',
    ...over,
  };
}

function mirrorCluster(opts: { witness?: boolean; second?: [ModuleStateName, SubStatus, boolean]; failover?: boolean } = {}): WhatIfCluster {
  const nodes = ['node1', 'node2'];
  const policy = defaultPolicy('app', 'mirror', nodes, { hasWitness: opts.witness ?? false, failover: opts.failover ?? true });
  const [s2, st2, complete2] = opts.second ?? ['SECOND', 'Ready', true];
  return {
    taken_by: 'node1',
    lans: [{ index: 0, name: 'lan1' }],
    nodes: nodes.map((node) => ({ node, lans: [0] })),
    profile: HEARTBEAT_PROFILES.default,
    modules: [
      {
        policy,
        powers: null,
        replication_lan: null,
        nodes: [
          { node: 'node1', reachable: true, announcement: ann('app', 'mirror', 'PRIM', 'Ready'), failover: null },
          { node: 'node2', reachable: true, announcement: ann('app', 'mirror', s2, st2, { copyComplete: complete2 }), failover: null },
        ],
      },
    ],
  };
}

function farmCluster(): WhatIfCluster {
  const nodes = ['node1', 'node2', 'node3'];
  const policy = defaultPolicy('web', 'farm', nodes);
  return {
    taken_by: 'node1',
    lans: [{ index: 0, name: 'lan1' }],
    nodes: nodes.map((node) => ({ node, lans: [0] })),
    profile: HEARTBEAT_PROFILES.default,
    modules: [{ policy, powers: { node1: 1, node2: 1, node3: 1 }, replication_lan: null, nodes: nodes.map((node) => ({ node, reachable: true, announcement: ann('web', 'farm', 'UP', 'Ready'), failover: null })) }],
  };
}

function ask(c: WhatIfCluster, q: WhatIfQuestion): WhatIfPrediction {
  return predict(c, makeScenario(c, { script_ms: 500, sync_ms: 1000, horizon_ms: 30_000, ...q }));
}

const after = (p: WhatIfPrediction, module: string, node: string): string | undefined => p.modules.find((m) => m.module === module)?.nodes.find((n) => n.node === node)?.after;

describe('what-if: mirror', () => {
  it('the PRIM fails: the SECOND becomes ALONE after the heartbeat timeout, with the VIP', () => {
    const p = ask(mirrorCluster(), { fail: ['node1'] });
    expect(p.warnings).toEqual([]);
    expect(after(p, 'app', 'node1')).toBe('DOWN');
    expect(after(p, 'app', 'node2')).toBe('ALONE/Ready');
    const m = p.modules[0]!;
    expect(m.vip_before).toEqual(['node1']);
    expect(m.vip_after).toEqual(['node2']);
    expect(m.warnings).toEqual([]);
    const lost = p.timeline.find((t) => t.kind === 'peer-lost' && t.node === 'node2');
    expect(lost).toBeDefined();
    // Silence counts from the last heartbeat heard, up to one period before the fault.
    expect(lost!.at_ms).toBeGreaterThanOrEqual(2500 - 500);
    expect(lost!.at_ms).toBeLessThanOrEqual(3000 + 2);
    const alone = p.timeline.find((t) => t.kind === 'state' && t.node === 'node2' && t.text.includes('ALONE/'));
    expect(alone).toBeDefined();
    expect(alone!.at_ms).toBeGreaterThanOrEqual(lost!.at_ms);
    expect(p.timeline.some((t) => t.kind === 'script' && t.text.startsWith('start_prim starts on node2'))).toBe(true);
    expect(p.timeline.some((t) => t.kind === 'vip' && t.text === 'node2 adds the VIP')).toBe(true);
  });

  it('the PRIM fails while the SECOND re-integrates: failover refused, data-loss warning', () => {
    const p = ask(mirrorCluster({ second: ['SECOND', 'Transient', false] }), { fail: ['node1'] });
    expect(after(p, 'app', 'node2')).toBe('WAIT/NotReady');
    const w = p.modules[0]!.warnings.map((x) => x.kind);
    expect(w).toContain('no-up-to-date-second');
    expect(w).toContain('not-served');
    expect(p.modules[0]!.warnings.find((x) => x.kind === 'no-up-to-date-second')!.message).toMatch(/no SECOND up to date: failover refused, data-loss risk/);
  });

  it('failover off: the SECOND waits, and the prediction says so', () => {
    const p = ask(mirrorCluster({ failover: false }), { fail: ['node1'] });
    expect(after(p, 'app', 'node2')).toBe('WAIT/NotReady');
    expect(p.modules[0]!.warnings.map((x) => x.kind)).toEqual(expect.arrayContaining(['failover-off', 'not-served']));
  });

  it('the SECOND fails: the PRIM goes on ALONE, nothing moves', () => {
    const p = ask(mirrorCluster(), { fail: ['node2'] });
    expect(after(p, 'app', 'node1')).toBe('ALONE/Ready');
    expect(p.modules[0]!.vip_after).toEqual(['node1']);
  });

  it('the only LAN is cut with a witness: the witness keeps the PRIM\'s side, the SECOND waits', () => {
    const p = ask(mirrorCluster({ witness: true }), { cut: ['lan1'] });
    expect(after(p, 'app', 'node1')).toBe('ALONE/Ready');
    expect(after(p, 'app', 'node2')).toBe('WAIT/NotReady');
    expect(p.modules[0]!.vip_after).toEqual(['node1']);
    expect(p.timeline.some((t) => t.kind === 'witness' && t.node === 'node2' && /refuses/.test(t.text))).toBe(true);
    expect(p.modules[0]!.warnings.map((x) => x.kind)).not.toContain('split-brain');
  });

  it('the only LAN is cut with a witness that node1 cannot reach: node2 takes over once the lease ran out', () => {
    const p = ask(mirrorCluster({ witness: true }), { cut: ['lan1'], witness_cut: ['node1'] });
    expect(after(p, 'app', 'node1')).toBe('WAIT/NotReady');
    expect(after(p, 'app', 'node2')).toBe('ALONE/Ready');
  });

  it('the only LAN is cut without a witness: both sides serve, and the prediction warns', () => {
    const p = ask(mirrorCluster(), { cut: ['0'] });
    expect(after(p, 'app', 'node1')).toBe('ALONE/Ready');
    expect(after(p, 'app', 'node2')).toBe('ALONE/Ready');
    expect(p.modules[0]!.warnings.map((x) => x.kind)).toEqual(expect.arrayContaining(['split-brain', 'no-witness']));
  });

  it('is deterministic', () => {
    expect(JSON.stringify(ask(mirrorCluster({ witness: true }), { fail: ['node1'] }))).toBe(JSON.stringify(ask(mirrorCluster({ witness: true }), { fail: ['node1'] })));
  });
});

describe('what-if: farm', () => {
  it('a farm node fails: its buckets go to the survivors, nobody else\'s move', () => {
    const p = ask(farmCluster(), { fail: ['node2'] });
    const m = p.modules[0]!;
    expect(after(p, 'web', 'node1')).toBe('UP/Ready');
    expect(after(p, 'web', 'node3')).toBe('UP/Ready');
    const before = bucketOwners([{ id: 'node1', power: 1 }, { id: 'node2', power: 1 }, { id: 'node3', power: 1 }]);
    expect(m.farm!.before).toEqual([...before]);
    expect(m.farm!.after).toHaveLength(BUCKET_COUNT);
    expect(m.farm!.after.every((o) => o === 'node1' || o === 'node3')).toBe(true);
    // The survivors' table, exactly as the farm share computes it (exact balance may move one more).
    expect(m.farm!.after).toEqual([...bucketOwners([{ id: 'node1', power: 1 }, { id: 'node3', power: 1 }])]);
    const held2 = before.filter((o) => o === 'node2').length;
    const fromNode2 = m.farm!.moves.filter((x) => x.from === 'node2').reduce((s, x) => s + x.count, 0);
    expect(fromNode2).toBe(held2);
    expect(m.farm!.moves.filter((x) => x.from !== 'node2').reduce((s, x) => s + x.count, 0)).toBeLessThanOrEqual(2);
    expect(m.farm!.moved_at_ms).toBeGreaterThanOrEqual(2000);
  });
});

describe('what-if: questions', () => {
  it('an unknown node or LAN, or an empty question, is a coded error', () => {
    const c = mirrorCluster();
    expect(() => makeScenario(c, { fail: ['node9'] })).toThrow(expect.objectContaining({ code: 'HAKIT_E_WHATIF_UNKNOWN_NODE' }));
    expect(() => makeScenario(c, { cut: ['lan9'] })).toThrow(expect.objectContaining({ code: 'HAKIT_E_WHATIF_UNKNOWN_LAN' }));
    expect(() => makeScenario(c, {})).toThrow(expect.objectContaining({ code: 'HAKIT_E_WHATIF_EMPTY' }));
  });
});
