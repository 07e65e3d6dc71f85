// Several arbitrators with a majority rule (core/witness/pure/quorum.ts, docs/geo.md): the
// pure tally and the fan-out client over fake arbitrators.
import { addAnswer, decide, majorityOf, newTally } from '../../../core/witness/pure/quorum';
import { QuorumWitnessClient } from '../../../core/witness/quorum-client';
import type { WitnessAsk, WitnessGrant, WitnessPort } from '../../../core/module/runner/ports';

const G = (lease_ms: number, epoch: number) => ({ granted: true, lease_ms, epoch });
const R = (epoch: number) => ({ granted: false, lease_ms: 0, epoch });

describe('majority tally', () => {
  it('majorities', () => {
    expect([1, 2, 3, 4, 5, 7].map(majorityOf)).toEqual([1, 2, 2, 3, 3, 4]);
  });

  it('granted by a majority: shortest lease, highest epoch', () => {
    let t = newTally(3, 4);
    t = addAnswer(t, 0, G(5000, 5));
    expect(decide(t)).toBeNull();
    t = addAnswer(t, 2, G(4000, 6));
    expect(decide(t)).toEqual({ kind: 'granted', grant: { granted: true, lease_ms: 4000, epoch: 6 } });
  });

  it('a duplicated answer counts once', () => {
    let t = newTally(3, 1);
    t = addAnswer(t, 1, G(5000, 1));
    t = addAnswer(t, 1, G(5000, 1));
    expect(decide(t)).toBeNull();
  });

  it('refused once no majority can grant; unanswered when nobody refused', () => {
    let t = newTally(3, 1);
    t = addAnswer(t, 0, R(7));
    expect(decide(t)).toBeNull();
    t = addAnswer(t, 1, 'failed');
    expect(decide(t)).toEqual({ kind: 'refused', grant: { granted: false, lease_ms: 0, epoch: 7 } });
    let u = newTally(3, 1);
    u = addAnswer(addAnswer(u, 0, 'failed'), 2, 'failed');
    expect(decide(u)).toEqual({ kind: 'unanswered' });
  });

  it('one grant and one refusal of three: still open', () => {
    expect(decide(addAnswer(addAnswer(newTally(3, 1), 0, G(5000, 1)), 1, R(1)))).toBeNull();
  });
});

class FakeArbitrator implements WitnessPort {
  releases: Array<number | undefined> = [];
  constructor(private readonly answer: WitnessGrant | 'timeout' | 'never') {}
  request(_m: string, _a: WitnessAsk): Promise<WitnessGrant> {
    if (this.answer === 'never') return new Promise(() => undefined);
    if (this.answer === 'timeout') return Promise.reject(new Error('timeout'));
    return Promise.resolve(this.answer);
  }
  release(_m: string, up_to?: number): void {
    this.releases.push(up_to);
  }
}

describe('QuorumWitnessClient', () => {
  const ask = { request_id: 3, epoch: 2, force: false, bump: false, lease_ms: 5000 };

  it('answers as soon as a majority granted, even with one arbitrator silent', async () => {
    const c = new QuorumWitnessClient([new FakeArbitrator(G(5000, 2)), new FakeArbitrator('never'), new FakeArbitrator(G(4800, 2))]);
    await expect(c.request('m', ask)).resolves.toEqual({ granted: true, lease_ms: 4800, epoch: 2 });
  });

  it('refuses when a majority cannot grant', async () => {
    const c = new QuorumWitnessClient([new FakeArbitrator(R(3)), new FakeArbitrator('timeout'), new FakeArbitrator(G(5000, 2))]);
    await expect(c.request('m', ask)).resolves.toEqual({ granted: false, lease_ms: 0, epoch: 3 });
  });

  it('rejects (unanswered) when a majority did not answer', async () => {
    const c = new QuorumWitnessClient([new FakeArbitrator('timeout'), new FakeArbitrator('timeout'), new FakeArbitrator(G(5000, 2))]);
    await expect(c.request('m', ask)).rejects.toMatchObject({ code: 'HAKIT_E_CONTROL_TIMEOUT' });
  });

  it('releases at every arbitrator', () => {
    const arbs = [new FakeArbitrator('never'), new FakeArbitrator('never'), new FakeArbitrator('never')];
    new QuorumWitnessClient(arbs).release('m', 9);
    expect(arbs.map((a) => a.releases)).toEqual([[9], [9], [9]]);
  });
});
