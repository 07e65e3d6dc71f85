import path from 'node:path';
import { loadUserConfig } from '../../../core/config/load';
import { crossCheckCluster } from '../../../core/config/pure/cross-check';
import { cluster } from './fixtures';

const root = path.resolve(__dirname, '../../../modules');

test.each(['examples/mirror_http', 'examples/farm_http'])('%s validates against the lab cluster', (dir) => {
  const r = loadUserConfig(path.join(root, dir, 'conf/userconfig.xml'));
  if (!r.ok) throw new Error(JSON.stringify(r.errors, null, 1));
  expect(crossCheckCluster(r.value, cluster(), 'userconfig.xml')).toEqual([]);
  expect(Object.isFrozen(r.value.service)).toBe(true);
});
