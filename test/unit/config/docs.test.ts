// The reference docs are generated from the schema tables and the error catalogue; this
// fails when a checked-in doc is stale. Fix: `npm run build && node dist/core/config/docgen.js`.
import fs from 'node:fs';
import path from 'node:path';
import { generatedDocs } from '../../../core/config/docgen';

const root = path.resolve(__dirname, '../../..');

test.each(Object.entries(generatedDocs()))('%s is up to date (regenerate: node dist/core/config/docgen.js)', (rel, text) => {
  expect(fs.readFileSync(path.join(root, rel), 'utf8')).toBe(text);
});

test('every element and attribute of the schema is documented', () => {
  const doc = generatedDocs()['docs/userconfig.md'] ?? '';
  for (const name of ['virtual_addr', 'notreplicated', 'splitbrain', 'loadbalancing_list', 'sync_secondary', 'arpreroute', 'atleast']) {
    expect(doc).toContain(name);
  }
});
