// What-if with application and checker faults: the daemon's own rules engine, checkers'
// rise/fall and module machines run from real userconfig.xml text (config loader, planModule,
// planMonitor, the daemon's farm wait list, the snapshot), and the prediction says which
// failover rule applies, what it does and what the cluster ends in.
import { ann, after, ask, farmConfig, kinds, mirrorConfig, snapshotOf } from './rules-helpers';
import { makeScenario } from '../../../core/whatif/pure/scenario';

const ERRD = `<errd polltimer="2s"><proc name="appd" atleast="1" action="restart" class="prim"/></errd>`;
const TCP_STOPSTART = `<check><tcp ident="http" when="prim" action="restart"><to addr="127.0.0.1" port="80" interval="2s" timeout="1s" fall="2"/></tcp></check>
  <failover><rule name="http_down" when="http" action="stopstart"/></failover>`;
const PAIR = { node1: ann('app', 'mirror', 'PRIM'), node2: ann('app', 'mirror', 'SECOND') };
const FARM_CHECKS = `<errd polltimer="2s"><proc name="webd" atleast="1" action="restart" class="both"/></errd>
  <check><ping ident="router" when="both" action="wait"><to addr="198.18.90.254" interval="1s" timeout="500ms" fall="2"/></ping></check>`;
const FARM_UP = { node1: ann('web', 'farm', 'UP'), node2: ann('web', 'farm', 'UP'), node3: ann('web', 'farm', 'UP') };

describe('what-if: the application fails (mirror)', () => {
  it('errd restart, the fault lasting: restarted maxloop times in place, then stopped; the SECOND takes over with the VIP', () => {
    const p = ask(snapshotOf('app', mirrorConfig({ checks: ERRD }), PAIR), { app_fail: ['app@node1'] });
    expect(after(p, 'node1')).toBe('STOP/NotReady');
    expect(after(p, 'node2')).toBe('ALONE/Ready');
    const m = p.modules[0]!;
    expect(m.vip_before).toEqual(['node1']);
    expect(m.vip_after).toEqual(['node2']);
    const r = m.rules[0]!;
    expect(r).toMatchObject({ node: 'node1', resource: 'errd.appd', class: 'errd', role: 'prim', rule: null, action: 'restart', maxloop: 2 });
    expect(r.taken.map((t) => t.action)).toEqual(['restart', 'restart', 'stop']);
    // A dead process is seen by errd's fast watch (100 ms); after a restart the new watch confirms for its 1 s grace.
    expect(r.down_at_ms).toBe(100);
    expect(r.explains).toContain('restart in place');
    expect(kinds(p)).toEqual(['maxloop', 'stays-stopped']);
    expect(p.timeline.some((t) => t.kind === 'rule' && t.text.includes('stop instead'))).toBe(true);
  });

  it('heal=restart: one restart in place cures it; nothing else changes', () => {
    const p = ask(snapshotOf('app', mirrorConfig({ checks: ERRD }), PAIR), { app_fail: ['app@node1'], heal: 'restart' });
    expect(after(p, 'node1')).toBe('PRIM/Ready');
    expect(after(p, 'node2')).toBe('SECOND/Ready');
    expect(p.modules[0]!.rules[0]!.taken.map((t) => t.action)).toEqual(['restart']);
    expect(p.modules[0]!.vip_after).toEqual(['node1']);
    expect(kinds(p)).toEqual([]);
  });

  it('a <failover><rule> stopstart on the tcp checker: the SECOND becomes PRIM, the old PRIM comes back as SECOND', () => {
    const p = ask(snapshotOf('app', mirrorConfig({ checks: TCP_STOPSTART }), PAIR), { app_fail: ['app@node1'] });
    expect(after(p, 'node1')).toBe('SECOND/Ready');
    expect(after(p, 'node2')).toBe('PRIM/Ready');
    const r = p.modules[0]!.rules[0]!;
    expect(r).toMatchObject({ resource: 'tcp.http', rule: 'http_down', action: 'stopstart' });
    expect(r.explains).toContain('SECOND becomes PRIM');
    // tcp every 2 s, fall 2: down at the second failed probe after the fault.
    expect(r.down_at_ms).toBeGreaterThan(0);
    expect(r.down_at_ms).toBeLessThanOrEqual(4_000);
    expect(p.modules[0]!.vip_after).toEqual(['node2']);
    expect(kinds(p)).toEqual([]);
  });

  it('failover off: the rules stop the PRIM and nobody takes over', () => {
    const p = ask(snapshotOf('app', mirrorConfig({ checks: TCP_STOPSTART, failover: 'off' }), PAIR), { app_fail: ['app@node1'] });
    expect(after(p, 'node1')).toBe('STOP/NotReady');
    expect(after(p, 'node2')).toBe('WAIT/NotReady');
    expect(kinds(p)).toEqual(expect.arrayContaining(['failover-off', 'not-served', 'maxloop', 'stays-stopped']));
    expect(p.modules[0]!.warnings.find((w) => w.kind === 'failover-off')?.message).toContain('failover is off on this module: it stays STOP');
  });

  it('no SECOND in sync when the rules stop the PRIM: nobody takes over, forcing would lose data', () => {
    const second = ann('app', 'mirror', 'SECOND', 'Transient');
    const c = snapshotOf('app', mirrorConfig({ checks: `<errd polltimer="2s"><proc name="appd" atleast="1" action="stop" class="prim"/></errd>` }), { node1: PAIR.node1, node2: second });
    const p = ask(c, { app_fail: ['app@node1'], sync_ms: 120_000 });
    expect(after(p, 'node1')).toBe('STOP/NotReady');
    expect(after(p, 'node2')).toMatch(/^WAIT\//);
    expect(p.modules[0]!.warnings.find((w) => w.kind === 'no-up-to-date-second')?.message).toContain('no SECOND in sync');
  });

  it('no checker watches the application: hakit would not notice', () => {
    const p = ask(snapshotOf('app', mirrorConfig({ checks: '' }), PAIR), { app_fail: ['app@node1'] });
    expect(after(p, 'node1')).toBe('PRIM/Ready');
    expect(kinds(p)).toEqual(['not-watched']);
    expect(p.modules[0]!.rules).toEqual([]);
  });

  it('a prim checker failing on the SECOND does not run there: no rule acts', () => {
    const p = ask(snapshotOf('app', mirrorConfig({ checks: TCP_STOPSTART }), PAIR), { checker_fail: ['app/http@node2'] });
    expect(after(p, 'node2')).toBe('SECOND/Ready');
    expect(kinds(p)).toEqual(['checker-idle']);
    expect(p.modules[0]!.rules[0]).toMatchObject({ node: 'node2', resource: 'tcp.http', down_at_ms: null, taken: [] });
  });

  it('in sequence: the PRIM fails, then 20 s later the application fails on the survivor', () => {
    const p = ask(snapshotOf('app', mirrorConfig({ checks: ERRD }), PAIR), { fail: ['node1'], app_fail: ['app@node2+20000'] });
    expect(p.scenario.faults.map((f) => [f.kind, f.at_ms])).toEqual([
      ['node', 0],
      ['app', 20_000],
    ]);
    expect(after(p, 'node1')).toBe('DOWN');
    expect(after(p, 'node2')).toBe('STOP/NotReady');
    const took = p.timeline.find((t) => t.kind === 'state' && t.text.includes('ALONE/Ready'))!;
    expect(took.at_ms).toBeLessThan(20_000);
    expect(p.modules[0]!.rules[0]!.taken.every((t) => t.at_ms >= 20_000)).toBe(true);
    expect(kinds(p)).toEqual(expect.arrayContaining(['not-served', 'maxloop', 'stays-stopped']));
  });
});

describe('what-if: farm', () => {
  it('the application fails on node2 for good: restart, then stop (maxloop 1); its buckets go to the survivors', () => {
    const p = ask(snapshotOf('web', farmConfig({ checks: FARM_CHECKS }), FARM_UP), { app_fail: ['web@node2'] });
    expect(after(p, 'node2')).toBe('STOP/NotReady');
    expect(after(p, 'node1')).toBe('UP/Ready');
    const m = p.modules[0]!;
    expect(m.rules[0]!.taken.map((t) => t.action)).toEqual(['restart', 'stop']);
    expect(m.farm!.after.every((o) => o === 'node1' || o === 'node3')).toBe(true);
    expect(m.farm!.moves.filter((x) => x.from === 'node2').reduce((a, x) => a + x.count, 0)).toBe(m.farm!.before.filter((o) => o === 'node2').length);
    expect(m.vip_after).toEqual(['node1', 'node3']);
  });

  it('heal=restart: one restart cures it; node2 is back in the farm with its buckets', () => {
    const p = ask(snapshotOf('web', farmConfig({ checks: FARM_CHECKS }), FARM_UP), { app_fail: ['web@node2'], heal: 'restart' });
    expect(after(p, 'node2')).toBe('UP/Ready');
    const m = p.modules[0]!;
    expect(m.rules.find((r) => r.resource === 'errd.webd')!.taken.map((t) => t.action)).toEqual(['restart']);
    expect(m.farm!.moves).toEqual([]);
    // While its scripts ran, its buckets went to the others and came back.
    expect(p.timeline.some((t) => t.kind === 'buckets' && t.text === 'node1 shares the buckets among node1, node3')).toBe(true);
    expect(kinds(p)).toEqual([]);
  });

  it('a checker shown only (action none) fails: no rule acts, and the answer says so', () => {
    const checks = `<errd polltimer="2s"><proc name="webd" atleast="1" action="none" class="both"/></errd>`;
    const p = ask(snapshotOf('web', farmConfig({ checks }), FARM_UP), { app_fail: ['web@node1'] });
    expect(after(p, 'node1')).toBe('UP/Ready');
    expect(kinds(p)).toEqual(['action-none']);
    expect(p.modules[0]!.rules[0]).toMatchObject({ action: 'none', down_at_ms: 100, taken: [] });
  });

  it('a node failing later than an application: the faults come in time order', () => {
    const p = ask(snapshotOf('web', farmConfig({ checks: FARM_CHECKS }), FARM_UP), { fail: ['node3+10000'], app_fail: ['web@node2'] });
    expect(p.scenario.faults.map((f) => f.kind)).toEqual(['app', 'node']);
    expect(p.scenario.fail_nodes).toEqual(['node3']);
    expect(after(p, 'node2')).toBe('STOP/NotReady');
    expect(after(p, 'node3')).toBe('DOWN');
    expect(p.modules[0]!.farm!.after.every((o) => o === 'node1')).toBe(true);
    const cut = p.timeline.find((t) => t.kind === 'fault' && t.node === 'node3')!;
    expect(cut.at_ms).toBe(10_000);
  });

  it('the router checker (action wait) fails on node3: WAIT, out of the farm, named by its ident', () => {
    const p = ask(snapshotOf('web', farmConfig({ checks: FARM_CHECKS }), FARM_UP), { checker_fail: ['web/router@node3'] });
    expect(p.scenario.faults[0]).toMatchObject({ kind: 'checker', resource: 'ping.router' });
    expect(after(p, 'node3')).toBe('WAIT/NotReady');
    const r = p.modules[0]!.rules[0]!;
    expect(r).toMatchObject({ action: 'wait', taken: [{ action: 'hold' }] });
    // ping every 1 s, fall 2, each failure at its 500 ms timeout.
    expect(r.down_at_ms).toBeLessThanOrEqual(2_500);
    expect(kinds(p)).toEqual(['waits']);
    expect(p.modules[0]!.farm!.after.includes('node3')).toBe(false);
  });
});

describe('what-if: questions about applications and checkers', () => {
  const c = snapshotOf('web', farmConfig({ checks: FARM_CHECKS }), FARM_UP);
  const code = (q: Parameters<typeof makeScenario>[1]): string | undefined => {
    try {
      makeScenario(c, q);
      return undefined;
    } catch (e) {
      return (e as { code?: string }).code;
    }
  };
  it('unknown module, checker, malformed faults and heal are coded errors', () => {
    expect(code({ app_fail: ['nope@node1'] })).toBe('HAKIT_E_WHATIF_UNKNOWN_MODULE');
    expect(code({ app_fail: ['web@node9'] })).toBe('HAKIT_E_WHATIF_UNKNOWN_NODE');
    expect(code({ checker_fail: ['web/nope@node1'] })).toBe('HAKIT_E_WHATIF_UNKNOWN_CHECKER');
    expect(code({ checker_fail: ['web@node1'] })).toBe('HAKIT_E_WHATIF_BAD_FAULT');
    expect(code({ app_fail: ['web'] })).toBe('HAKIT_E_WHATIF_BAD_FAULT');
    expect(code({ app_fail: ['web@node1+9999999'] })).toBe('HAKIT_E_WHATIF_BAD_FAULT');
    expect(code({ app_fail: ['web@node1'], heal: 'sometimes' })).toBe('HAKIT_E_WHATIF_BAD_FAULT');
    expect(code({ witness_cut: ['node1'] })).toBe('HAKIT_E_WHATIF_EMPTY');
    expect(code({ checker_fail: ['web/ping.router@node1'], fail: ['node2+5000'] })).toBeUndefined();
  });
  it('the default horizon leaves room for every restart maxloop allows', () => {
    const slow = snapshotOf('web', farmConfig({ checks: `<check><tcp ident="http" when="both" action="restart"><to addr="127.0.0.1" port="80" interval="10s" timeout="5s" fall="3"/></tcp></check>`, maxloop: 3 }), FARM_UP);
    expect(makeScenario(slow, { fail: ['node1'] }).horizon_ms).toBe(60_000);
    expect(makeScenario(slow, { app_fail: ['web@node1'] }).horizon_ms).toBeGreaterThan(5 * 45_000);
  });
});
