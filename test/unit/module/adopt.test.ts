// Adoption after a daemon death (core/module/pure/adopt.ts): what a restarted hakitd does
// with the state its dead predecessor announced last.
import { driver, peer, types } from './helpers';

describe('adoption after a daemon restart', () => {
  it('farm: a settled UP is taken back with no script, VIP first', () => {
    const d = driver('n1', {}, {}, 'farm');
    const fx = d.send({ type: 'Booted', leftover: { state: 'UP', status: 'Ready' } });
    expect(types(fx).filter((t) => t.startsWith('RunScript'))).toEqual([]);
    expect(types(fx)).toContain('SetVip:true');
    expect(`${d.m.state}/${d.m.status}`).toBe('UP/Ready');
    expect(d.m.app).toBe(true);
    expect(d.m.persisted.wasStarted).toBe(true);
  });

  it('farm: a transition cut short is redone cleanly (stop_both, then the normal start)', () => {
    const d = driver('n1', {}, {}, 'farm');
    const fx = d.send({ type: 'Booted', leftover: { state: 'UP', status: 'Transient' } });
    expect(types(fx)).toContain('RunScript:stop_both');
    d.settle();
    const scripts = types(d.effects).filter((t) => t.startsWith('RunScript'));
    expect(scripts).toEqual(['RunScript:stop_both', 'RunScript:prestart', 'RunScript:start_both']);
    expect(`${d.m.state}/${d.m.status}`).toBe('UP/Ready');
  });

  it('farm: the adopted application is stopped by a later stop like any other', () => {
    const d = driver('n1', {}, {}, 'farm');
    d.send({ type: 'Booted', leftover: { state: 'UP', status: 'Ready' } });
    d.send({ type: 'Command', command: { kind: 'stop' } });
    d.settle();
    expect(types(d.effects).filter((t) => t.startsWith('RunScript'))).toEqual(['RunScript:stop_both', 'RunScript:poststop']);
    expect(d.m.state).toBe('STOP');
    expect(d.m.app).toBe(false);
  });

  it('mirror PRIM: the capture died with the daemon, so the application is stopped before the module starts again', () => {
    const d = driver('n1', {}, { epoch: 3, copyComplete: true, lastRole: 'PRIM', wasStarted: true });
    d.send({ type: 'Booted', leftover: { state: 'PRIM', status: 'Ready' } });
    expect(d.m.state).toBe('WAIT');
    d.settle();
    const seq = types(d.effects).filter((t) => t.startsWith('RunScript') || t.startsWith('SetVip'));
    expect(seq.slice(0, 3)).toEqual(['RunScript:stop_prim', 'SetVip:false', 'RunScript:prestart']);
    expect(d.m.app).toBe(false);
  });

  it('mirror PRIM whose SECOND took over meanwhile becomes SECOND, never a second primary', () => {
    const d = driver('n1', {}, { epoch: 3, copyComplete: true, lastRole: 'PRIM', wasStarted: true });
    d.send({ type: 'Booted', leftover: { state: 'PRIM', status: 'Ready' } });
    d.settle();
    d.send({ type: 'PeerView', peers: [peer('n2', { state: 'ALONE', status: 'Ready', serving: true, epoch: 4, copyComplete: true, lastRole: 'ALONE', tookOver: true })] }, 5_000);
    d.settle();
    expect(d.m.state).toBe('SECOND');
    expect(types(d.effects)).not.toContain('RunScript:start_prim');
  });

  it('mirror SECOND: stop_second, then the normal start', () => {
    const d = driver('n1', {}, { epoch: 3, copyComplete: true, lastRole: 'SECOND', wasStarted: true });
    d.send({ type: 'Booted', leftover: { state: 'SECOND', status: 'Ready' } });
    d.settle();
    expect(types(d.effects).filter((t) => t.startsWith('RunScript'))).toEqual(['RunScript:stop_second', 'RunScript:prestart']);
    expect(d.m.state).toBe('WAIT');
  });

  it('no leftover: boot off stays STOP, boot on starts', () => {
    const off = driver('n1', {}, {}, 'farm');
    off.send({ type: 'Booted' });
    expect(off.m.state).toBe('STOP');
    const on = driver('n1', {}, { boot: true }, 'farm');
    on.send({ type: 'Booted' });
    expect(on.m.state).toBe('UP');
  });
});
