// Wire version negotiation, the pure decision (core/membership/wire/pure/negotiate.ts).
import { commonVersion, incompatiblePeers, initNegotiation, isWireRange, peerRangeHeard, sendVersion, type NegotiationState, type WireRange } from '../../../core/membership/wire/pure/negotiate';

const r = (min: number, max: number): WireRange => ({ min, max });

describe('commonVersion', () => {
  it.each([
    [r(2, 3), r(2, 3), 3],
    [r(2, 3), r(2, 2), 2],
    [r(2, 2), r(2, 3), 2],
    [r(3, 5), r(1, 4), 4],
    [r(3, 3), r(2, 2), null],
    [r(2, 2), r(3, 4), null],
  ])('%j with %j -> %p', (own, peer, v) => {
    expect(commonVersion(own, peer)).toBe(v);
  });

  it('is symmetric: both ends pick the same version', () => {
    for (let a = 1; a <= 5; a++)
      for (let b = a; b <= 5; b++)
        for (let c = 1; c <= 5; c++)
          for (let d = c; d <= 5; d++) expect(commonVersion(r(a, b), r(c, d))).toBe(commonVersion(r(c, d), r(a, b)));
  });

  it('knows a well-formed range', () => {
    expect(isWireRange(r(2, 3))).toBe(true);
    expect(isWireRange(r(3, 2))).toBe(false);
    expect(isWireRange(r(0, 2))).toBe(false);
    expect(isWireRange(r(2, 256))).toBe(false);
    expect(isWireRange(r(2.5, 3))).toBe(false);
  });
});

describe('peer negotiation', () => {
  const own = r(2, 3);

  it('sends our highest version to a peer not heard yet, then the highest common one', () => {
    let s: NegotiationState = initNegotiation(own);
    expect(sendVersion(s, 'node2')).toBe(3);
    const step = peerRangeHeard(s, 'node2', 10, r(2, 2));
    s = step.state;
    expect(sendVersion(s, 'node2')).toBe(2);
    expect(step.effects).toEqual([expect.objectContaining({ type: 'Log', level: 'info', node: 'node2' })]);
  });

  it('reports a peer with no common version once per range it announces, with a code, and keeps sending our highest', () => {
    let s = initNegotiation(r(3, 3));
    const first = peerRangeHeard(s, 'node2', 10, r(2, 2));
    s = first.state;
    expect(first.effects).toEqual([expect.objectContaining({ level: 'error', code: 'HAKIT_E_WIRE_INCOMPATIBLE', node: 'node2' })]);
    expect(first.effects[0]?.msg).toContain('version 2, this node 3');
    for (let i = 0; i < 100; i++) {
      const again = peerRangeHeard(s, 'node2', 10, r(2, 2));
      expect(again.effects).toEqual([]);
      s = again.state;
    }
    expect(sendVersion(s, 'node2')).toBe(3);
    expect(incompatiblePeers(s)).toEqual({ node2: r(2, 2) });
    // The peer restarts with the same version: nothing new to say.
    expect(peerRangeHeard(s, 'node2', 11, r(2, 2)).effects).toEqual([]);
  });

  it('recovers when the peer is upgraded, and says so', () => {
    let s = peerRangeHeard(initNegotiation(r(3, 3)), 'node2', 10, r(2, 2)).state;
    const up = peerRangeHeard(s, 'node2', 11, r(2, 3));
    s = up.state;
    expect(sendVersion(s, 'node2')).toBe(3);
    expect(incompatiblePeers(s)).toEqual({});
    expect(up.effects).toEqual([expect.objectContaining({ level: 'info', msg: expect.stringContaining('it was incompatible') })]);
  });

  it('ignores a range from an older life of the peer (a replay, or its version before an upgrade)', () => {
    const s = peerRangeHeard(initNegotiation(own), 'node2', 11, r(3, 3)).state;
    const old = peerRangeHeard(s, 'node2', 10, r(2, 2));
    expect(old.state).toBe(s);
    expect(old.effects).toEqual([]);
    expect(sendVersion(old.state, 'node2')).toBe(3);
  });

  it('keeps peers apart', () => {
    let s = initNegotiation(own);
    s = peerRangeHeard(s, 'node2', 1, r(2, 2)).state;
    s = peerRangeHeard(s, 'node3', 1, r(3, 4)).state;
    expect([sendVersion(s, 'node2'), sendVersion(s, 'node3'), sendVersion(s, 'node4')]).toEqual([2, 3, 3]);
  });
});
