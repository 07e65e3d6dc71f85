// Adoption of a mirror PRIM whose capture mount outlived the daemon
// (core/module/pure/adopt.ts, docs/adr/0009-fuse-mount-survives-daemon.md).
import { keepsCapture } from '../../../core/module/pure/adopt';
import { driver, peer, types } from './helpers';

const PRIM_PERSISTED = { epoch: 3, copyComplete: true, lastRole: 'PRIM', wasStarted: true } as const;

describe('adoption with the capture mount kept', () => {
  it('keeps only a settled serving state whose every mount came back', () => {
    expect(keepsCapture({ state: 'PRIM', status: 'Ready', capture_kept: true })).toBe(true);
    expect(keepsCapture({ state: 'ALONE', status: 'Ready', capture_kept: true })).toBe(true);
    expect(keepsCapture({ state: 'ALONE', status: 'NotReady', capture_kept: true })).toBe(true);
    expect(keepsCapture({ state: 'PRIM', status: 'Transient', capture_kept: true })).toBe(false);
    expect(keepsCapture({ state: 'PRIM', status: 'Ready', capture_kept: false })).toBe(false);
    expect(keepsCapture({ state: 'PRIM', status: 'Ready' })).toBe(false);
    expect(keepsCapture({ state: 'SECOND', status: 'Ready', capture_kept: true })).toBe(false);
  });

  it('mirror PRIM: stays PRIM (the SECOND still there) with no script, VIP put back, PRIM engine started at once', () => {
    const d = driver('n1', {}, PRIM_PERSISTED);
    const fx = d.send({ type: 'Booted', leftover: { state: 'PRIM', status: 'Ready', capture_kept: true } });
    // Until the peer's view arrives, the machine counts it missing: ALONE.
    expect(['PRIM', 'ALONE']).toContain(d.m.state);
    d.send({ type: 'PeerView', peers: [peer('n2', { state: 'SECOND', status: 'Ready', serving: false, epoch: 3, copyComplete: true, lastRole: 'SECOND' })] }, 1_000);
    d.settle();
    expect(d.m.state).toBe('PRIM');
    expect(d.m.app).toBe(true);
    expect(types(d.effects).filter((t) => t.startsWith('RunScript'))).toEqual([]);
    expect(types(fx)).toContain('SetVip:true');
    expect(fx.some((e) => e.type === 'StartReplication' && e.role === 'sender')).toBe(true);
  });

  it('mirror PRIM whose peer is not heard yet serves ALONE; ALONE stays ALONE, and becomes PRIM when the peer is SECOND again', () => {
    const d = driver('n1', {}, { ...PRIM_PERSISTED, lastRole: 'ALONE' });
    d.send({ type: 'Booted', leftover: { state: 'ALONE', status: 'Ready', capture_kept: true } });
    d.settle();
    expect(d.m.state).toBe('ALONE');
    d.send({ type: 'PeerView', peers: [peer('n2', { state: 'SECOND', status: 'Ready', serving: false, epoch: 3, copyComplete: true, lastRole: 'SECOND' })] }, 1_000);
    d.settle();
    expect(d.m.state).toBe('PRIM');
    expect(types(d.effects).filter((t) => t.startsWith('RunScript'))).toEqual([]);
  });

  it('a start_prim cut short is not kept: stop_prim, then the normal start (as without a kept mount)', () => {
    const d = driver('n1', {}, PRIM_PERSISTED);
    d.send({ type: 'Booted', leftover: { state: 'PRIM', status: 'Transient', capture_kept: true } });
    expect(d.m.state).toBe('WAIT');
    d.settle();
    expect(types(d.effects).filter((t) => t.startsWith('RunScript')).slice(0, 2)).toEqual(['RunScript:stop_prim', 'RunScript:prestart']);
  });

  it('with a witness the adopted node holds no lease: it stops the application as without a kept mount (never serves unleased)', () => {
    const d = driver('n1', { hasWitness: true }, PRIM_PERSISTED);
    d.send({ type: 'Booted', leftover: { state: 'PRIM', status: 'Ready', capture_kept: true } });
    d.settle();
    const seq = types(d.effects).filter((t) => t.startsWith('RunScript') || t.startsWith('SetVip'));
    expect(seq).toContain('RunScript:stop_prim');
    expect(seq).not.toContain('SetVip:true');
    expect(d.m.app).toBe(false);
  });

  it('the adopted application is stopped by a later stop like any other', () => {
    const d = driver('n1', {}, PRIM_PERSISTED);
    d.send({ type: 'Booted', leftover: { state: 'PRIM', status: 'Ready', capture_kept: true } });
    d.settle();
    d.send({ type: 'Command', command: { kind: 'stop' } });
    d.settle();
    expect(types(d.effects).filter((t) => t.startsWith('RunScript'))).toEqual(['RunScript:stop_prim', 'RunScript:poststop']);
    expect(d.m.state).toBe('STOP');
  });
});
