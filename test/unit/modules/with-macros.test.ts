// `hakit module install DIR --macro N=V` (review findings): a directory without
// conf/userconfig.xml or holding a FIFO gets a coded error, never HAKIT_E_INTERNAL and a stack;
// a macro in an XML comment is not the macro; attributes in any order and quoting are found;
// a macro defined twice is refused.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../../core/cli/main';
import { isHakitError } from '../../../core/errors/catalogue';
import { parseUserConfigText } from '../../../core/config/load';
import { prepareSafe, setMacros } from '../../../modules/safe/with-macros';
import { unpackSafe } from '../../../modules/safe/unpack';

const examples = path.resolve(__dirname, '../../../modules/examples');
let tmp = '';
let err = '';

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hakit-macros-'));
  err = '';
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  jest.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  process.exitCode = undefined;
});
afterEach(() => {
  jest.restoreAllMocks();
  process.exitCode = undefined;
  fs.rmSync(tmp, { recursive: true, force: true });
});

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    return isHakitError(e) ? e.code : `not coded: ${String(e)}`;
  }
  return 'no error';
};
const codeOfSync = (f: () => unknown): Promise<string> => codeOf(Promise.resolve().then(f));

function moduleCopy(example: string): string {
  const dir = path.join(tmp, example);
  fs.cpSync(path.join(examples, example), dir, { recursive: true });
  return dir;
}

describe('install DIR --macro', () => {
  test('a directory without conf/userconfig.xml: HAKIT_E_MOD_NO_USERCONFIG, naming it', async () => {
    const dir = moduleCopy('farm_http');
    fs.rmSync(path.join(dir, 'conf', 'userconfig.xml'));
    expect(await codeOf(prepareSafe(dir, ['VIRTUAL_IP=198.18.0.160']))).toBe('HAKIT_E_MOD_NO_USERCONFIG');
    expect(await main(['module', 'install', dir, '--macro', 'VIRTUAL_IP=198.18.0.160'])).toBe(1);
    expect(err).toContain('HAKIT_E_MOD_NO_USERCONFIG');
    expect(err).toContain(`${dir}/conf/userconfig.xml`);
    expect(err).not.toMatch(/HAKIT_E_INTERNAL|\n\s+at /);
  });

  test('a directory holding a FIFO: HAKIT_E_MOD_LAYOUT (as module validate says), nothing read from it', async () => {
    const dir = moduleCopy('farm_http');
    execFileSync('mkfifo', [path.join(dir, 'bin', 'pipe')]);
    expect(await codeOf(prepareSafe(dir, ['VIRTUAL_IP=198.18.0.160']))).toBe('HAKIT_E_MOD_LAYOUT');
    expect(await codeOf(prepareSafe(dir, []))).toBe('HAKIT_E_MOD_LAYOUT');
    expect(await main(['module', 'install', dir, '--macro', 'VIRTUAL_IP=198.18.0.160'])).toBe(1);
    expect(err).toContain('HAKIT_E_MOD_LAYOUT');
    expect(err).not.toMatch(/HAKIT_E_INTERNAL|\n\s+at /);
  });

  test('a file the copy cannot read (an I/O error): HAKIT_E_MOD_IO naming it', async () => {
    const dir = moduleCopy('farm_http');
    // Injected: root reads a mode-0 file anyway, and a failing disk cannot be made here.
    const copy = jest.spyOn(fs, 'copyFileSync').mockImplementation(() => {
      throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    });
    try {
      const e = await prepareSafe(dir, []).then(() => null, (x: unknown) => x as { code?: string; message?: string });
      expect(e?.code).toBe('HAKIT_E_MOD_IO');
      expect(e?.message).toContain('EIO');
    } finally {
      copy.mockRestore();
    }
  });

  test('the macro is set in the package, the module otherwise unchanged', async () => {
    const dir = moduleCopy('farm_http');
    const p = await prepareSafe(dir, ['VIRTUAL_IP=198.18.0.160']);
    try {
      const out = path.join(tmp, 'out');
      fs.mkdirSync(out);
      await unpackSafe(p.file, out);
      const before = fs.readFileSync(path.join(dir, 'conf', 'userconfig.xml'), 'utf8');
      const after = fs.readFileSync(path.join(out, 'conf', 'userconfig.xml'), 'utf8');
      expect(after).toBe(before.replace(/(<macro name="VIRTUAL_IP" value=")[^"]*"/, '$1198.18.0.160"'));
      expect(fs.statSync(path.join(out, 'bin', 'start_both')).mode & 0o111).not.toBe(0);
    } finally {
      p.dispose();
    }
  });
});

describe('setMacros', () => {
  const doc = (body: string) => `<safe>\n${body}\n<service mode="farm"/>\n</safe>\n`;

  test('a macro inside a comment is not the macro', async () => {
    const xml = doc('<!-- <macro name="IP" value="old"/> -->\n<macro name="IP" value="1.1.1.1"/>');
    expect(setMacros(xml, ['IP=2.2.2.2'])).toBe(doc('<!-- <macro name="IP" value="old"/> -->\n<macro name="IP" value="2.2.2.2"/>'));
    expect(await codeOfSync(() => setMacros(doc('<!-- <macro name="IP" value="x"/> -->'), ['IP=1']))).toBe('HAKIT_E_USAGE');
  });

  test('value before name, single quotes, spread over lines: found and set', () => {
    const xml = doc("<macro value='1.1.1.1'\n   name='IP' />");
    const set = setMacros(xml, ['IP=a "b" & <c>']);
    expect(set).toBe(doc('<macro value="a &quot;b&quot; &amp; &lt;c>"\n   name=\'IP\' />'));
    const r = parseUserConfigText(set);
    expect(r.ok ? r.value.macros : r.errors).toEqual({ IP: 'a "b" & <c>' });
  });

  test('a macro without a value attribute gets one', () => {
    expect(setMacros(doc('<macro name="IP"/>'), ['IP=1'])).toBe(doc('<macro value="1" name="IP"/>'));
  });

  test('a name defined twice is refused, naming the lines', () => {
    const xml = doc('<macro name="IP" value="1"/>\n<macro name="IP" value="2"/>');
    let e: unknown;
    try {
      setMacros(xml, ['IP=3']);
    } catch (x) {
      e = x;
    }
    expect(isHakitError(e) && e.code).toBe('HAKIT_E_CONF_MACRO_DUPLICATE');
    expect(isHakitError(e) && e.message).toMatch(/2 times \(lines 2, 3\)/);
  });

  test('a name that only starts like another is not it', () => {
    expect(setMacros(doc('<macro name="IP2" value="x"/>\n<macro name="IP" value="y"/>'), ['IP=z'])).toBe(doc('<macro name="IP2" value="x"/>\n<macro name="IP" value="z"/>'));
  });

  test('a file that does not parse is refused with its parse error', async () => {
    expect(await codeOfSync(() => setMacros('<safe><macro name="IP" value="1"/>', ['IP=2']))).toBe('HAKIT_E_CONF_XML');
  });
});
