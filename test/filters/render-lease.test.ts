// The farm filter with a bucket lease (filters/pure/render.ts): the owned set has the timeout
// flag and each element its timeout, in the load and in every update (the renewal).
import { renderFilterScript, renderOwnedUpdate } from '../../filters/pure/render';
import { validateFarmFilter } from '../../filters/pure/validate';

const config = { module: 'web', interface: 'eth0', groups: [{ vips: ['198.18.0.151'], rules: [{ proto: 'tcp' as const, ports: [80], balance: 'on_addr' as const }] }] };

test('a lease gives the set the timeout flag and every element its timeout', () => {
  const v = validateFarmFilter({ ...config, lease_ms: 1750 });
  if (!v.ok) throw new Error('bad');
  expect(v.filter.lease_ms).toBe(1750);
  expect(renderFilterScript(v.filter, [3, 1])).toContain('set owned { typeof numgen inc mod 256; flags timeout; elements = { 1 timeout 1750ms, 3 timeout 1750ms }; }');
  expect(renderOwnedUpdate(v.filter, [2])).toBe('flush set ip hakit_web owned\nadd element ip hakit_web owned { 2 timeout 1750ms }\n');
});

test('without a lease nothing changes; a bad lease is a coded error', () => {
  const v = validateFarmFilter(config);
  if (!v.ok) throw new Error('bad');
  expect(v.filter.lease_ms).toBeNull();
  expect(renderOwnedUpdate(v.filter, [2])).toBe('flush set ip hakit_web owned\nadd element ip hakit_web owned { 2 }\n');
  const bad = validateFarmFilter({ ...config, lease_ms: 10 });
  expect(bad.ok).toBe(false);
  if (!bad.ok) expect(bad.errors.map((e) => e.code)).toEqual(['HAKIT_E_FILTER_RULE']);
});
