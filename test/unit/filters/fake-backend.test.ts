import { isHakitError } from '../../../core/errors/catalogue';
import { FakeFilterBackend } from '../../../filters/nft';
import { validateFarmFilter, type ValidFarmFilter } from '../../../filters/pure';

function filter(iface = 'eth0'): ValidFarmFilter {
  const r = validateFarmFilter({ module: 'web', interface: iface, groups: [{ vips: ['198.18.70.100'], rules: [{ proto: 'tcp', ports: [80], balance: 'on_port' }] }] });
  if (!r.ok) throw new Error('bad test config');
  return r.filter;
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isHakitError(e) ? e.code : 'not coded';
  }
}

describe('FakeFilterBackend keeps the FilterBackend contract', () => {
  test('load, update, read, remove', async () => {
    const b = new FakeFilterBackend();
    expect(await b.readOwned(filter())).toBeUndefined();
    expect((await b.load(filter(), [3, 1])).owned).toEqual([1, 3]);
    expect((await b.setOwned(filter(), [2])).owned).toEqual([2]);
    expect(await b.readOwned(filter())).toEqual([2]);
    await b.remove('web');
    await b.remove('web');
    expect(await b.readOwned(filter())).toBeUndefined();
  });

  test('a failed call leaves the previous state', async () => {
    const b = new FakeFilterBackend();
    await b.load(filter(), [1]);
    b.failNext();
    expect(await code(b.setOwned(filter(), [2]))).toBe('HAKIT_E_FILTER_NFT_FAILED');
    expect(await b.readOwned(filter())).toEqual([1]);
    expect(await code(b.setOwned(filter(), [300]))).toBe('HAKIT_E_FILTER_BUCKET');
    expect(await b.readOwned(filter())).toEqual([1]);
  });

  test('update before load and a missing interface are coded errors', async () => {
    const b = new FakeFilterBackend();
    expect(await code(b.setOwned(filter(), [1]))).toBe('HAKIT_E_FILTER_NOT_LOADED');
    expect(await code(b.load(filter('eth9'), [1]))).toBe('HAKIT_E_FILTER_NO_INTERFACE');
    expect(b.tables.size).toBe(0);
  });
});
