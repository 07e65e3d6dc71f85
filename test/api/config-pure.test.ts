// Pure pieces of the Configuration routes and view: a loader's "where" split into file and
// line, the editor's lines with problems, line ranges, base64 both ways, names from files.
import { issueInfo } from '../../core/api/pure/config-issues';
import { base64ToBytes, bytesToBase64, issuesByLine, lineCount, lineRange, moduleNameFromFile, whereOf } from '../../webconsole/pure/config-editor';

describe('issueInfo', () => {
  test.each([
    [{ code: 'HAKIT_E_CONF_XML', where: 'app/conf/userconfig.xml:12', message: 'Unexpected close tag' }, { code: 'HAKIT_E_CONF_XML', file: 'conf/userconfig.xml', line: 12, message: 'Unexpected close tag' }],
    [{ code: 'HAKIT_E_CONF_BAD_ADDR', where: 'app/conf/userconfig.xml:14 <virtual_addr addr="1.2.3">', message: 'not an address' }, { code: 'HAKIT_E_CONF_BAD_ADDR', file: 'conf/userconfig.xml', line: 14, message: '<virtual_addr addr="1.2.3">: not an address' }],
    [{ code: 'HAKIT_E_MOD_SCRIPT_MISSING', where: 'app/bin/start_prim', message: 'missing' }, { code: 'HAKIT_E_MOD_SCRIPT_MISSING', file: 'bin/start_prim', line: null, message: 'missing' }],
    [{ code: 'HAKIT_E_MOD_NO_USERCONFIG', where: 'app', message: 'conf/userconfig.xml is missing' }, { code: 'HAKIT_E_MOD_NO_USERCONFIG', file: '', line: null, message: 'conf/userconfig.xml is missing' }],
    [{ code: 'HAKIT_E_SAFE_DOTDOT', where: 'upload.safe', message: 'entry has ..' }, { code: 'HAKIT_E_SAFE_DOTDOT', file: '', line: null, message: 'entry has ..' }],
    [{ code: 'HAKIT_E_CONF_DOCTYPE', where: '', message: 'refused' }, { code: 'HAKIT_E_CONF_DOCTYPE', file: '', line: null, message: 'refused' }],
  ])('%j', (raw, want) => {
    expect(issueInfo(raw, 'app', 'upload.safe')).toEqual(want);
  });
});

describe('editor helpers', () => {
  const text = 'a\nbb\n\nccc';
  test('lines and ranges', () => {
    expect(lineCount(text)).toBe(4);
    expect(lineCount('')).toBe(1);
    expect([1, 2, 3, 4, 9].map((l) => lineRange(text, l))).toEqual([
      { start: 0, end: 1 },
      { start: 2, end: 4 },
      { start: 5, end: 5 },
      { start: 6, end: 9 },
      { start: 9, end: 9 },
    ]);
  });

  test('problems by line: only the edited file, only with a line', () => {
    const m = issuesByLine([
      { code: 'A', file: 'conf/userconfig.xml', line: 3, message: '' },
      { code: 'B', file: 'conf/userconfig.xml', line: 3, message: '' },
      { code: 'C', file: 'bin/x', line: 3, message: '' },
      { code: 'D', file: 'conf/userconfig.xml', line: null, message: '' },
    ]);
    expect([...m.entries()].map(([l, is]) => [l, is.map((i) => i.code)])).toEqual([[3, ['A', 'B']]]);
    expect(whereOf({ code: 'X', file: '', line: null, message: '' })).toBe('the package');
    expect(whereOf({ code: 'X', file: 'conf/userconfig.xml', line: 7, message: '' })).toBe('conf/userconfig.xml line 7');
  });

  test('base64 both ways, also past one chunk', () => {
    const bytes = new Uint8Array(100_000).map((_, i) => (i * 7) % 256);
    const b64 = bytesToBase64(bytes);
    expect(b64).toBe(Buffer.from(bytes).toString('base64'));
    expect(Buffer.from(base64ToBytes(b64)).equals(Buffer.from(bytes))).toBe(true);
  });

  test('module name from a file name', () => {
    expect(moduleNameFromFile('mirror_app.safe')).toBe('mirror_app');
    expect(moduleNameFromFile('mirror_app (2).SAFE')).toBe('mirror_app');
  });
});
