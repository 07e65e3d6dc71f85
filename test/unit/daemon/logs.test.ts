import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HakitLogs, moduleLogPath } from '../../../core/log/logs';
import { parseLogLevel } from '../../../core/log/levels';

let dir = '';
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hd-logs-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const readJson = (f: string): Array<Record<string, unknown>> =>
  fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

it('writes a daemon log and one JSON log per module, and changes level at runtime', () => {
  const logs = new HakitLogs({ dir, level: 'info', node: 'n1' });
  logs.daemon.info({ x: 1 }, 'daemon up');
  logs.module('web').debug('hidden');
  logs.module('web').info({ script: 'start_prim' }, 'line');
  logs.setLevel('debug');
  logs.module('web').debug('now visible');
  logs.close();
  const d = readJson(path.join(dir, 'hakitd.log'));
  expect(d[0]).toMatchObject({ msg: 'daemon up', node: 'n1', x: 1, level: 30 });
  const m = readJson(moduleLogPath(dir, 'web'));
  expect(m.map((l) => l['msg'])).toEqual(['line', 'now visible']);
  expect(m[0]).toMatchObject({ module: 'web', node: 'n1' });
});

it('refuses a bad level or module name with a coded error', () => {
  expect(() => parseLogLevel('loud')).toThrow(expect.objectContaining({ code: 'HAKIT_E_BAD_LOG_LEVEL' }));
  expect(parseLogLevel('DEBUG')).toBe('debug');
  expect(() => moduleLogPath(dir, '../etc')).toThrow(expect.objectContaining({ code: 'HAKIT_E_USAGE' }));
});
