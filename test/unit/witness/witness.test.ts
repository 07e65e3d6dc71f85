import { initWitness, witnessStep, type WitnessInput, type WitnessState } from '../../../core/witness/pure/witness';

const req = (node: string, epoch: number, extra: Partial<Extract<WitnessInput, { type: 'Request' }>> = {}): WitnessInput => ({
  type: 'Request',
  module: 'app',
  node,
  request_id: 1,
  epoch,
  force: false,
  bump: false,
  ...extra,
});

function ask(s: WitnessState, input: WitnessInput, now: number) {
  return witnessStep(s, input, now);
}

describe('witness', () => {
  it('a release covers the requests up to its id: a later request that overtook it keeps its lease', () => {
    let s = initWitness(6000);
    s = ask(s, req('n1', 0, { request_id: 4 }), 0).state;
    // Request 5 (sent after the release of requests up to 4) arrives first and renews...
    s = ask(s, req('n1', 0, { request_id: 5 }), 100).state;
    // ...then the release arrives: it does not take back request 5's grant.
    s = ask(s, { type: 'Release', module: 'app', node: 'n1', up_to_request_id: 4 }, 110).state;
    expect(s.modules['app']?.lease?.holder).toBe('n1');
    expect(ask(s, req('n2', 0), 120).reply?.reason).toBe('held-by-other');
    // A release that covers it (or names no request) frees it.
    expect(ask(s, { type: 'Release', module: 'app', node: 'n1', up_to_request_id: 5 }, 130).state.modules['app']?.lease).toBeNull();
    expect(ask(s, { type: 'Release', module: 'app', node: 'n1' }, 130).state.modules['app']?.lease).toBeNull();
  });

  it('grants one lease at a time; the holder renews; another node gets it after expiry', () => {
    let s = initWitness(6000);
    let r = ask(s, req('n1', 0, { bump: true }), 0);
    expect(r.reply).toEqual(expect.objectContaining({ granted: true, epoch: 1 }));
    s = r.state;
    expect(ask(s, req('n2', 1), 1000).reply?.reason).toBe('held-by-other');
    r = ask(s, req('n1', 1), 3000);
    expect(r.reply?.granted).toBe(true);
    s = r.state;
    expect(ask(s, req('n2', 1), 8999).reply?.granted).toBe(false);
    expect(ask(s, req('n2', 1), 9000).reply?.granted).toBe(true);
  });

  it('refuses a copy older than the newest confirmed epoch unless forced', () => {
    let s = initWitness(6000);
    s = ask(s, req('n1', 0, { bump: true }), 0).state; // epoch 1 assigned
    s = ask(s, req('n1', 1), 100).state; // confirmed by a renewal
    expect(ask(s, req('n2', 0), 10_000).reply?.reason).toBe('stale-epoch');
    expect(ask(s, req('n2', 0, { force: true }), 10_000).reply?.granted).toBe(true);
  });

  it('an epoch assigned but never confirmed blocks nobody, and epochs never repeat', () => {
    let s = initWitness(6000);
    const a = ask(s, req('n1', 3, { bump: true }), 0);
    expect(a.reply?.epoch).toBe(4);
    s = a.state; // n1 crashed before confirming epoch 4
    const b = ask(s, req('n2', 3, { bump: true }), 7000);
    expect(b.reply).toEqual(expect.objectContaining({ granted: true, epoch: 5 }));
  });

  it('release frees the lease at once, only for its holder', () => {
    let s = initWitness(6000);
    s = ask(s, req('n1', 0), 0).state;
    expect(ask(s, { type: 'Release', module: 'app', node: 'n2' }, 1).state).toBe(s);
    s = ask(s, { type: 'Release', module: 'app', node: 'n1' }, 1).state;
    expect(ask(s, req('n2', 0), 2).reply?.granted).toBe(true);
  });
});
