// SafeKit users bring their files: a bare <!DOCTYPE safe> is accepted, anything a DOCTYPE
// could declare or fetch is refused with HAKIT_E_CONF_DOCTYPE; a bad module name says which
// character is wrong and where.
import { parseXml } from '../../../core/config/xml/parse-xml';
import { moduleNameMessage, moduleNameProblem } from '../../../core/config/pure/module-name';
import { checkModuleName } from '../../../modules/store/module-store';
import { moduleArg } from '../../../core/control/module-arg';
import { issuesOf, mirrorXml, okConfig } from './fixtures';

function issue(text: string) {
  const r = parseXml(text, 'u.xml');
  return 'issue' in r ? r.issue : null;
}

describe('DOCTYPE', () => {
  test('a bare <!DOCTYPE safe> before <safe> is accepted, with or without an XML declaration', () => {
    expect(issue('<!DOCTYPE safe>\n<safe/>')).toBeNull();
    expect(issue('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE safe>\n<safe/>')).toBeNull();
    expect(issue('<!DOCTYPE  safe >\n<safe/>')).toBeNull();
  });

  test('a whole SafeKit-style userconfig.xml with its DOCTYPE loads like one without', () => {
    const plain = mirrorXml('');
    expect(okConfig(`<!DOCTYPE safe>\n${plain}`).service).toEqual(okConfig(plain).service);
  });

  test('line numbers of later elements stay right after the DOCTYPE line', () => {
    const r = parseXml('<!DOCTYPE safe>\n<safe>\n  <service/>\n</safe>', 'u.xml');
    expect('root' in r && r.root.children[0]?.line).toBe(3);
  });

  test.each([
    ['internal subset with an entity', '<!DOCTYPE safe [<!ENTITY x "y">]>\n<safe>&x;</safe>', /internal subset/],
    ['empty internal subset', '<!DOCTYPE safe []>\n<safe/>', /internal subset/],
    ['external id SYSTEM', '<!DOCTYPE safe SYSTEM "http://example.invalid/x.dtd">\n<safe/>', /external id/],
    ['external id PUBLIC', '<!DOCTYPE safe PUBLIC "-//x//EN" "x.dtd">\n<safe/>', /external id/],
    ['a name other than the root', '<!DOCTYPE cluster>\n<safe/>', /does not name the root element <safe>/],
    ['two DOCTYPEs', '<!DOCTYPE safe>\n<!DOCTYPE safe>\n<safe/>', /more than one DOCTYPE/],
  ])('%s is refused with HAKIT_E_CONF_DOCTYPE at its line', (_what, text, message) => {
    const i = issue(text);
    expect(i?.code).toBe('HAKIT_E_CONF_DOCTYPE');
    expect(i?.message).toMatch(message);
    expect(i?.where).toMatch(/^u\.xml:[12]$/);
  });

  test('the userconfig loader reports the refusal too', () => {
    expect(issuesOf('<!DOCTYPE safe SYSTEM "x.dtd">\n<safe/>').map((i) => i.code)).toEqual(['HAKIT_E_CONF_DOCTYPE']);
  });
});

describe('module names', () => {
  test.each([
    ['app1', null],
    ['A_b_9', null],
    ['x'.repeat(32), null],
    ['', 'the name is empty'],
    ['9lives', 'character 1 ("9") must be a letter'],
    ['_app', 'character 1 ("_") must be a letter'],
    ['my-app', 'character 3 ("-") is not a letter, digit or _'],
    ['web.site', 'character 4 (".") is not a letter, digit or _'],
    ['a b', 'character 2 (U+0020) is not a letter, digit or _'],
    ['caf\u00e9', 'character 4 ("\u00e9") is not a letter, digit or _'],
    ['x'.repeat(33), '33 characters, at most 32'],
  ])('%j: %s', (name, problem) => {
    expect(moduleNameProblem(name)).toBe(problem);
  });

  test('the module store and the CLI say the same, with the code HAKIT_E_MOD_NAME', () => {
    for (const f of [() => checkModuleName('my-app'), () => moduleArg('my-app')]) {
      expect(f).toThrow(expect.objectContaining({ code: 'HAKIT_E_MOD_NAME', message: expect.stringContaining('character 3 ("-")') }));
    }
    expect(moduleNameMessage('my-app')).toBe('"my-app" is not a module name: character 3 ("-") is not a letter, digit or _ (a letter, then letters, digits or _; at most 32)');
  });
});
