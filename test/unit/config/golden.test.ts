// One golden test per error code of core/config and modules/: the exact first line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONFIG_CODES } from '../../../core/errors/codes/config';
import { MODULE_CODES } from '../../../core/errors/codes/module';
import { CASES } from './golden-cases';
import { GOLDEN } from './golden-expected';

let tmp = '';
const saved = { conf: process.env['HAKIT_CONF_DIR'], state: process.env['HAKIT_STATE_DIR'] };
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-cfg-golden-'));
  process.env['HAKIT_CONF_DIR'] = path.join(tmp, 'etc');
  process.env['HAKIT_STATE_DIR'] = path.join(tmp, 'state');
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});
afterAll(() => {
  for (const [k, v] of [['HAKIT_CONF_DIR', saved.conf], ['HAKIT_STATE_DIR', saved.state]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const codes = [...Object.keys(CONFIG_CODES), ...Object.keys(MODULE_CODES)];

test('every code of config and module has a golden case', () => {
  expect(Object.keys(CASES).sort()).toEqual([...codes].sort());
});

test.each(codes)('%s', async (code) => {
  const run = CASES[code];
  if (!run) throw new Error(`no case for ${code}`);
  const line = (await run(tmp)).split(tmp).join('<tmp>');
  if (process.env['HAKIT_GOLDEN_PRINT']) process.stdout.write(`  ${code}: ${JSON.stringify(line)},\n`);
  expect(line).toBe(GOLDEN[code]);
});
