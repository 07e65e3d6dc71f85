import fs from 'node:fs';
import path from 'node:path';
import { DOC_PATH, renderStateMachineDoc } from '../../../core/module/docgen';
import { MIRROR_TABLE } from '../../../core/module/pure/table';

describe('docs/state-machine.md', () => {
  it('is generated from the table and up to date (regenerate: npm run build && node dist/core/module/docgen.js)', () => {
    const file = path.join(__dirname, '..', '..', '..', DOC_PATH);
    expect(fs.readFileSync(file, 'utf8')).toBe(renderStateMachineDoc());
  });

  it('shows every edge of the table', () => {
    const doc = renderStateMachineDoc();
    for (const r of MIRROR_TABLE) expect(doc).toContain(`${r.from} --> ${r.to}:`);
  });
});
