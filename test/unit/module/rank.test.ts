import { pickPrimary, splitBrainLoser, type Candidate } from '../../../core/module/pure/rank';

const c = (node: string, epoch: number, copyComplete: boolean, lastRole: Candidate['lastRole'], tookOver = false): Candidate => ({ node, epoch, copyComplete, lastRole, tookOver });

describe('choosing the primary', () => {
  it('nobody on first start', () => {
    expect(pickPrimary(c('n1', 0, false, 'none'), c('n2', 0, false, 'none'), null)).toBeNull();
  });
  it('the only node that knows its copy complete', () => {
    expect(pickPrimary(c('n1', 9, false, 'SECOND'), c('n2', 3, true, 'ALONE'), null)).toBe('n2');
  });
  it('the newer epoch, then the one that did not take over, then the stronger role, then defaultprim, then the name', () => {
    expect(pickPrimary(c('n1', 4, true, 'ALONE'), c('n2', 5, true, 'SECOND'), null)).toBe('n2');
    expect(pickPrimary(c('n1', 5, true, 'ALONE'), c('n2', 5, true, 'ALONE', true), null)).toBe('n1');
    expect(pickPrimary(c('n1', 5, true, 'SECOND'), c('n2', 5, true, 'PRIM'), null)).toBe('n2');
    expect(pickPrimary(c('n1', 5, true, 'PRIM'), c('n2', 5, true, 'PRIM'), 'n2')).toBe('n2');
    expect(pickPrimary(c('n2', 5, true, 'PRIM'), c('n1', 5, true, 'PRIM'), null)).toBe('n1');
  });
  it('is symmetric: both nodes compute the same answer', () => {
    const a = c('n1', 5, true, 'PRIM');
    const b = c('n2', 5, true, 'SECOND');
    expect(pickPrimary(a, b, null)).toBe(pickPrimary(b, a, null));
  });
  it('after a split brain the former SECOND yields', () => {
    expect(splitBrainLoser(c('n1', 7, true, 'ALONE'), c('n2', 7, true, 'ALONE', true), null)).toBe('n2');
    expect(splitBrainLoser(c('n2', 7, true, 'ALONE', true), c('n1', 7, true, 'ALONE'), null)).toBe('n2');
  });
});
